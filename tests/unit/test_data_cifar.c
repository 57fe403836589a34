/* CIFAR-10/100 binary readers and the CIFAR augmentation (docs/semantics.md#data), on tiny
 * files written here with known pixel values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.h"

#include "common/data.h"
#include "common/error.h"
#include "common/rng.h"

static const double C10_MEAN[3] = {0.49139968, 0.48215827, 0.44653124};
static const double C10_STD[3] = {0.24703233, 0.24348505, 0.26158768};
static const double C100_MEAN[3] = {0.5071, 0.4865, 0.4409};
static const double C100_STD[3] = {0.2673, 0.2564, 0.2762};

enum { PIX = 3072 };

/* Pixel of image i (never 0, so the zero padding is visible; asymmetric in
 * x so that a flip is visible). */
static uint8_t pix(int i, int c, int y, int x)
{
    return (uint8_t)(1 + (i * 29 + c * 71 + y * 13 + x * 5 + x * y) % 254);
}

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tcet_test_cifar_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* Writes `n` records; hdr = 1 (CIFAR-10: label) or 2 (CIFAR-100: coarse,
 * fine); labels[k] gives the label bytes of record k. */
static void write_records(const char *path, int n, int hdr, const int *coarse, const int *fine,
                          int first_image)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int k = 0; k < n; k++) {
        if (hdr == 2) fputc(coarse[k], f);
        fputc(fine[k], f);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) fputc(pix(first_image + k, c, y, x), f);
    }
    assert_int_equal(fclose(f), 0);
}

/* CIFAR-100 train.bin with 5 images: image i has fine label 10*i+3, coarse i. */
static void write_c100(const char *dir)
{
    int coarse[5], fine[5];
    for (int i = 0; i < 5; i++) {
        coarse[i] = i;
        fine[i] = 10 * i + 3;
    }
    char p[600];
    snprintf(p, sizeof p, "%.400s/train.bin", dir);
    write_records(p, 5, 2, coarse, fine, 0);
}

/* CIFAR-10: 5 files of 2 images; image i = 2*(file-1)+k has label 9 - i. */
static void write_c10(const char *dir)
{
    for (int b = 1; b <= 5; b++) {
        int lab[2] = {9 - 2 * (b - 1), 9 - 2 * (b - 1) - 1};
        char p[600];
        snprintf(p, sizeof p, "%.400s/data_batch_%d.bin", dir, b);
        write_records(p, 2, 1, NULL, lab, 2 * (b - 1));
    }
}

static float expect_px(int img, int top, int left, int flip, int c, int y, int x,
                       const double *mean, const double *sd)
{
    /* Padded 40x40 image, window at (top, left), then mirrored. */
    int xx = flip ? 31 - x : x;
    int sy = y + top - 4, sx = xx + left - 4;
    int b = (sy < 0 || sy >= 32 || sx < 0 || sx >= 32) ? 0 : pix(img, c, sy, sx);
    return (float)(((double)b / 255.0 - mean[c]) / sd[c]);
}

/* Finds the one (top, left, flip) that reproduces sample `out` of image
 * `img` exactly; fails when none or several do. */
static void find_geometry(const float *out, int img, const double *mean, const double *sd, int *top,
                          int *left, int *flip)
{
    int found = 0;
    for (int t = 0; t <= 8; t++)
        for (int l = 0; l <= 8; l++)
            for (int f = 0; f < 2; f++) {
                int ok = 1;
                for (int c = 0; c < 3 && ok; c++)
                    for (int y = 0; y < 32 && ok; y++)
                        for (int x = 0; x < 32 && ok; x++)
                            ok = out[(c * 32 + y) * 32 + x] ==
                                 expect_px(img, t, l, f, c, y, x, mean, sd);
                if (ok) {
                    found++;
                    *top = t;
                    *left = l;
                    *flip = f;
                }
            }
    assert_int_equal(found, 1);
}

