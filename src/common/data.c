/* Dataset dispatch and the synthetic dataset (docs/semantics.md#data, docs/semantics.md#default-data).
 *
 * Keys: every batch is a function of (run seed, stream, candidate id) only.
 * The generator for a part of the batch is keyed by
 * (seed, tcet_data_subkey(stream, part), id) with part = TCET_STREAM_BATCH
 * (which images), TCET_STREAM_AUGMENT (crops/flips) or TCET_STREAM_SYNTH
 * (synthetic content), so the NASWOT batch (stream TCET_STREAM_NASWOT) and a
 * SNIP batch (stream TCET_STREAM_BATCH) of the same id are independent. */
#include "data.h"

#include <mpi.h>
#include <stdatomic.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "augment.h"
#include "data_impl.h"
#include "error.h"
#include "proxy.h"
#include "rng.h"

uint64_t tcet_data_subkey(uint64_t stream, uint64_t part) { return (part << 32) ^ stream; }

/* The loud notice is printed once per process: a score on synthetic data
 * says nothing about a real task, and the user must not miss that. */
static void synthetic_notice(void)
{
    static atomic_int said = 0;
    if (atomic_exchange(&said, 1)) return;
    /* Inside an MPI search every worker opens the data; the master says it once. */
    int mpi = 0;
    MPI_Initialized(&mpi);
    if (mpi) return;
    fprintf(stderr,
            "tcet: NOTICE: scoring on SYNTHETIC data (N(0,1) images, uniform random labels); "
            "scores are NOT comparable with the published ones. Use --dataset cifar100 --data DIR "
            "(or cifar10/hdf5) to score on real images.\n");
}

