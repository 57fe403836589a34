/* HDF5 image-set reader (docs/semantics.md#data ImageNet-style; layout in docs/data.md).
 *
 * File layout: /images uint8 [N, H, W, 3] (HWC, RGB), /labels integer [N]
 * (any integer type; read as int32).  The shapes, types and every label are
 * checked at open.  Sets up to TCET_HDF5_PRELOAD_MB (default 2048 MiB; the
 * environment variable overrides it) are read into memory once; larger ones
 * stay open and each batch reads its images with one hyperslab per image.
 * Batches get ColorJitter after crop/flip unless TCET_NO_COLOR_JITTER=1. */
#include <hdf5.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data_impl.h"
#include "error.h"

static const double imagenet_mean[3] = {0.485, 0.456, 0.406};
static const double imagenet_std[3] = {0.229, 0.224, 0.225};

#define LAYOUT_HINT "expected /images uint8 [N,H,W,3] and /labels integer [N]; see docs/data.md"

static size_t preload_limit(void)
{
    const char *e = getenv("TCET_HDF5_PRELOAD_MB");
    long long mb = 2048;
    if (e != NULL && *e != '\0') {
        char *end = NULL;
        long long v = strtoll(e, &end, 10);
        if (end != e && *end == '\0' && v >= 0) mb = v;
    }
    return (size_t)mb << 20;
}

/* The reference's imagenet-1k transform has ColorJitter (docs/semantics.md#data); the
 * environment variable TCET_NO_COLOR_JITTER=1 turns it off (e.g. to compare
 * with runs made before it existed). */
static int color_jitter_enabled(void)
{
    const char *e = getenv("TCET_NO_COLOR_JITTER");
    return !(e != NULL && strcmp(e, "1") == 0);
}

/* Opens the dataset /name of the file at `path`: TCET_ERR_DATA when it is
 * missing or not a dataset. */
static int open_named(hid_t file, const char *path, const char *name, hid_t *d)
{
    *d = -1;
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
        return TCET_FAIL(TCET_ERR_DATA, "%s: no dataset /%s (%s)", path, name, LAYOUT_HINT);
    *d = H5Dopen2(file, name, H5P_DEFAULT);
    if (*d < 0) return TCET_FAIL(TCET_ERR_DATA, "%s: /%s is not a dataset (%s)", path, name, LAYOUT_HINT);
    return TCET_OK;
}

/* Checks /images; fills n, h, w.  Returns the dataset handle or < 0. */
static int check_images(hid_t file, const char *path, hid_t *out, hsize_t dims[4])
{
    *out = -1;
    hid_t d;
    int rc = open_named(file, path, "images", &d);
    if (rc) return rc;
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    if (t < 0 || s < 0) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: cannot read the type/shape of /images", path);
        goto done;
    }
    if (H5Tget_class(t) != H5T_INTEGER || H5Tget_size(t) != 1 || H5Tget_sign(t) != H5T_SGN_NONE) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: /images must be uint8 (%s)", path, LAYOUT_HINT);
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(s);
    if (rank != 4) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: /images has rank %d, not 4 (%s)", path, rank, LAYOUT_HINT);
        goto done;
    }
    rc = TCET_ERR_DATA; /* until the checked call below succeeds */
    CHECK_H5_GOTO(H5Sget_simple_extent_dims(s, dims, NULL), done, TCET_ERR_DATA,
                  "%s: cannot read the shape of /images", path);
    rc = TCET_OK;
    if (dims[0] < 1 || dims[1] < 1 || dims[2] < 1 || dims[3] != 3) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: /images has shape [%llu,%llu,%llu,%llu] (%s)", path,
                       (unsigned long long)dims[0], (unsigned long long)dims[1],
                       (unsigned long long)dims[2], (unsigned long long)dims[3], LAYOUT_HINT);
        goto done;
    }
    if (dims[1] > 65536 || dims[2] > 65536) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: images of %llux%llu pixels are too large", path,
                       (unsigned long long)dims[1], (unsigned long long)dims[2]);
        goto done;
    }
done:
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    if (rc == TCET_OK) {
        *out = d;
        return TCET_OK;
    }
    H5Dclose(d);
    return rc;
}

static int read_labels(hid_t file, const char *path, hsize_t n, int32_t **labels)
{
    *labels = NULL;
    hid_t d;
    int rc = open_named(file, path, "labels", &d);
    if (rc) return rc;
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    hsize_t dims[1] = {0};
    int32_t *buf = NULL;
    if (t < 0 || s < 0) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: cannot read the type/shape of /labels", path);
        goto done;
    }
    if (H5Tget_class(t) != H5T_INTEGER) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: /labels must be an integer dataset (%s)", path,
                       LAYOUT_HINT);
        goto done;
    }
    if (H5Sget_simple_extent_ndims(s) != 1 || H5Sget_simple_extent_dims(s, dims, NULL) < 0 ||
        dims[0] != n) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: /labels must have shape [%llu] like /images (%s)", path,
                       (unsigned long long)n, LAYOUT_HINT);
        goto done;
    }
    buf = xmalloc(sizeof *buf * (size_t)n);
    rc = TCET_ERR_DATA; /* until the checked call below succeeds */
    CHECK_H5_GOTO(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), done,
                  TCET_ERR_DATA, "%s: reading /labels failed (corrupt file?)", path);
    rc = TCET_OK;
    *labels = buf;
    buf = NULL;
