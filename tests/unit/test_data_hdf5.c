/* HDF5 image sets (/images uint8 [N,H,W,3], /labels int [N]) and the
 * ImageNet-style augmentation: RandomResizedCrop with bilinear resize,
 * flip, ImageNet normalisation (docs/semantics.md#data). Files are written here. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

#include "common/augment.h"
#include "common/data.h"
#include "common/error.h"
#include "common/rng.h"

static const double IN_MEAN[3] = {0.485, 0.456, 0.406};
static const double IN_STD[3] = {0.229, 0.224, 0.225};

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tcet_test_h5data_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* Writes a dataset of `rank` dims with the given file/memory types. */
static void put(hid_t f, const char *name, hid_t ftype, hid_t mtype, int rank, const hsize_t *dims,
                const void *data)
{
    hid_t s = H5Screate_simple(rank, dims, NULL);
    assert_true(s >= 0);
    hid_t d = H5Dcreate2(f, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(d);
    H5Sclose(s);
}

/* N images of H x W; image i is the constant colour (40i+10, 40i+20, 40i+30)
 * and has label 2i+1 stored as int64. */
static void write_constant_set(const char *path, int n, int h, int w)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    uint8_t *img = malloc((size_t)n * h * w * 3);
    long long *lab = malloc(sizeof *lab * (size_t)n);
    for (int i = 0; i < n; i++) {
        lab[i] = 2 * i + 1;
        for (int p = 0; p < h * w; p++)
            for (int c = 0; c < 3; c++) img[((size_t)i * h * w + p) * 3 + c] = (uint8_t)(40 * i + 10 * (c + 1));
    }
    hsize_t d4[4] = {(hsize_t)n, (hsize_t)h, (hsize_t)w, 3}, d1[1] = {(hsize_t)n};
    put(f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, d4, img);
    put(f, "labels", H5T_STD_I64LE, H5T_NATIVE_LLONG, 1, d1, lab);
    H5Fclose(f);
    free(img);
    free(lab);
}

static void test_constant_images_labels_normalisation(void **state)
{
    (void)state;
    make_tmpdir();
    char path[400];
    snprintf(path, sizeof path, "%s/set.h5", tmpdir);
    write_constant_set(path, 6, 12, 20);
    for (int lazy = 0; lazy < 2; lazy++) {
        /* Both the in-memory and the read-per-batch paths. */
        if (lazy) setenv("TCET_HDF5_PRELOAD_MB", "0", 1);
        /* ColorJitter off: the exact constants below are crop/flip/normalise
         * only (jitter is tested in test_augment_jitter.c). */
        setenv("TCET_NO_COLOR_JITTER", "1", 1);
        tcet_dataset *ds = NULL;
        assert_int_equal(tcet_dataset_open("hdf5", path, 8, 12, &ds), TCET_OK);
        unsetenv("TCET_HDF5_PRELOAD_MB");
        unsetenv("TCET_NO_COLOR_JITTER");
        assert_int_equal(tcet_dataset_kind(ds), TCET_DATA_HDF5);
        assert_non_null(strstr(tcet_dataset_describe(ds), lazy ? "read per batch" : "in memory"));
        float x[6 * 3 * 64];
        int32_t y[6];
        assert_int_equal(tcet_dataset_batch(ds, 9, TCET_STREAM_BATCH, 2, 6, x, y), TCET_OK);
        int seen[6] = {0};
        for (int s = 0; s < 6; s++) {
            assert_int_equal(y[s] % 2, 1);
            int img = (y[s] - 1) / 2;
            assert_false(seen[img]);
            seen[img] = 1;
            for (int c = 0; c < 3; c++) {
                /* Any crop/resize/flip of a constant image is that constant. */
                float want = (float)(((40.0 * img + 10.0 * (c + 1)) / 255.0 - IN_MEAN[c]) / IN_STD[c]);
                for (int p = 0; p < 64; p++) assert_true(x[(s * 3 + c) * 64 + p] == want);
            }
            /* Hand value: image 0, red byte 10 -> (10/255 - 0.485)/0.229. */
            if (img == 0) assert_rel_close(x[s * 3 * 64], -1.9466563918143676, 1e-6);
        }
        tcet_dataset_close(ds);
    }
    rm_tmpdir();
}