static void test_cifar100_geometry_and_labels(void **state)
{
    (void)state;
    make_tmpdir();
    write_c100(tmpdir);
    tcet_dataset *ds = NULL;
    assert_int_equal(tcet_dataset_open("cifar100", tmpdir, 32, 100, &ds), TCET_OK);
    assert_int_equal(tcet_dataset_kind(ds), TCET_DATA_CIFAR100);
    assert_non_null(strstr(tcet_dataset_describe(ds), "5 images"));
    float *x = malloc(sizeof(float) * 5 * PIX);
    int32_t y[5];
    int top_seen[9] = {0}, left_seen[9] = {0}, flips = 0, samples = 0;
    int padded_corner_checked = 0;
    for (uint64_t id = 0; id < 60; id++) {
        assert_int_equal(tcet_dataset_batch(ds, 11, TCET_STREAM_BATCH, id, 5, x, y), TCET_OK);
        int seen[5] = {0};
        for (int s = 0; s < 5; s++) {
            /* Fine label 10*i+3 identifies image i; the 5 are distinct. */
            assert_int_equal(y[s] % 10, 3);
            int img = y[s] / 10;
            assert_true(img >= 0 && img < 5);
            assert_int_equal(seen[img], 0);
            seen[img] = 1;
            int t = -1, l = -1, f = -1;
            find_geometry(x + (size_t)s * PIX, img, C100_MEAN, C100_STD, &t, &l, &f);
            top_seen[t]++;
            left_seen[l]++;
            flips += f;
            samples++;
            if (t == 0 && !padded_corner_checked) {
                /* Padding is byte 0 before normalisation: (0-0.5071)/0.2673. */
                assert_rel_close(x[(size_t)s * PIX], -1.8971193415637861, 1e-6);
                padded_corner_checked = 1;
            }
        }
    }
    /* 300 crops: every offset 0..8 occurs (P(miss) ~ 9*(8/9)^300 < 1e-14),
     * flips ~ Binomial(300, 1/2): sd 8.7, 5-sigma band. */
    for (int k = 0; k <= 8; k++) {
        assert_true(top_seen[k] > 0);
        assert_true(left_seen[k] > 0);
    }
    assert_true(abs(flips - samples / 2) < 44);
    assert_true(padded_corner_checked);
    free(x);
    tcet_dataset_close(ds);
    rm_tmpdir();
}

static void test_cifar10_labels_values_and_parent_dir(void **state)
{
    (void)state;
    make_tmpdir();
    char sub[400];
    snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_c10(sub);
    tcet_dataset *ds = NULL;
    /* The archive root is accepted as well as the extracted directory. */
    assert_int_equal(tcet_dataset_open("cifar10", tmpdir, 32, 10, &ds), TCET_OK);
    assert_non_null(strstr(tcet_dataset_describe(ds), "CIFAR-10 train (10 images"));
    float *x = malloc(sizeof(float) * 10 * PIX);
    int32_t y[10];
    assert_int_equal(tcet_dataset_batch(ds, 3, TCET_STREAM_NASWOT, 0, 10, x, y), TCET_OK);
    int seen[10] = {0};
    for (int s = 0; s < 10; s++) {
        assert_true(y[s] >= 0 && y[s] < 10);
        int img = 9 - y[s]; /* label 9 - i across the five files in order */
        assert_int_equal(seen[img], 0);
        seen[img] = 1;
        int t = -1, l = -1, f = -1;
        find_geometry(x + (size_t)s * PIX, img, C10_MEAN, C10_STD, &t, &l, &f);
    }
    /* A batch larger than the set is refused. */
    float *big = malloc(sizeof(float) * 11 * PIX);
    int32_t yb[11];
    assert_int_not_equal(tcet_dataset_batch(ds, 3, TCET_STREAM_NASWOT, 0, 11, big, yb), TCET_OK);
    free(big);
    free(x);
    tcet_dataset_close(ds);
    tcet_error_clear();
    rm_tmpdir();
}

