/* ZiCo per-layer arithmetic (zico_math.h) against
 *  - hand-derived values (numpy's pairwise float32 summation order, tiny
 *    layers whose statistics are exact, identical batches ⇒ 0), and
 *  - the golden files: from the stored official gradients
 *    /expected/other/zico_layers/grad/ every layer's nonzero_std_count and
 *    tmpsum must match bit for bit, log within 1 ulp (numpy's SIMD log vs
 *    logf), skipped exactly, and the total within 3e-8 of /expected/other/zico. */
#include "test_support.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/zico_math.h"

/* [2^24, 1 × 15]: a sequential float32 sum stays at 2^24 (each +1 rounds to
 * even), numpy's 8 interleaved accumulators give r0 = 2^24 (+1 lost once),
 * r1..r7 = 2, so ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) = 2^24 + 14. */
static void pairwise_order_by_hand(void **state)
{
    float a[16];
    a[0] = 16777216.f;
    for (int i = 1; i < 16; i++) a[i] = 1.f;
    assert_true(tcet_np_pairwise_sum_f32(a, 16) == 16777216.f + 14.f);
    assert_true(tcet_np_sum_f32(a, 16) == 16777216.f + 14.f);
    /* n < 8: plain left-to-right loop ⇒ 2^24 + 1 + 1 + ... rounds every time */
    assert_true(tcet_np_pairwise_sum_f32(a, 7) == 16777216.f);
    /* n = 17: the tail element is added after the 8-way combination */
    float b[17];
    memcpy(b, a, sizeof a);
    b[16] = 2.f;
    assert_true(tcet_np_pairwise_sum_f32(b, 17) == 16777216.f + 16.f);
}

/* Chunking (numpy sums a float32 array in 8192-element buffer chunks):
 * n = 8193, a[0] = 2^24, a[4096] = 1, a[8192] = 1, zeros elsewhere.
 * Chunked: chunk 0 = 2^24 + 1 → 2^24 (tie to even), then + chunk 1 (= 1)
 * → 2^24 again.  A pairwise sum over the whole array would split at 4096 and
 * add the two ones first: 2^24 + 2.  numpy (and the golden tmpsums) are the
 * chunked version. */
static void chunked_sum_by_hand(void **state)
{
    size_t n = 8193;
    float *a = calloc(n, sizeof *a);
    a[0] = 16777216.f;
    a[4096] = 1.f;
    a[8192] = 1.f;
    assert_true(tcet_np_pairwise_sum_f32(a, n) == 16777216.f + 2.f);
    assert_true(tcet_np_sum_f32(a, n) == 16777216.f);
    free(a);
}

/* Layer A: g0 = [1, 3], g1 = [3, 1]: mean|g| = [2, 2], std = [1, 1] ⇒ tmpsum 4.
 * Layer B: g0 = [0.5, 7], g1 = [-0.5, 7]: element 0 mean 0, std 0.5, mean|g| 0.5
 * ⇒ ratio 1; element 1 std 0 ⇒ dropped ⇒ tmpsum 1, log 0 (not skipped).
 * Layer C: identical rows ⇒ every std 0 ⇒ skipped.  ZiCo = ln 4. */
static void layers_by_hand(void **state)
{
    tcet_zico_layer st[3];
    const float a0[] = {1, 3}, a1[] = {3, 1};
    const float *ra[] = {a0, a1};
    tcet_zico_layer_stats(ra, 2, 2, &st[0]);
    assert_int_equal(st[0].nonzero_std_count, 2);
    assert_true(st[0].tmpsum == 4.f);
    assert_false(st[0].skipped);
    const float b0[] = {0.5f, 7}, b1[] = {-0.5f, 7};
    const float *rb[] = {b0, b1};
    tcet_zico_layer_stats(rb, 2, 2, &st[1]);
    assert_int_equal(st[1].nonzero_std_count, 1);
    assert_true(st[1].tmpsum == 1.f);
    assert_true(st[1].log == 0.f);
    assert_false(st[1].skipped);
    const float c0[] = {0.25f, -2, 9};
    const float *rc[] = {c0, c0};
    tcet_zico_layer_stats(rc, 2, 3, &st[2]);
    assert_int_equal(st[2].nonzero_std_count, 0);
    assert_true(st[2].tmpsum == 0.f);
    assert_true(st[2].skipped);
    assert_rel_close(tcet_zico_total(st, 3), log(4.0), 1e-7);
    /* every layer skipped ⇒ exactly 0 (the reference's int 0) */
    assert_true(tcet_zico_total(&st[2], 1) == 0.0);
    /* three batches, population std: g = [0, 3, 6] ⇒ mean 3, var (9+0+9)/3 = 6,
     * std sqrt 6, mean|g| 3 ⇒ ratio 3/sqrt(6) (float32 steps) */
    const float d0[] = {0}, d1[] = {3}, d2[] = {6};
    const float *rd[] = {d0, d1, d2};
    tcet_zico_layer st3;
    tcet_zico_layer_stats(rd, 3, 1, &st3);
    assert_true(st3.tmpsum == 3.f / sqrtf(6.f));
}

