/* CIFAR-10 / CIFAR-100 binary readers (docs/semantics.md#data).
 *
 * CIFAR-10: data_batch_1.bin .. data_batch_5.bin, records of 1 label byte +
 * 3072 pixel bytes.  CIFAR-100: train.bin, records of coarse byte, fine byte,
 * 3072 pixel bytes; tcet uses the fine label.  Pixels: R plane, G plane,
 * B plane, each 32x32 row-major.  Every file is validated fully at open
 * (exists, size a whole number of records, labels in range) and the whole
 * training set is loaded into memory once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_impl.h"
#include "error.h"

enum { CIFAR_SIDE = 32, CIFAR_PIXELS = 3 * 32 * 32 };

static const double cifar10_mean[3] = {0.49139968, 0.48215827, 0.44653124};
static const double cifar10_std[3] = {0.24703233, 0.24348505, 0.26158768};
static const double cifar100_mean[3] = {0.5071, 0.4865, 0.4409};
static const double cifar100_std[3] = {0.2673, 0.2564, 0.2762};

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Accept both the extracted directory and its parent (the archive root). */
static void resolve_dir(const char *dir, int cifar100, char *out, size_t cap)
{
    const char *first = cifar100 ? "train.bin" : "data_batch_1.bin";
    const char *sub = cifar100 ? "cifar-100-binary" : "cifar-10-batches-bin";
    char probe[4096];
    snprintf(out, cap, "%s", dir);
    snprintf(probe, sizeof probe, "%s/%s", dir, first);
    if (is_file(probe)) return;
    snprintf(probe, sizeof probe, "%s/%s/%s", dir, sub, first);
    if (is_file(probe)) snprintf(out, cap, "%s/%s", dir, sub);
}

void tcet_data_cifar_locate(const char *path, int cifar100, char *dir, size_t cap, const char **single)
{
    *single = NULL;
    if (is_file(path)) { /* a file: CIFAR-100's train file itself, or any CIFAR-10 batch of its directory */
        if (cifar100) *single = path;
        snprintf(dir, cap, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash == dir) slash[1] = 0;
        else if (slash) *slash = 0;
        else snprintf(dir, cap, ".");
        return;
    }
    resolve_dir(path, cifar100, dir, cap);
}

static const char *hint(int cifar100)
{
    return cifar100 ? "download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz, extract "
                      "it and pass the cifar-100-binary directory as --data"
                    : "download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, extract "
                      "it and pass the cifar-10-batches-bin directory as --data";
}

/* Read a whole file; checks that its size is a positive multiple of rec. */
static int read_records(const char *path, size_t rec, int cifar100, uint8_t **buf, size_t *nrec)
{
    *buf = NULL;
    *nrec = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return TCET_FAIL(TCET_ERR_DATA, "%s: cannot open: %s (hint: %s)", path, strerror(errno),
                         hint(cifar100));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return TCET_FAIL(TCET_ERR_DATA, "%s: not a regular file (hint: %s)", path, hint(cifar100));
    }
    size_t size = (size_t)st.st_size;
    if (size == 0 || size % rec != 0) {
        fclose(f);
        return TCET_FAIL(TCET_ERR_DATA,
                         "%s: size %zu bytes is not a whole number of %zu-byte records "
                         "(truncated or not a CIFAR-%s binary file; hint: %s)",
                         path, size, rec, cifar100 ? "100" : "10", hint(cifar100));
    }
    uint8_t *b = xmalloc(size);
    size_t got = fread(b, 1, size, f);
    int err = ferror(f);
    fclose(f);
    if (got != size || err) {
        free(b);
        return TCET_FAIL(TCET_ERR_DATA, "%s: read %zu of %zu bytes (I/O error or file changed "
                         "while reading)", path, got, size);
    }
    *buf = b;
    *nrec = size / rec;
    return TCET_OK;
}

int tcet_data_open_cifar(tcet_dataset *ds, int cifar100, const char *dir_arg)
{
    char dir[4096];
    const char *single = NULL;
    tcet_data_cifar_locate(dir_arg, cifar100, dir, sizeof dir, &single);
    const int nfiles = cifar100 ? 1 : 5;
    const size_t hdr = cifar100 ? 2 : 1, rec = hdr + CIFAR_PIXELS;
    const int label_max = cifar100 ? 100 : 10;
    uint8_t *bufs[5] = {0};
    size_t counts[5] = {0};
    char paths[5][4200];
    int rc = TCET_OK;
    size_t total = 0;
    for (int k = 0; k < nfiles && rc == TCET_OK; k++) {
        if (single)
            snprintf(paths[k], sizeof paths[k], "%s", single);
        else if (cifar100)
            snprintf(paths[k], sizeof paths[k], "%s/train.bin", dir);
        else
            snprintf(paths[k], sizeof paths[k], "%s/data_batch_%d.bin", dir, k + 1);
        rc = read_records(paths[k], rec, cifar100, &bufs[k], &counts[k]);
        if (rc != TCET_OK) break;
        /* Label range of the file format itself (the class count of the
         * run is checked by tcet_dataset_open afterwards). */
        for (size_t i = 0; i < counts[k]; i++) {
            const uint8_t *r = bufs[k] + i * rec;
            int fine = r[hdr - 1];
            int coarse = cifar100 ? r[0] : 0;
            if (fine >= label_max || (cifar100 && coarse >= 20)) {
                rc = TCET_FAIL(TCET_ERR_DATA,
                               "%s: record %zu has %slabel %d, outside [0, %d) (corrupt file or "
                               "not CIFAR-%s; hint: %s)",
                               paths[k], i,
                               !cifar100 ? "" : coarse >= 20 ? "coarse " : "fine ",
                               cifar100 && coarse >= 20 ? coarse : fine,
                               cifar100 && coarse >= 20 ? 20 : label_max,
                               cifar100 ? "100" : "10", hint(cifar100));
                break;
            }
        }
        total += counts[k];
    }
    if (rc == TCET_OK) {
        ds->count = (int64_t)total;
        ds->height = ds->width = CIFAR_SIDE;
        ds->layout = TCET_PIX_CHW;
        ds->pixels = xmalloc(total * CIFAR_PIXELS);
        ds->labels = xmalloc(total * sizeof *ds->labels);
        size_t at = 0;
        for (int k = 0; k < nfiles; k++) {
            for (size_t i = 0; i < counts[k]; i++, at++) {
                const uint8_t *r = bufs[k] + i * rec;
                ds->labels[at] = r[hdr - 1];
                memcpy(ds->pixels + at * CIFAR_PIXELS, r + hdr, CIFAR_PIXELS);
            }
        }
        memcpy(ds->mean, cifar100 ? cifar100_mean : cifar10_mean, sizeof ds->mean);
        memcpy(ds->std, cifar100 ? cifar100_std : cifar10_std, sizeof ds->std);
        snprintf(ds->desc, sizeof ds->desc, "CIFAR-%s train (%zu images%s) from %.500s",
                 cifar100 ? "100" : "10", total, cifar100 ? ", fine labels" : "", dir);
    }
    for (int k = 0; k < nfiles; k++) free(bufs[k]);
    return rc;
}
