/* Golden parity on the CUDA backend: the scorer (the production path) with
 * the golden files' weights and inputs (tests/data/golden/README.md), run on the
 * GPU, against the official PyTorch numbers.
 *
 * Tolerances, and why they are what they are:
 *   T-CET(Synflow), Synflow totals: float64 end to end (cuDNN double convs):
 *     1e-9 relative, as on the CPU;
 *   T-CET(SNIP), SNIP, the layer statistics: float32 with TF32 off: 1e-4, as
 *     on the CPU (the reference itself is a float32 computation);
 *   NASWOT Gram: exact wherever no activation sits within float32 round-off
 *     of 0; a GPU summation order may flip such a code bit, so mismatches are
 *     reported and at most 1% of the entries of a case may differ; the
 *     layer-wise NASWOT value is then checked to 1e-4;
 *   adv_dead: exactly 0 (dead ReLUs give exactly zero gradients on any device);
 *   Zen / NASWOT / Syncflow / GradNorm (Gaussian re-init from /aux): 1e-3
 *     (deep float32 chains amplify the different summation order of cuDNN).
 * Skipped (77) without a GPU or without CUDA in the build.
 * TCET_GPU_TESTS_ON_CPU=1 runs the same checks on the CPU backend (a self-check
 * of this harness on machines without a GPU). */
#include "golden_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arch.h"
#include "common/error.h"

#ifdef TCET_HAVE_CUDA
#include "kernels/cuda/backend_cuda.h"

#define MAXC 32
static const char *cases[MAXC];
static int ncases;
static tcet_backend *be;

static void gram_on_gpu(void **state)
{
    assert_true(ncases >= 7);
    for (int c = 0; c < ncases; c++) {
        tcet_golden *g = golden_open_case(cases[c]);
        int layers_bad;
        size_t cnt;
        long bad = golden_gram_mismatches(be, g, &layers_bad, &cnt);
        print_message("%-18s Gram: %ld of %zu entries differ from the official ones\n", g->case_name,
                      bad, cnt);
        if (!golden_is_flip_case(g)) assert_true(bad * 100 <= (long)cnt);
        tcet_golden_close(g);
    }
}

static void tcet_snip_on_gpu(void **state)
{
    for (int c = 0; c < ncases; c++) {
        tcet_golden *g = golden_open_case(cases[c]);
        tcet_scorer *sc;
        tcet_score_result res;
        golden_score(be, g, TCET_PROXY_TCET_SNIP, &res, &sc);
        assert_int_equal(res.r.status, TCET_CAND_OK);
        int L = res.nlayers, n = g->batch_size, flips = golden_is_flip_case(g);
        double *a = golden_read_array(g, "/expected/naswot/layerwise", L);
        int64_t *rank = malloc(L * sizeof(int64_t));
        assert_int_equal(tcet_golden_read_i64(g, "/expected/naswot/gram_rank", rank, L), 0);
        double *sum = golden_read_array(g, "/expected/snip/sum", L);
        double *std = golden_read_array(g, "/expected/snip/std", L);
        for (int l = 0; l < L; l++) {
            if (fabs(res.layers[l].std - std[l]) > 1e-4 * fabs(std[l]) ||
                fabs(res.layers[l].sum - sum[l]) > 1e-4 * fabs(sum[l]))
                print_message("%s layer %d: sum %.9g (official %.9g) std %.9g (official %.9g)\n",
                              g->case_name, l, res.layers[l].sum, sum[l], res.layers[l].std, std[l]);
            if (rank[l] == n && !flips) assert_rel_close(res.layers[l].naswot, a[l], 1e-4);
            if (sum[l] == 0.0) assert_true(res.layers[l].sum == 0.0);
            else assert_rel_close(res.layers[l].sum, sum[l], 1e-4);
            if (std[l] != 0.0) assert_rel_close(res.layers[l].std, std[l], 1e-4);
        }
        double want = golden_read_scalar(g, "/expected/tcet_snip");
        if (want == 0.0) assert_true(res.r.raw == 0.0);
        else assert_rel_close(res.r.raw, want, flips ? 1e-3 : 1e-4);
        print_message("%-18s T-CET(SNIP)    cuda %.7g  official %.7g\n", g->case_name, res.r.raw,
                      want);
        free(a);
        free(sum);
        free(std);
        free(rank);
        tcet_scorer_destroy(sc);
        tcet_golden_close(g);
    }
}