int tcet_dataset_open(const char *kind, const char *path, int resolution, int num_classes,
                      tcet_dataset **out)
{
    *out = NULL;
    if (kind == NULL) kind = "synthetic";
    if (resolution <= 0 || resolution > 4096)
        return TCET_FAIL(TCET_ERR_USAGE, "dataset: resolution %d is out of range 1..4096",
                         resolution);
    if (num_classes <= 0)
        return TCET_FAIL(TCET_ERR_USAGE, "dataset: num_classes %d must be positive", num_classes);
    tcet_dataset *ds = xcalloc(1, sizeof *ds);
    ds->h5_file = ds->h5_images = -1;
    ds->resolution = resolution;
    ds->num_classes = num_classes;
    int rc = TCET_OK;
    if (strcmp(kind, "synthetic") == 0) {
        ds->kind = TCET_DATA_SYNTHETIC;
        snprintf(ds->desc, sizeof ds->desc,
                 "SYNTHETIC data (N(0,1) images %dx%d, uniform labels in [0,%d))", resolution,
                 resolution, num_classes);
        synthetic_notice();
    } else if (strcmp(kind, "cifar10") == 0 || strcmp(kind, "cifar100") == 0) {
        ds->kind = strcmp(kind, "cifar10") == 0 ? TCET_DATA_CIFAR10 : TCET_DATA_CIFAR100;
        if (path == NULL || path[0] == '\0') {
            rc = TCET_FAIL(TCET_ERR_USAGE,
                           "--dataset %s needs --data DIR (the directory holding %s)", kind,
                           ds->kind == TCET_DATA_CIFAR10 ? "data_batch_1.bin .. data_batch_5.bin"
                                                         : "train.bin");
        } else {
            rc = tcet_data_open_cifar(ds, ds->kind == TCET_DATA_CIFAR100, path);
        }
    } else if (strcmp(kind, "hdf5") == 0) {
        ds->kind = TCET_DATA_HDF5;
        if (path == NULL || path[0] == '\0')
            rc = TCET_FAIL(TCET_ERR_USAGE, "--dataset hdf5 needs --data FILE.h5 "
                                           "(datasets /images uint8 [N,H,W,3], /labels int [N])");
        else
            rc = tcet_data_open_hdf5(ds, path);
    } else {
        rc = TCET_FAIL(TCET_ERR_USAGE,
                       "unknown dataset '%s' (expected synthetic, cifar10, cifar100 or hdf5)",
                       kind);
    }
    if (rc == TCET_OK && ds->kind != TCET_DATA_SYNTHETIC) {
        /* Labels must fit the classifier the proxies build. */
        for (int64_t i = 0; i < ds->count; i++) {
            if (ds->labels[i] < 0 || ds->labels[i] >= num_classes) {
                rc = TCET_FAIL(TCET_ERR_DATA,
                               "%s: image %lld has label %d, outside [0, %d) of --num-classes %d "
                               "(hint: pass the dataset's class count, e.g. --num-classes %s)",
                               path, (long long)i, (int)ds->labels[i], num_classes, num_classes,
                               ds->kind == TCET_DATA_CIFAR10 ? "10" : "100");
                break;
            }
        }
    }
    if (rc != TCET_OK) {
        tcet_dataset_close(ds);
        return rc;
    }
    *out = ds;
    return TCET_OK;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_reg(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* HDF5 puts its signature at 0, 512, 1024, ... (after a user block). */
static int has_hdf5_signature(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int found = 0;
    unsigned char buf[8];
    for (long off = 0; off <= 8192 && !found; off = off ? 2 * off : 512)
        found = fseek(f, off, SEEK_SET) == 0 && fread(buf, 1, 8, f) == 8 && !memcmp(buf, sig, 8);
    fclose(f);
    return found;
}

int tcet_dataset_infer(const char *path, char *kind, size_t cap)
{
    char probe[4200];
    const char *found = NULL;
    if (path == NULL || !path[0])
        return TCET_FAIL(TCET_ERR_USAGE, "--data needs a path (a CIFAR binary directory or file, or an HDF5 file)");
    if (is_dir(path)) {
        int c100 = 0, c10 = 0;
        snprintf(probe, sizeof probe, "%s/train.bin", path);
        c100 |= is_reg(probe);
        snprintf(probe, sizeof probe, "%s/cifar-100-binary/train.bin", path);
        c100 |= is_reg(probe);
        snprintf(probe, sizeof probe, "%s/data_batch_1.bin", path);
        c10 |= is_reg(probe);
        snprintf(probe, sizeof probe, "%s/cifar-10-batches-bin/data_batch_1.bin", path);
        c10 |= is_reg(probe);
        if (c100 && c10)
            return TCET_FAIL(TCET_ERR_DATA, "--data %s holds both CIFAR-10 and CIFAR-100: say which with "
                             "--dataset cifar10 or --dataset cifar100", path);
        found = c100 ? "cifar100" : c10 ? "cifar10" : NULL;
        if (!found)
            return TCET_FAIL(TCET_ERR_DATA, "--data %s: no CIFAR binary files there (train.bin for CIFAR-100, "
                             "data_batch_1.bin .. data_batch_5.bin for CIFAR-10; docs/data.md); pass --dataset "
                             "KIND to say what it is", path);
    } else if (is_reg(path)) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        int batch = 0;
        if (has_hdf5_signature(path)) found = "hdf5";
        else if (!strcmp(base, "train.bin")) found = "cifar100";
        else if (sscanf(base, "data_batch_%d.bin", &batch) == 1) found = "cifar10";
        else
            return TCET_FAIL(TCET_ERR_DATA, "--data %s: cannot tell what kind of dataset this file is (not HDF5, "
                             "not a CIFAR train.bin or data_batch_N.bin); pass --dataset KIND", path);
    } else {
        return TCET_FAIL(TCET_ERR_DATA, "--data %s: no such file or directory (hint: the extracted CIFAR binary "
                         "directory or an HDF5 file, docs/data.md)", path);
    }
    snprintf(kind, cap, "%s", found);
    return TCET_OK;
}

void tcet_dataset_files(const char *kind, const char *path, char *out, size_t cap)
{
    out[0] = 0;
    if (!kind || !strcmp(kind, "synthetic") || !path) return;
    if (!strcmp(kind, "hdf5")) {
        snprintf(out, cap, "%s", path);
        return;
    }
    int c100 = !strcmp(kind, "cifar100");
    char dir[4096];
    const char *single = NULL;
    tcet_data_cifar_locate(path, c100, dir, sizeof dir, &single);
    if (single) snprintf(out, cap, "%s", single);
    else if (c100) snprintf(out, cap, "%s/train.bin", dir);
    else snprintf(out, cap, "%s/data_batch_{1..5}.bin", dir);
}

void tcet_dataset_close(tcet_dataset *ds)
{
    if (ds == NULL) return;
    tcet_data_hdf5_close(ds);
    free(ds->pixels);
    free(ds->labels);
    free(ds);
}

const char *tcet_dataset_describe(const tcet_dataset *ds) { return ds ? ds->desc : "(none)"; }

int tcet_dataset_kind(const tcet_dataset *ds) { return ds ? (int)ds->kind : TCET_DATA_SYNTHETIC; }

const char *tcet_data_kind_name(int kind)
{
    static const char *const names[] = {[TCET_DATA_SYNTHETIC] = "synthetic", [TCET_DATA_CIFAR10] = "cifar10",
                                        [TCET_DATA_CIFAR100] = "cifar100", [TCET_DATA_HDF5] = "hdf5"};
    return kind >= 0 && kind < (int)(sizeof names / sizeof names[0]) ? names[kind] : "?";
}

size_t tcet_dataset_count(const tcet_dataset *ds) { return ds && ds->count > 0 ? (size_t)ds->count : 0; }

int tcet_dataset_check_batch(const tcet_dataset *ds, int batch_size, int proxy)
{
    int zico = proxy == TCET_PROXY_ZICO;
    size_t have = tcet_dataset_count(ds), need = (size_t)batch_size * (zico ? 2u : 1u);
    if (have == 0 || have >= need) return 0;
    return TCET_FAIL(TCET_ERR_DATA, "%s holds %zu images, fewer than the %zu %s needs (--batch-size %d; lower "
                     "--batch-size or use a larger dataset)", tcet_dataset_describe(ds), have, need,
                     zico ? "distinct images of ZiCo's 2 batches" : "one batch", batch_size);
}

static void synthetic_batch(const tcet_dataset *ds, uint64_t seed, uint64_t stream, uint64_t id,
                            int n, float *x, int32_t *labels)
{
    tcet_rng r;
    tcet_rng_seed(&r, seed, tcet_data_subkey(stream, TCET_STREAM_SYNTH), id);
    for (int i = 0; i < n; i++) labels[i] = (int32_t)tcet_rng_below(&r, (uint64_t)ds->num_classes);
    size_t total = (size_t)n * 3 * (size_t)ds->resolution * (size_t)ds->resolution;
    for (size_t k = 0; k < total; k++) x[k] = (float)tcet_rng_normal(&r);
}

/* n distinct training images: the first n steps of a Fisher-Yates shuffle,
 * done sparsely (only the touched positions are remembered) so the cost is
 * O(n log n) rather than O(dataset). */
typedef struct { int64_t key, val; } swap_entry;

static int64_t swap_get(const swap_entry *t, int m, int64_t key)
{
    for (int i = 0; i < m; i++)
        if (t[i].key == key) return t[i].val;
    return key;
}

static void swap_set(swap_entry *t, int *m, int64_t key, int64_t val)
{
    for (int i = 0; i < *m; i++) {
        if (t[i].key == key) {
            t[i].val = val;
            return;
        }
    }
    t[*m].key = key;
    t[*m].val = val;
    (*m)++;
}

static void choose_distinct(tcet_rng *r, int64_t count, int n, int64_t *idx)
{
    swap_entry *t = xmalloc(sizeof *t * (size_t)(2 * n + 1));
    int m = 0;
    for (int i = 0; i < n; i++) {
        int64_t j = i + (int64_t)tcet_rng_below(r, (uint64_t)(count - i));
        int64_t vi = swap_get(t, m, i), vj = swap_get(t, m, j);
        idx[i] = vj;
        swap_set(t, &m, j, vi);
        swap_set(t, &m, i, vj);
    }
    free(t);
}

int tcet_dataset_batch(const tcet_dataset *ds, uint64_t seed, uint64_t stream, uint64_t id,
                       int n, float *x, int32_t *labels)
{
    if (n <= 0) return TCET_FAIL(TCET_ERR_USAGE, "dataset batch size %d must be positive", n);
    if (ds->kind == TCET_DATA_SYNTHETIC) {
        synthetic_batch(ds, seed, stream, id, n, x, labels);
        return TCET_OK;
    }
    if ((int64_t)n > ds->count)
        return TCET_FAIL(TCET_ERR_USAGE, "batch size %d exceeds the %lld images of %s", n,
                         (long long)ds->count, ds->desc);
    int64_t *idx = xmalloc(sizeof *idx * (size_t)n);
    tcet_rng pick, aug;
    tcet_rng_seed(&pick, seed, tcet_data_subkey(stream, TCET_STREAM_BATCH), id);
    tcet_rng_seed(&aug, seed, tcet_data_subkey(stream, TCET_STREAM_AUGMENT), id);
    choose_distinct(&pick, ds->count, n, idx);
    const int R = ds->resolution;
    const size_t img_bytes = (size_t)3 * (size_t)ds->height * (size_t)ds->width;
    uint8_t *lazy = ds->pixels == NULL ? xmalloc(img_bytes) : NULL;
    for (int i = 0; i < n; i++) {
        const uint8_t *img;
        if (lazy != NULL) {
            int rc = tcet_data_hdf5_read(ds, idx[i], lazy);
            if (rc != TCET_OK) {
                free(lazy);
                free(idx);
                return rc;
            }
            img = lazy;
        } else {
            img = ds->pixels + (size_t)idx[i] * img_bytes;
        }
        tcet_crop c;
        tcet_jitter jit;
        const tcet_jitter *jp = NULL;
        if (ds->kind == TCET_DATA_HDF5)
            c = tcet_aug_resized_crop_draw(&aug, ds->height, ds->width);
        else
            c = tcet_aug_pad_crop_draw(&aug, ds->height, ds->width, 4, ds->height);
        if (ds->color_jitter) { /* drawn after crop/flip, as the transform order */
            jit = tcet_aug_jitter_draw(&aug);
            jp = &jit;
        }
        tcet_aug_render_jitter(img, ds->height, ds->width, ds->layout == TCET_PIX_HWC, &c, jp, R,
                               ds->mean, ds->std, x + (size_t)i * 3 * (size_t)R * (size_t)R);
        labels[i] = ds->labels[idx[i]];
    }
    free(lazy);
    free(idx);
    return TCET_OK;
}
