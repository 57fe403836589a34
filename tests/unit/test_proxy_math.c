/* Proxy numerics on hand-derived values: log|det| (numpy slogdet semantics),
 * layer-wise NASWOT special cases, the Gram of sign codes, the T-CET
 * per-layer ratio/log and the aggregation modes (docs/semantics.md#layer-wise-naswot, docs/semantics.md#aggregation, docs/semantics.md#alethiometer-modes). */
#include <math.h>
#include <string.h>

#include "test_support.h"

#include "common/proxy_math.h"
#include "kernels/backend.h"
#include "worker/scorer.h"

static void test_logabsdet(void **state)
{
    float v;
    int br;
    double a[4] = {2, 1, 1, 2};                       /* det 3 */
    assert_int_equal(tcet_logabsdet(a, 2, &v, &br), 0);
    assert_true(v == (float)log(3.0) && br == 0);
    double b[9] = {4, 2, 0, 2, 3, 1, 0, 1, 2};        /* det 4·5 − 2·4 = 12 */
    assert_int_equal(tcet_logabsdet(b, 3, &v, &br), 0);
    assert_rel_close(v, log(12.0), 1e-7);
    assert_int_equal(br, 0);
    double c[4] = {1, 2, 2, 1};                       /* det −3: sign ignored */
    assert_int_equal(tcet_logabsdet(c, 2, &v, &br), 0);
    assert_rel_close(v, log(3.0), 1e-7);
    assert_int_equal(br, 3);
    double d[4] = {0, 1, 1, 0};                       /* det −1 by a row swap */
    assert_int_equal(tcet_logabsdet(d, 2, &v, &br), 0);
    assert_true(v == 0.0f && br == 3);
    double e[4] = {1, 1, 1, 1};                       /* exactly singular ⇒ 0 */
    assert_int_equal(tcet_logabsdet(e, 2, &v, &br), 0);
    assert_true(v == 0.0f && br == 2);
    double f[9] = {3, 3, 3, 3, 3, 3, 3, 3, 3};        /* rank 1 (all codes equal) ⇒ 0 */
    assert_int_equal(tcet_logabsdet(f, 3, &v, &br), 0);
    assert_true(v == 0.0f && br == 2);
    double big[16] = {8, 0, 0, 0, 0, 8, 0, 0, 0, 0, 8, 0, 0, 0, 0, 8}; /* 8^4 */
    assert_int_equal(tcet_logabsdet(big, 4, &v, &br), 0);
    assert_true(v == (float)(4 * log(8.0)));
}

static void test_naswot_layer(void **state)
{
    float v;
    int br;
    double K[4] = {5, 5, 5, 5};
    int64_t zero[2] = {0, 0};
    assert_int_equal(tcet_naswot_layer(K, 2, zero, &v, &br), 0);
    assert_true(v == 0.0f && br == 1);
    double K2[4] = {3, 1, 1, 3};
    int64_t pos[2] = {2, 2};
    assert_int_equal(tcet_naswot_layer(K2, 2, pos, &v, &br), 0);
    assert_true(v == (float)log(8.0) && br == 0);
}

/* codes c1 = [1,0,1], c2 = [1,1,0]: agree on 1 unit ⇒ K = [[3,1],[1,3]] */
static void test_gram_codes(void **state)
{
    tcet_backend *be = tcet_backend_cpu_create(1);
    const float x[6] = {1, -1, 2, 3, 4, 0};   /* exact 0 counts as code 0 */
    void *dx = be->alloc(be, sizeof x);
    assert_int_equal(be->upload(be, dx, x, sizeof x), 0);
    double K[4];
    int64_t pos[2];
    assert_int_equal(be->gram_codes(be, 2, 3, dx, K, pos), 0);
    assert_true(K[0] == 3 && K[1] == 1 && K[2] == 1 && K[3] == 3);
    assert_true(pos[0] == 2 && pos[1] == 2);
    be->release(be, dx);
    be->destroy(be);
}

static void test_ratio_log(void **state)
{
    double r, l;
    tcet_layer_ratio_log(10, 2, 0, &r, &l);
    assert_true(r == 5 && l == log(5.0));
    tcet_layer_ratio_log(7.5, 0, 0, &r, &l);          /* σ = 0 ⇒ t = Σ */
    assert_true(r == 7.5 && l == log(7.5));
    tcet_layer_ratio_log(0, 0, 1, &r, &l);            /* all-zero saliency ⇒ no log */
    assert_true(r == 0 && l == 0);
    tcet_layer_ratio_log(10, 2, 1, &r, &l);           /* float32 path */
    assert_true(r == 5 && l == (double)logf(5.0f));
    tcet_layer_ratio_log(1, NAN, 0, &r, &l);          /* n = 1 ⇒ σ NaN ⇒ NaN */
    assert_true(isnan(r) && isnan(l));
}

static void test_aggregate_modes(void **state)
{
    const double sum[2] = {10, 6}, sd[2] = {2, 3}, a[2] = {1, 2};
    double term[2];
    /* log: ln 5 · 1 + ln 2 · 2 = ln 20 */
    assert_rel_close(tcet_tcet_aggregate(TCET_MODE_LOG, 0, 2, sum, sd, a, NULL, NULL, term), log(20.0), 1e-15);
    assert_rel_close(term[1], 2 * log(2.0), 1e-15);
    assert_rel_close(tcet_tcet_aggregate(TCET_MODE_LOG, 1, 2, sum, sd, a, NULL, NULL, NULL), log(20.0), 1e-6);
    /* none: 5 + 2·2 */
    assert_true(tcet_tcet_aggregate(TCET_MODE_NONE, 0, 2, sum, sd, a, NULL, NULL, NULL) == 9.0);
    /* log1p: ln 6 + 2 ln 3 = ln 54 */
    assert_rel_close(tcet_tcet_aggregate(TCET_MODE_LOG1P, 0, 2, sum, sd, a, NULL, NULL, NULL), log(54.0), 1e-15);
    /* norm: t = {5, 2}, population σ = 1.5 ⇒ 10/3 + 2·4/3 = 6 */
    assert_rel_close(tcet_tcet_aggregate(TCET_MODE_NORM, 0, 2, sum, sd, a, NULL, NULL, NULL), 6.0, 1e-15);
    /* NaN σ: repo mode propagates NaN (⇒ −9999 upstream); alethiometer uses t = Σ */
    const double sdn[2] = {NAN, 3};
    assert_true(isnan(tcet_tcet_aggregate(TCET_MODE_LOG, 1, 2, sum, sdn, a, NULL, NULL, NULL)));
    assert_true(tcet_tcet_aggregate(TCET_MODE_NONE, 0, 2, sum, sdn, a, NULL, NULL, NULL) == 14.0);
    /* a zero-NASWOT layer contributes 0 unless its log is NaN/inf */
    const double az[2] = {0, 2};
    assert_rel_close(tcet_tcet_aggregate(TCET_MODE_LOG, 0, 2, sum, sd, az, NULL, NULL, NULL), 2 * log(2.0), 1e-15);
    /* all-zero saliency ⇒ exactly 0 */
    const double z[2] = {0, 0};
    assert_true(tcet_tcet_aggregate(TCET_MODE_LOG, 1, 2, z, z, a, NULL, NULL, NULL) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logabsdet),   cmocka_unit_test(test_naswot_layer),
        cmocka_unit_test(test_gram_codes),  cmocka_unit_test(test_ratio_log),
        cmocka_unit_test(test_aggregate_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