static void tcet_synflow_on_gpu(void **state)
{
    for (int c = 0; c < ncases; c++) {
        tcet_golden *g = golden_open_case(cases[c]);
        tcet_scorer *sc;
        tcet_score_result res;
        golden_score(be, g, TCET_PROXY_TCET_SYNFLOW, &res, &sc);
        assert_int_equal(res.r.status, TCET_CAND_OK);
        int L = res.nlayers, flips = golden_is_flip_case(g);
        double *sum = golden_read_array(g, "/expected/synflow/sum", L);
        double *std = golden_read_array(g, "/expected/synflow/std", L);
        double *lg = golden_read_array(g, "/expected/synflow/log", L);
        for (int l = 0; l < L; l++) {
            assert_rel_close(res.layers[l].sum, sum[l], 1e-9);
            /* adv_synflow_const: exactly symmetric saliencies; in double on the
             * GPU the std may come out as round-off instead of 0 */
            if (std[l] == 0.0) assert_true(res.layers[l].std <= 1e-12 * fabs(sum[l]));
            else assert_rel_close(res.layers[l].std, std[l], 1e-9);
            if (std[l] != 0.0) assert_rel_close(res.layers[l].log, lg[l], 1e-9);
        }
        double want = golden_read_scalar(g, "/expected/tcet_synflow");
        assert_rel_close(res.r.raw, want, flips ? 1e-3 : 1e-9);
        print_message("%-18s T-CET(Synflow) cuda %.17g  official %.17g\n", g->case_name,
                      res.r.raw, want);
        free(sum);
        free(std);
        free(lg);
        tcet_scorer_destroy(sc);
        tcet_golden_close(g);
    }
}

static void foresight_totals_on_gpu(void **state)
{
    for (int c = 0; c < ncases; c++) {
        tcet_golden *g = golden_open_case(cases[c]);
        golden_check_foresight_totals(be, g);
        tcet_golden_close(g);
    }
}

/* Gaussian re-init proxies with the /aux draws; cases where the official
 * function raised (golden_official_raised) are left to the CPU test. */
static void gaussian_proxies_on_gpu(void **state)
{
    static const struct { int proxy; const char *dset; } k[] = {
        {TCET_PROXY_ZEN, "/expected/other/zen"},
        {TCET_PROXY_NASWOT, "/expected/other/naswot"},
        {TCET_PROXY_SYNFLOW_ZENNAS, "/expected/other/syncflow"},
        {TCET_PROXY_GRADNORM, "/expected/other/gradnorm"},
    };
    for (int c = 0; c < ncases; c++) {
        tcet_golden *g = golden_open_case(cases[c]);
        for (size_t p = 0; p < sizeof k / sizeof *k; p++) {
            if (!tcet_golden_has(g, k[p].dset) || golden_official_raised(g, k[p].dset)) continue;
            double want = golden_read_scalar(g, k[p].dset);
            tcet_scorer *sc;
            tcet_score_result res;
            golden_score(be, g, k[p].proxy, &res, &sc);
            if (res.r.status == TCET_CAND_FAILED)
                print_message("%-18s %-15s FAILED on the GPU: %s\n", g->case_name, tcet_proxy_name(k[p].proxy),
                              res.r.reason);
            if (!isfinite(want)) {
                /* as on the CPU (test_golden_baselines.c): a non-finite official value
                 * must come out as a non-finite score, not a failure */
                assert_int_equal(res.r.status, TCET_CAND_NONFINITE);
                assert_true(res.r.raw == want);
            } else {
                /* a GPU proxy that fails (e.g. a cuDNN error) must fail the test */
                assert_int_equal(res.r.status, TCET_CAND_OK);
                print_message("%-18s %-15s cuda %.10g  official %.10g\n", g->case_name,
                              tcet_proxy_name(k[p].proxy), res.r.raw, want);
                /* adv_synflow_const's Syncflow is -3.9e-38 (a float32 denormal,
                 * i.e. zero up to round-off): absolute check for such values */
                if (fabs(want) < 1e-30) assert_true(fabs(res.r.raw - want) < 1e-30);
                else assert_rel_close(res.r.raw, want, 1e-3);
            }
            tcet_scorer_destroy(sc);
        }
        tcet_golden_close(g);
    }
}

static void adv_dead_is_exactly_zero(void **state)
{
    tcet_golden *g = golden_open_case(test_data_path("golden/adv_dead.h5"));
    tcet_scorer *sc;
    tcet_score_result res;
    golden_score(be, g, TCET_PROXY_TCET_SNIP, &res, &sc);
    assert_int_equal(res.r.status, TCET_CAND_OK);
    assert_true(res.r.raw == 0.0 && res.r.score == 0.0);
    tcet_scorer_destroy(sc);
    tcet_golden_close(g);
}