static void test_render_bilinear_and_flip(void **state)
{
    (void)state;
    /* 2x4 single-channel-ish HWC image, value = 10*x + 100*y (all channels). */
    uint8_t img[2 * 4 * 3];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 3; c++) img[(y * 4 + x) * 3 + c] = (uint8_t)(10 * x + 100 * y);
    const double m[3] = {0, 0, 0}, sd[3] = {1.0 / 255, 1.0 / 255, 1.0 / 255}; /* output = byte */
    float out[3 * 4 * 4];
    /* Window columns 1..2 (width 2), rows 0..1, upscaled to 4x4: source
     * coordinate s = (o + 0.5) * 0.5 - 0.5 clamped to [0, 1] -> 0, .25, .75, 1. */
    tcet_crop c = {0, 1, 2, 2, 0};
    tcet_aug_render(img, 2, 4, 1, &c, 4, m, sd, out);
    const double f[4] = {0, 0.25, 0.75, 1};
    for (int oy = 0; oy < 4; oy++)
        for (int ox = 0; ox < 4; ox++) {
            double want = 10 * (1 + f[ox]) + 100 * f[oy];
            assert_rel_close(out[oy * 4 + ox], want, 1e-5);
            assert_rel_close(out[2 * 16 + oy * 4 + ox], want, 1e-5);
        }
    /* Flip mirrors the columns. */
    c.flip = 1;
    tcet_aug_render(img, 2, 4, 1, &c, 4, m, sd, out);
    for (int oy = 0; oy < 4; oy++)
        for (int ox = 0; ox < 4; ox++)
            assert_rel_close(out[oy * 4 + ox], 10 * (1 + f[3 - ox]) + 100 * f[oy], 1e-5);
    /* Same-size window: exact copy (no interpolation). */
    tcet_crop id = {0, 0, 2, 4, 0};
    float o2[3 * 2 * 2];
    tcet_crop w2 = {0, 2, 2, 2, 0};
    tcet_aug_render(img, 2, 4, 1, &w2, 2, m, sd, o2);
    assert_rel_close(o2[0], 20, 1e-6);
    assert_rel_close(o2[1], 30, 1e-6);
    assert_rel_close(o2[2], 120, 1e-6);
    assert_rel_close(o2[3], 130, 1e-6);
    (void)id;
}

static void test_resized_crop_distribution(void **state)
{
    (void)state;
    tcet_rng r;
    tcet_rng_seed(&r, 1, TCET_STREAM_AUGMENT, 0);
    const int H = 60, W = 80, N = 4000;
    int flips = 0, full_area = 0;
    double min_frac = 2, max_frac = 0;
    for (int k = 0; k < N; k++) {
        tcet_crop c = tcet_aug_resized_crop_draw(&r, H, W);
        assert_true(c.top >= 0 && c.left >= 0 && c.height >= 1 && c.width >= 1);
        assert_true(c.top + c.height <= H && c.left + c.width <= W);
        double frac = (double)c.height * c.width / (H * W);
        double ratio = (double)c.width / c.height;
        /* Rounding of w and h to integers moves the limits by < 1 pixel. */
        assert_true(frac > 0.08 * 0.8 && frac <= 1.0);
        assert_true(ratio > 0.75 * 0.85 && ratio < 4.0 / 3.0 * 1.15);
        if (frac < min_frac) min_frac = frac;
        if (frac > max_frac) max_frac = frac;
        full_area += frac > 0.95;
        flips += c.flip;
    }
    assert_true(min_frac < 0.1);
    assert_true(max_frac > 0.9);
    assert_true(abs(flips - N / 2) < 160); /* sd 31.6, 5 sigma */
    /* Fallback (all 10 attempts fail on a 1 x 100 image): centre crop of
     * height 1 and width round(1 * 4/3) = 1 at column (100 - 1) / 2 = 49. */
    for (int k = 0; k < 20; k++) {
        tcet_crop c = tcet_aug_resized_crop_draw(&r, 1, 100);
        assert_int_equal(c.top, 0);
        assert_int_equal(c.left, 49);
        assert_int_equal(c.height, 1);
        assert_int_equal(c.width, 1);
    }
    (void)full_area;
}