static void test_determinism_and_call_order(void **state)
{
    (void)state;
    make_tmpdir();
    write_c100(tmpdir);
    tcet_dataset *a = NULL, *b = NULL;
    assert_int_equal(tcet_dataset_open("cifar100", tmpdir, 32, 100, &a), TCET_OK);
    assert_int_equal(tcet_dataset_open("cifar100", tmpdir, 32, 100, &b), TCET_OK);
    size_t sz = sizeof(float) * 3 * PIX;
    float *a3 = malloc(sz), *a4 = malloc(sz), *b3 = malloc(sz), *b4 = malloc(sz);
    int32_t ya3[3], ya4[3], yb3[3], yb4[3];
    assert_int_equal(tcet_dataset_batch(a, 5, TCET_STREAM_BATCH, 3, 3, a3, ya3), TCET_OK);
    assert_int_equal(tcet_dataset_batch(a, 5, TCET_STREAM_BATCH, 4, 3, a4, ya4), TCET_OK);
    assert_int_equal(tcet_dataset_batch(b, 5, TCET_STREAM_BATCH, 4, 3, b4, yb4), TCET_OK);
    assert_int_equal(tcet_dataset_batch(b, 5, TCET_STREAM_BATCH, 3, 3, b3, yb3), TCET_OK);
    assert_memory_equal(a3, b3, sz);
    assert_memory_equal(a4, b4, sz);
    assert_memory_equal(ya3, yb3, sizeof ya3);
    assert_memory_equal(ya4, yb4, sizeof ya4);
    assert_memory_not_equal(a3, a4, sz);
    free(a3);
    free(a4);
    free(b3);
    free(b4);
    tcet_dataset_close(a);
    tcet_dataset_close(b);
    rm_tmpdir();
}

static void expect_refused(const char *kind, const char *dir, int classes, const char *needle1,
                           const char *needle2)
{
    tcet_dataset *ds = (tcet_dataset *)1;
    assert_int_equal(tcet_dataset_open(kind, dir, 32, classes, &ds), TCET_ERR_DATA);
    assert_null(ds);
    const char *m = tcet_error_message();
    if (strstr(m, needle1) == NULL || (needle2 && strstr(m, needle2) == NULL)) {
        print_error("message '%s' lacks '%s' / '%s'\n", m, needle1, needle2 ? needle2 : "");
        fail();
    }
    tcet_error_clear();
}

static void test_bad_files(void **state)
{
    (void)state;
    make_tmpdir();
    char p[400];
    /* Missing directory / missing file. */
    expect_refused("cifar100", "/nonexistent/cifar", 100, "train.bin", "cifar-100-binary");
    write_c10(tmpdir);
    snprintf(p, sizeof p, "%s/data_batch_3.bin", tmpdir);
    assert_int_equal(unlink(p), 0);
    expect_refused("cifar10", tmpdir, 10, "data_batch_3.bin", "cannot open");
    /* Truncated: a record short. */
    write_c10(tmpdir);
    assert_int_equal(truncate(p, 2 * 3073 - 100), 0);
    expect_refused("cifar10", tmpdir, 10, "data_batch_3.bin", "whole number");
    /* Empty file. */
    assert_int_equal(truncate(p, 0), 0);
    expect_refused("cifar10", tmpdir, 10, "data_batch_3.bin", "size 0");
    /* CIFAR-10 label 10. */
    write_c10(tmpdir);
    int lab[2] = {3, 10};
    write_records(p, 2, 1, NULL, lab, 0);
    expect_refused("cifar10", tmpdir, 10, "data_batch_3.bin", "label 10");
    /* CIFAR-100: fine label 100, coarse label 20. */
    int coarse[2] = {1, 2}, fine[2] = {5, 100};
    snprintf(p, sizeof p, "%s/train.bin", tmpdir);
    write_records(p, 2, 2, coarse, fine, 0);
    expect_refused("cifar100", tmpdir, 100, "train.bin", "label 100");
    int coarse2[2] = {20, 2}, fine2[2] = {5, 6};
    write_records(p, 2, 2, coarse2, fine2, 0);
    expect_refused("cifar100", tmpdir, 100, "train.bin", "coarse label 20");
    /* Valid file, but labels beyond the run's --num-classes. */
    write_c100(tmpdir);
    expect_refused("cifar100", tmpdir, 10, "label 13", "--num-classes");
    rm_tmpdir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cifar100_geometry_and_labels),
        cmocka_unit_test(test_cifar10_labels_values_and_parent_dir),
        cmocka_unit_test(test_determinism_and_call_order),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
