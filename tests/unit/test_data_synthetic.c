/* Synthetic dataset: N(0,1) images and uniform labels, a pure function of
 * (seed, stream, id) (docs/semantics.md#randomness-and-seeds, docs/semantics.md#default-data). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "common/data.h"
#include "common/error.h"
#include "common/rng.h"

static tcet_dataset *open_synth(int res, int classes)
{
    tcet_dataset *ds = NULL;
    assert_int_equal(tcet_dataset_open("synthetic", NULL, res, classes, &ds), TCET_OK);
    assert_non_null(ds);
    assert_int_equal(tcet_dataset_kind(ds), TCET_DATA_SYNTHETIC);
    assert_non_null(strstr(tcet_dataset_describe(ds), "SYNTHETIC"));
    return ds;
}

static void test_moments_and_labels(void **state)
{
    (void)state;
    const int n = 64, R = 32, C = 100;
    tcet_dataset *ds = open_synth(R, C);
    size_t total = (size_t)n * 3 * R * R;
    float *x = malloc(total * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    assert_int_equal(tcet_dataset_batch(ds, 7, TCET_STREAM_BATCH, 3, n, x, y), TCET_OK);
    double s = 0, s2 = 0;
    for (size_t k = 0; k < total; k++) {
        assert_true(isfinite(x[k]));
        s += x[k];
        s2 += (double)x[k] * x[k];
    }
    double mean = s / (double)total, var = s2 / (double)total - mean * mean;
    /* 196608 draws: std error of the mean 0.0023, of the variance ~0.0032. */
    assert_true(fabs(mean) < 0.012);
    assert_true(fabs(var - 1.0) < 0.016);
    for (int i = 0; i < n; i++) assert_true(y[i] >= 0 && y[i] < C);
    free(x);
    free(y);
    tcet_dataset_close(ds);
}

static void test_label_uniformity(void **state)
{
    (void)state;
    /* 10 classes, 5000 labels: each count ~ Binomial(5000, 0.1), sd 21.2;
     * a 5-sigma band and a chi-square (9 dof) below 40 (p ~ 5e-6). */
    const int n = 5000, C = 10;
    tcet_dataset *ds = open_synth(1, C);
    float *x = malloc((size_t)n * 3 * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    assert_int_equal(tcet_dataset_batch(ds, 1, TCET_STREAM_BATCH, 0, n, x, y), TCET_OK);
    int cnt[10] = {0};
    for (int i = 0; i < n; i++) {
        assert_true(y[i] >= 0 && y[i] < C);
        cnt[y[i]]++;
    }
    double chi2 = 0;
    for (int c = 0; c < C; c++) {
        assert_true(abs(cnt[c] - 500) < 106);
        chi2 += (cnt[c] - 500.0) * (cnt[c] - 500.0) / 500.0;
    }
    assert_true(chi2 < 40.0);
    free(x);
    free(y);
    tcet_dataset_close(ds);
}

static void test_keyed_determinism(void **state)
{
    (void)state;
    const int n = 4, R = 8;
    size_t total = (size_t)n * 3 * R * R;
    tcet_dataset *a = open_synth(R, 10), *b = open_synth(R, 10);
    float *x1 = malloc(total * sizeof(float)), *x2 = malloc(total * sizeof(float));
    float *x3 = malloc(total * sizeof(float));
    int32_t y1[4], y2[4], y3[4];
    /* Same key on another dataset object, after unrelated calls: identical. */
    assert_int_equal(tcet_dataset_batch(a, 42, TCET_STREAM_BATCH, 5, n, x1, y1), TCET_OK);
    assert_int_equal(tcet_dataset_batch(b, 42, TCET_STREAM_BATCH, 9, n, x3, y3), TCET_OK);
    assert_int_equal(tcet_dataset_batch(b, 42, TCET_STREAM_BATCH, 5, n, x2, y2), TCET_OK);
    assert_memory_equal(x1, x2, total * sizeof(float));
    assert_memory_equal(y1, y2, sizeof y1);
    /* Another id, stream or seed: different content. */
    assert_memory_not_equal(x1, x3, total * sizeof(float));
    assert_int_equal(tcet_dataset_batch(b, 42, TCET_STREAM_NASWOT, 5, n, x3, y3), TCET_OK);
    assert_memory_not_equal(x1, x3, total * sizeof(float));
    assert_int_equal(tcet_dataset_batch(b, 43, TCET_STREAM_BATCH, 5, n, x3, y3), TCET_OK);
    assert_memory_not_equal(x1, x3, total * sizeof(float));
    free(x1);
    free(x2);
    free(x3);
    tcet_dataset_close(a);
    tcet_dataset_close(b);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    tcet_dataset *ds = NULL;
    assert_int_equal(tcet_dataset_open("imagenet", NULL, 32, 10, &ds), TCET_ERR_USAGE);
    assert_null(ds);
    assert_non_null(strstr(tcet_error_message(), "unknown dataset"));
    assert_int_equal(tcet_dataset_open("synthetic", NULL, 0, 10, &ds), TCET_ERR_USAGE);
    assert_int_equal(tcet_dataset_open("synthetic", NULL, 32, 0, &ds), TCET_ERR_USAGE);
    assert_int_equal(tcet_dataset_open("cifar100", NULL, 32, 100, &ds), TCET_ERR_USAGE);
    assert_non_null(strstr(tcet_error_message(), "--data"));
    tcet_error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moments_and_labels),
        cmocka_unit_test(test_label_uniformity),
        cmocka_unit_test(test_keyed_determinism),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