static void test_determinism(void **state)
{
    (void)state;
    make_tmpdir();
    char path[400];
    snprintf(path, sizeof path, "%s/grad.h5", tmpdir);
    /* Gradient images so that crops differ. */
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    uint8_t img[4 * 16 * 16 * 3];
    int lab[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4 * 16 * 16 * 3; i++) img[i] = (uint8_t)(i * 7 % 251);
    hsize_t d4[4] = {4, 16, 16, 3}, d1[1] = {4};
    put(f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, d4, img);
    put(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT, 1, d1, lab);
    H5Fclose(f);
    tcet_dataset *a = NULL, *b = NULL;
    assert_int_equal(tcet_dataset_open("hdf5", path, 8, 4, &a), TCET_OK);
    setenv("TCET_HDF5_PRELOAD_MB", "0", 1);
    assert_int_equal(tcet_dataset_open("hdf5", path, 8, 4, &b), TCET_OK);
    unsetenv("TCET_HDF5_PRELOAD_MB");
    float xa[3 * 192], xb[3 * 192], xc[3 * 192];
    int32_t ya[3], yb[3], yc[3];
    assert_int_equal(tcet_dataset_batch(a, 1, TCET_STREAM_BATCH, 7, 3, xa, ya), TCET_OK);
    assert_int_equal(tcet_dataset_batch(b, 1, TCET_STREAM_BATCH, 8, 3, xc, yc), TCET_OK);
    assert_int_equal(tcet_dataset_batch(b, 1, TCET_STREAM_BATCH, 7, 3, xb, yb), TCET_OK);
    assert_memory_equal(xa, xb, sizeof xa);
    assert_memory_equal(ya, yb, sizeof ya);
    assert_memory_not_equal(xa, xc, sizeof xa);
    tcet_dataset_close(a);
    tcet_dataset_close(b);
    rm_tmpdir();
}

static void refuse(const char *path, int classes, const char *needle)
{
    tcet_dataset *ds = (tcet_dataset *)1;
    assert_int_equal(tcet_dataset_open("hdf5", path, 8, classes, &ds), TCET_ERR_DATA);
    assert_null(ds);
    if (strstr(tcet_error_message(), needle) == NULL || strstr(tcet_error_message(), path) == NULL) {
        print_error("message '%s' lacks '%s' or the path\n", tcet_error_message(), needle);
        fail();
    }
    tcet_error_clear();
}

static void test_bad_files(void **state)
{
    (void)state;
    make_tmpdir();
    char p[400];
    uint8_t img[2 * 4 * 4 * 4] = {0};
    float fimg[2 * 4 * 4 * 3] = {0};
    int lab[3] = {0, 1, 2};
    float flab[2] = {0, 1};
    hsize_t d4[4] = {2, 4, 4, 3}, d4c[4] = {2, 4, 4, 4}, d3[3] = {2, 4, 12}, d1[1] = {2},
            d1b[1] = {3};
    hid_t f;

    snprintf(p, sizeof p, "%s/missing.h5", tmpdir);
    refuse(p, 10, "cannot open");

    snprintf(p, sizeof p, "%s/text.h5", tmpdir);
    FILE *t = fopen(p, "w");
    fputs("not hdf5\n", t);
    fclose(t);
    refuse(p, 10, "not an HDF5 file");

    snprintf(p, sizeof p, "%s/truncated.h5", tmpdir);
    write_constant_set(p, 50, 32, 32);
    assert_int_equal(truncate(p, 4000), 0);
    refuse(p, 200, p);

#define MAKE(name, body)                                                       \
    snprintf(p, sizeof p, "%s/%s.h5", tmpdir, name);                           \
    f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);                 \
    assert_true(f >= 0);                                                       \
    body;                                                                      \
    H5Fclose(f)

    MAKE("noimages", put(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT, 1, d1, lab));
    refuse(p, 10, "no dataset /images");
    MAKE("float", put(f, "images", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, d4, fimg);
         put(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT, 1, d1, lab));
    refuse(p, 10, "must be uint8");
    MAKE("rank3", put(f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 3, d3, img);
         put(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT, 1, d1, lab));
    refuse(p, 10, "rank 3");
    MAKE("rgba", put(f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, d4c, img);
         put(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT, 1, d1, lab));
    refuse(p, 10, "shape [2,4,4,4]");
    MAKE("nolabels", put(f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, d4, img));
    refuse(p, 10, "no dataset /labels");
    MAKE("labcount", put(f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, d4, img);
         put(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT, 1, d1b, lab));
    refuse(p, 10, "shape [2]");
    MAKE("labfloat", put(f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, d4, img);
         put(f, "labels", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, d1, flab));
    refuse(p, 10, "integer");
    int neg[2] = {0, -1};
    MAKE("labneg", put(f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, d4, img);
         put(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT, 1, d1, neg));
    refuse(p, 10, "label -1");
    MAKE("labbig", put(f, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, d4, img);
         put(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT, 1, d1, lab));
    refuse(p, 1, "label 1");
#undef MAKE
    rm_tmpdir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_images_labels_normalisation),
        cmocka_unit_test(test_render_bilinear_and_flip),
        cmocka_unit_test(test_resized_crop_distribution),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