done:
    free(buf);
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    H5Dclose(d);
    return rc;
}

int tcet_data_open_hdf5(tcet_dataset *ds, const char *path)
{
    ds->h5_file = ds->h5_images = -1;
    /* Refusals carry our own message; HDF5's error stack would only add noise. */
    H5E_auto2_t old_fn = NULL;
    void *old_data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = TCET_OK;
    hid_t file = -1, images = -1;
    int32_t *labels = NULL;
    hsize_t dims[4] = {0, 0, 0, 0};
    FILE *probe = fopen(path, "rb");
    if (probe == NULL) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: cannot open (no such file or not readable; hint: pass "
                       "an HDF5 image set as --data FILE.h5, layout in docs/data.md)", path);
        goto out;
    }
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: not an HDF5 file (or truncated; %s)", path, LAYOUT_HINT);
        goto out;
    }
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        rc = TCET_FAIL(TCET_ERR_DATA, "%s: HDF5 cannot open the file (truncated or corrupt?)", path);
        goto out;
    }
    rc = check_images(file, path, &images, dims);
    if (rc != TCET_OK) goto out;
    rc = read_labels(file, path, dims[0], &labels);
    if (rc != TCET_OK) goto out;
    ds->count = (int64_t)dims[0];
    ds->height = (int)dims[1];
    ds->width = (int)dims[2];
    ds->layout = TCET_PIX_HWC;
    ds->labels = labels;
    labels = NULL;
    memcpy(ds->mean, imagenet_mean, sizeof ds->mean);
    memcpy(ds->std, imagenet_std, sizeof ds->std);
    ds->color_jitter = color_jitter_enabled();
    size_t bytes = (size_t)dims[0] * (size_t)dims[1] * (size_t)dims[2] * 3;
    if (bytes <= preload_limit()) {
        ds->pixels = xmalloc(bytes);
        if (H5Dread(images, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, ds->pixels) < 0) {
            rc = TCET_FAIL(TCET_ERR_DATA, "%s: reading /images failed (truncated or corrupt file)",
                           path);
            goto out;
        }
    } else {
        ds->h5_file = file;
        ds->h5_images = images;
        file = images = -1;
    }
    snprintf(ds->desc, sizeof ds->desc, "HDF5 image set (%lld images %dx%d, %s%s) from %.500s",
             (long long)ds->count, ds->height, ds->width,
             ds->pixels ? "in memory" : "read per batch",
             ds->color_jitter ? "" : ", no ColorJitter", path);
out:
    free(labels);
    if (images >= 0) H5Dclose(images);
    if (file >= 0) H5Fclose(file);
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    return rc;
}

/* Debian's HDF5 is built without its thread-safety option, and worker
 * lanes share one open image set: one reader at a time. */
static pthread_mutex_t h5_read_lock = PTHREAD_MUTEX_INITIALIZER;

static int hdf5_read_locked(const tcet_dataset *ds, int64_t i, uint8_t *buf);

int tcet_data_hdf5_read(const tcet_dataset *ds, int64_t i, uint8_t *buf)
{
    if (pthread_mutex_lock(&h5_read_lock)) tcet_die(__FILE__, __LINE__, "pthread_mutex_lock failed");
    int rc = hdf5_read_locked(ds, i, buf);
    if (pthread_mutex_unlock(&h5_read_lock)) tcet_die(__FILE__, __LINE__, "pthread_mutex_unlock failed");
    return rc;
}

static int hdf5_read_locked(const tcet_dataset *ds, int64_t i, uint8_t *buf)
{
    hsize_t start[4] = {(hsize_t)i, 0, 0, 0};
    hsize_t count[4] = {1, (hsize_t)ds->height, (hsize_t)ds->width, 3};
    int rc = TCET_ERR_DATA; /* until every checked call below succeeds */
    hid_t fs = H5Dget_space((hid_t)ds->h5_images);
    hid_t ms = H5Screate_simple(4, count, NULL);
    CHECK_H5_GOTO(fs, out, TCET_ERR_DATA, "HDF5 image set: cannot get the file space");
    CHECK_H5_GOTO(ms, out, TCET_ERR_DATA, "HDF5 image set: cannot create a memory space");
    CHECK_H5_GOTO(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL), out,
                  TCET_ERR_DATA, "HDF5 image set: cannot select image %lld", (long long)i);
    CHECK_H5_GOTO(H5Dread((hid_t)ds->h5_images, H5T_NATIVE_UCHAR, ms, fs, H5P_DEFAULT, buf), out,
                  TCET_ERR_DATA, "HDF5 image set: reading image %lld failed (file changed or "
                  "corrupt?)", (long long)i);
    rc = TCET_OK;
out:
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

void tcet_data_hdf5_close(tcet_dataset *ds)
{
    if (ds->h5_images >= 0) H5Dclose((hid_t)ds->h5_images);
    if (ds->h5_file >= 0) H5Fclose((hid_t)ds->h5_file);
    ds->h5_images = ds->h5_file = -1;
}