/* ---- timing mode (tests/gpu/run.sh), not a test ------------------------------
 * test_cuda_golden --time STRUCTURE REPEATS THREADS: scores STRUCTURE with
 * tcet-snip and tcet-synflow (batch 64, resolution 32, synthetic data) REPEATS
 * times in one process on the CUDA backend and on the CPU backend (THREADS
 * OpenBLAS threads) and prints one line per (proxy, backend): the first
 * candidate (cold: descriptor cache, algorithm choice, arena growth) and the
 * median of the others (steady state, as in a search). */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int time_one(tcet_backend *b, int proxy, const tcet_arch *arch, int repeats, double *cold,
                    double *warm, double *score)
{
    tcet_score_config cfg = {.proxy = proxy, .mode = TCET_MODE_LOG, .batch_size = 64,
                             .resolution = 32, .num_classes = 100, .gamma = 1e-2, .seed = 1,
                             .zico_batches = 2};
    tcet_scorer *sc;
    if (tcet_scorer_create(&cfg, b, &sc)) return 1;
    double *t = calloc((size_t)repeats, sizeof *t);
    for (int r = 0; r < repeats; r++) {
        tcet_score_result res;
        tcet_scorer_score(sc, (uint64_t)r, arch, &res);  /* a new candidate id: new weights */
        if (res.r.status != TCET_CAND_OK) fprintf(stderr, "score failed: %s\n", res.r.reason);
        t[r] = res.r.seconds;
        if (r == 0) *score = res.r.raw;
    }
    *cold = t[0];
    if (repeats > 1) {
        qsort(t + 1, (size_t)repeats - 1, sizeof *t, cmp_double);
        *warm = t[1 + (repeats - 1) / 2];
    } else {
        *warm = t[0];
    }
    free(t);
    tcet_scorer_destroy(sc);
    return 0;
}

static int timing_main(const char *structure, int repeats, int threads)
{
    if (repeats < 1 || threads < 1) {
        fprintf(stderr, "usage: test_cuda_golden --time STRUCTURE REPEATS>=1 THREADS>=1\n");
        return 2;
    }
    tcet_arch arch;
    if (tcet_arch_load(structure, &arch)) {
        tcet_error_print();
        return 2;
    }
    tcet_backend *gpu = NULL, *cpu = tcet_backend_cpu_create(threads);
    if (tcet_backend_cuda_create(0, &gpu)) {
        tcet_error_print();
        return 1;
    }
    printf("# %s | cpu: %s\n", gpu->device, cpu->device);
    const int proxies[2] = {TCET_PROXY_TCET_SNIP, TCET_PROXY_TCET_SYNFLOW};
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 2; k++) {
            double cold = NAN, warm = NAN, score = NAN;
            if (time_one(k ? cpu : gpu, proxies[p], &arch, repeats, &cold, &warm, &score)) {
                tcet_error_print();
                return 1;
            }
            printf("TIMING %-13s %-5s cold_s %.4f warm_median_s %.4f score %.10g\n",
                   tcet_proxy_name(proxies[p]), k ? "cpu" : "cuda", cold, warm, score);
            fflush(stdout);
        }
    gpu->destroy(gpu);
    cpu->destroy(cpu);
    return 0;
}

int main(int argc, char **argv)
{
    if (tcet_cuda_device_count() == 0 && !getenv("TCET_GPU_TESTS_ON_CPU")) {
        printf("no usable CUDA device: skipping the CUDA golden tests\n");
        return 77;
    }
    if (argc == 5 && !strcmp(argv[1], "--time"))
        return timing_main(argv[2], atoi(argv[3]), atoi(argv[4]));
    ncases = test_golden_cases(cases, MAXC);
    if (getenv("TCET_GPU_TESTS_ON_CPU")) {
        /* harness self-check without a GPU: the same checks on the CPU backend */
        be = tcet_backend_cpu_create(1);
    } else {
        if (tcet_backend_cuda_create(0, &be)) {
            tcet_error_print();
            return 1;
        }
        if (tcet_cuda_set_tf32(be, 0)) {
            tcet_error_print();
            return 1;
        }
    }
    printf("CUDA backend: %s; %d golden cases\n", be->device, ncases);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gram_on_gpu),
        cmocka_unit_test(tcet_snip_on_gpu),
        cmocka_unit_test(tcet_synflow_on_gpu),
        cmocka_unit_test(foresight_totals_on_gpu),
        cmocka_unit_test(gaussian_proxies_on_gpu),
        cmocka_unit_test(adv_dead_is_exactly_zero),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    be->destroy(be);
    return failed;
}

#else /* !TCET_HAVE_CUDA */

int main(void)
{
    printf("this build has no CUDA backend: skipping the CUDA golden tests\n");
    return 77;
}

#endif
