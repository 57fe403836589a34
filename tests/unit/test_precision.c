/* The float64 scoring path (tcet score --precision float64,
 * docs/proxies.md#numerical-conditioning): every proxy but te-nas runs its
 * network in double, and its totals agree with the float32 path within the
 * spread measured between the two on the golden networks.
 *
 * Tolerances: the largest relative |f32 - f64| / |f64| over the seven golden
 * cases, measured with `tcet score --golden CASE --proxy P --backend cpu
 * [--precision float64] --json` under TCET_CPU_CONV=im2col (this test's
 * engine, tests/CMakeLists.txt) with each OpenBLAS kernel set that
 * OPENBLAS_CORETYPE selects (Prescott, Haswell, SkylakeX, Zen: the float32
 * GEMM summation orders a user's CPU may get), times about 4, rounded up to a
 * power of ten or a half of one.  Two regimes:
 *  - no ReLU unit flips between float32 and float64 (the NASWOT codes, and
 *    so the NASWOT totals, agree exactly):
 *      T-CET(SNIP) / T-CET(Synflow) / layer-wise NASWOT  0 -> 1e-6
 *      SNIP 2.4e-7 -> 1e-6   GradNorm 1.1e-6 -> 5e-6   Zen 1.4e-7 -> 1e-6
 *      ZiCo 3.5e-3 (k7: its float32 statistics of two samples) -> 1e-2
 *      NASWOT 0, Synflow 2.3e-16 (its network is float64 either way) -> 1e-9
 *  - a unit within rounding of 0 flips: always in adv_synflow_const (the
 *    cancellation case), and in idw on OpenBLAS's Prescott kernels, where
 *    one forward code flips (NASWOT 3.0e-8) and reroutes GradNorm's backward
 *    (3.85e-5):
 *      T-CET(SNIP) / T-CET(Synflow) / layer-wise NASWOT  4.2e-5 -> 1e-4
 *      SNIP, GradNorm 3.85e-5 -> 5e-4   NASWOT 3.0e-8 -> 5e-7
 *    A case is in the second regime when it is adv_synflow_const or its
 *    float32 and float64 NASWOT totals differ on this machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_support.h"

#include "common/error.h"
#include "common/nb201.h"

#define MAXC 32
static const char *cases[MAXC];
static int ncases;
static tcet_backend *be;

static int setup(void **state)
{
    (void)state;
    ncases = test_golden_cases(cases, MAXC);
    return test_cpu_backend(&be);
}

static int teardown(void **state)
{
    (void)state;
    return test_cpu_backend_free(&be);
}

static double rel(double a, double b) { return b == 0.0 ? fabs(a) : fabs(a - b) / fabs(b); }

static void test_f64_agrees_with_f32(void **state)
{
    (void)state;
    static const struct {
        int proxy;
        double tol, tol_flip;
    } P[] = {
        {TCET_PROXY_NASWOT, 1e-9, 5e-7}, /* first: it tells the regime */
        {TCET_PROXY_TCET_SNIP, 1e-6, 1e-4},        {TCET_PROXY_TCET_SYNFLOW, 1e-6, 1e-4},
        {TCET_PROXY_NASWOT_LAYERWISE, 1e-6, 1e-4}, {TCET_PROXY_SNIP, 1e-6, 5e-4},
        {TCET_PROXY_GRADNORM, 5e-6, 5e-4},         {TCET_PROXY_ZEN, 1e-6, 1e-6},
        {TCET_PROXY_ZICO, 1e-2, 1e-2},             {TCET_PROXY_SYNFLOW, 1e-9, 1e-9},
    };
    assert_true(ncases >= 7);
    int differ = 0, flip_cases = 0;
    for (int c = 0; c < ncases; c++) {
        tcet_golden *g = golden_open_case(cases[c]);
        int flips = golden_is_flip_case(g);
        for (size_t k = 0; k < sizeof P / sizeof P[0]; k++) {
            tcet_score_result r32, r64;
            tcet_scorer *s32, *s64;
            golden_score_dtype(be, g, P[k].proxy, TCET_F32, &r32, &s32);
            golden_score_dtype(be, g, P[k].proxy, TCET_F64, &r64, &s64);
            if (P[k].proxy == TCET_PROXY_NASWOT && r32.r.raw != r64.r.raw && !flips) {
                flips = 1;
                fprintf(stderr, "note: %s: the float32 NASWOT codes differ from float64 on this machine's GEMM "
                        "kernels (a unit within rounding of 0): flip tolerances\n", g->case_name);
            }
            assert_int_equal(r32.r.status, r64.r.status);
            const double d = rel(r32.r.raw, r64.r.raw), tol = flips ? P[k].tol_flip : P[k].tol;
            if (!(d <= tol))
                fail_msg("%s %s: float32 %.10g, float64 %.10g, relative difference %.3g > %.3g", g->case_name,
                         tcet_proxy_name(P[k].proxy), r32.r.raw, r64.r.raw, d, tol);
            if (r32.r.raw != r64.r.raw) differ++;
            /* per-layer terms come back in the same layer order */
            assert_int_equal(r32.nlayers, r64.nlayers);
            tcet_scorer_destroy(s32);
            tcet_scorer_destroy(s64);
        }
        flip_cases += flips;
        tcet_golden_close(g);
    }
    /* a flip is the exception: the others keep the tight tolerances */
    assert_true(flip_cases <= 2);
    /* the float64 path really runs in double: SNIP, GradNorm, Zen and ZiCo
     * totals are not bit-identical to float32 on every case */
    assert_true(differ >= 4 * ncases);
}