/* ---- golden ------------------------------------------------------------ */

typedef struct {
    hid_t file;
    int n;
    char names[256][192];
} grad_list;

static herr_t collect(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    grad_list *gl = op;
    if (gl->n < 256) snprintf(gl->names[gl->n++], sizeof gl->names[0], "%s", name);
    return 0;
}

static double *read_f64(hid_t f, const char *path, size_t *count)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t sp = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    double *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof *buf);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Sclose(sp);
    H5Dclose(d);
    if (count) *count = (size_t)n;
    return buf;
}

static void golden_cases(void **state)
{
    const char *paths[64];
    int nc = test_golden_cases(paths, 64);
    assert_true(nc >= 7);
    int layers_checked = 0, log_ulp_diffs = 0;
    for (int c = 0; c < nc; c++) {
        hid_t f = H5Fopen(paths[c], H5F_ACC_RDONLY, H5P_DEFAULT);
        assert_true(f >= 0);
        grad_list *gl = calloc(1, sizeof *gl);
        hsize_t idx = 0;
        assert_true(H5Literate_by_name(f, "/expected/other/zico_layers/grad", H5_INDEX_NAME, H5_ITER_INC, &idx,
                                        collect, gl, H5P_DEFAULT) >= 0);
        size_t L;
        double *tmpsum = read_f64(f, "/expected/other/zico_layers/tmpsum", &L);
        double *lg = read_f64(f, "/expected/other/zico_layers/log", NULL);
        double *cnt = read_f64(f, "/expected/other/zico_layers/nonzero_std_count", NULL);
        double *skp = read_f64(f, "/expected/other/zico_layers/skipped", NULL);
        double *zico = read_f64(f, "/expected/other/zico", NULL);
        assert_int_equal((size_t)gl->n, L);
        tcet_zico_layer *st = calloc(L, sizeof *st);
        for (size_t l = 0; l < L; l++) {
            char path[512];
            snprintf(path, sizeof path, "/expected/other/zico_layers/grad/%s", gl->names[l]);
            size_t n;
            double *g = read_f64(f, path, &n);
            size_t numel = n / 2;
            float *rows = malloc(n * sizeof *rows);
            for (size_t i = 0; i < n; i++) rows[i] = (float)g[i]; /* exact: stored float32 */
            const float *r[2] = {rows, rows + numel};
            tcet_zico_layer_stats(r, 2, numel, &st[l]);
            if ((double)st[l].tmpsum != tmpsum[l] || st[l].nonzero_std_count != (int64_t)cnt[l])
                print_error("%s layer %zu (%s): tmpsum %.9g vs %.9g, count %lld vs %.0f\n", paths[c], l,
                            gl->names[l], (double)st[l].tmpsum, tmpsum[l],
                            (long long)st[l].nonzero_std_count, cnt[l]);
            assert_true((double)st[l].tmpsum == tmpsum[l]);
            assert_int_equal(st[l].nonzero_std_count, (int64_t)cnt[l]);
            assert_int_equal(st[l].skipped, (int)skp[l]);
            float want = (float)lg[l];
            if (st[l].log != want) {
                log_ulp_diffs++;
                assert_true(nextafterf(st[l].log, want) == want); /* 1 ulp at most */
            }
            free(rows);
            free(g);
            layers_checked++;
        }
        double total = tcet_zico_total(st, (int)L);
        if (zico[0] == 0.0) assert_true(total == 0.0);
        else assert_rel_close(total, zico[0], 3e-8);
        free(st);
        free(tmpsum);
        free(lg);
        free(cnt);
        free(skp);
        free(zico);
        free(gl);
        H5Fclose(f);
    }
    print_message("zico_math: %d golden layers, tmpsum bit-exact, %d logs 1 ulp off numpy\n",
                  layers_checked, log_ulp_diffs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pairwise_order_by_hand),
        cmocka_unit_test(chunked_sum_by_hand),
        cmocka_unit_test(layers_by_hand),
        cmocka_unit_test(golden_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