static void test_f64_refused_for_te_nas(void **state)
{
    (void)state;
    tcet_score_config cfg = {.proxy = TCET_PROXY_TE_NAS, .mode = TCET_MODE_LOG, .batch_size = 8,
                             .resolution = 32, .num_classes = 10, .seed = 1, .dtype = TCET_F64};
    tcet_scorer *sc = NULL;
    assert_int_equal(tcet_scorer_create(&cfg, be, &sc), TCET_ERR_USAGE);
    assert_null(sc);
    assert_non_null(strstr(tcet_error_message(), "te-nas"));
    tcet_error_clear();
    cfg.proxy = TCET_PROXY_SNIP;
    cfg.dtype = 7;
    assert_int_equal(tcet_scorer_create(&cfg, be, &sc), TCET_ERR_USAGE);
    tcet_error_clear();
}

/* NAS-Bench-201 cells in double: a normal cell scores like float32; the
 * all-`none` cell (a constant network) fails or scores the same way in
 * both precisions. */
static void test_f64_nb201(void **state)
{
    (void)state;
    static const char *cells[] = {
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    };
    static const int proxies[] = {TCET_PROXY_TCET_SNIP, TCET_PROXY_SNIP, TCET_PROXY_NASWOT, TCET_PROXY_ZICO};
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
        tcet_arch arch;
        tcet_parse_error perr;
        assert_int_equal(tcet_nb201_parse(cells[c], &arch, &perr), 0);
        for (size_t k = 0; k < sizeof proxies / sizeof proxies[0]; k++) {
            tcet_score_result r[2];
            for (int dt = TCET_F32; dt <= TCET_F64; dt++) {
                tcet_score_config cfg = {.proxy = proxies[k], .mode = TCET_MODE_LOG, .batch_size = 8,
                                         .resolution = 32, .num_classes = 10, .seed = 1, .zico_batches = 2,
                                         .dtype = dt};
                tcet_scorer *sc;
                assert_int_equal(tcet_scorer_create(&cfg, be, &sc), 0);
                tcet_scorer_score(sc, 3, &arch, &r[dt]);
                tcet_scorer_destroy(sc);
            }
            assert_int_equal(r[0].r.status, r[1].r.status);
            if (r[0].r.status == TCET_CAND_OK) {
                const double tol = proxies[k] == TCET_PROXY_ZICO ? 1e-2 : 1e-4;
                if (!(rel(r[0].r.raw, r[1].r.raw) <= tol))
                    fail_msg("%s %s: float32 %.10g float64 %.10g", cells[c], tcet_proxy_name(proxies[k]),
                             r[0].r.raw, r[1].r.raw);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f64_agrees_with_f32),
        cmocka_unit_test(test_f64_refused_for_te_nas),
        cmocka_unit_test(test_f64_nb201),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
