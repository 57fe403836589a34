/* Scoring a residual (no_reslink = 0) network against an independent
 * reference: tests/data/reference/bottleneck_reslink.h5, written by
 * tests/tools/make_reslink_case.py in plain torch 1.13 (the golden
 * `bottleneck` structure WITH its shortcuts: 2 projection convs with bias +
 * BN, 4 identity shortcuts; golden layout subset, see the script).  The
 * script's no-shortcut variant reproduces the official golden
 * bottleneck.h5 bit for bit (weights, Gram, NASWOT, both T-CET totals), and
 * its counters equal docs/semantics.md#self-check-counts's bottleneck_reslink numbers.
 *
 * Asserted through the production path (scorer in golden mode, which takes
 * reslink from the file): the §2 layer axis (23 layers, projections after
 * their block's inner convs), Gram matrices exact, layer-wise NASWOT on
 * full-rank layers exact, SNIP statistics and T-CET(SNIP) 1e-4, Synflow
 * statistics and T-CET(Synflow) 1e-9 (float64), the foresight totals,
 * Params / Flops = get_model_size / get_FLOPs of the network with shortcuts,
 * and the two baselines that use the stored weights: TE-NAS (NTK rows incl.
 * the projection conv weights and projection BN gammas) 1e-4 and ZiCo 1e-4
 * (the script's own no-shortcut TE-NAS / ZiCo are within 1.4e-6 / 2.2e-5 of
 * the official values: float32 gradients differ by ~2e-6 between CPUs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_support.h"

static tcet_backend *be;
static tcet_golden *g;

static int setup(void **state)
{
    (void)state;
    be = tcet_backend_cpu_create(1);
    g = golden_open_case(test_data_path("reference/bottleneck_reslink.h5"));
    return be && g ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tcet_golden_close(g);
    be->destroy(be);
    return 0;
}

static void test_file_is_residual(void **state)
{
    (void)state;
    assert_int_equal(g->no_reslink, 0);
    assert_int_equal(g->batch_size, 8);
    assert_int_equal(g->num_classes, 10);
    /* state_dict: 20 inner convs, 2 projection convs (weight + bias),
     * (20 + 2) BN x 4 entries, FC weight + bias */
    assert_int_equal(g->nparams, 20 + 2 * 2 + 22 * 4 + 2);
}

static void test_gram_exact(void **state)
{
    (void)state;
    int layers_bad;
    size_t entries;
    long bad = golden_gram_mismatches(be, g, &layers_bad, &entries);
    assert_int_equal(entries, (size_t)23 * 8 * 8);
    assert_int_equal(bad, 0);
}

static void test_tcet_snip(void **state)
{
    (void)state;
    tcet_scorer *sc;
    tcet_score_result res;
    golden_score(be, g, TCET_PROXY_TCET_SNIP, &res, &sc);
    assert_int_equal(res.r.status, TCET_CAND_OK);
    int L = res.nlayers, n = g->batch_size;
    assert_int_equal(L, 23); /* docs/semantics.md#self-check-counts */
    double *a = golden_read_array(g, "/expected/naswot/layerwise", L);
    double *sum = golden_read_array(g, "/expected/snip/sum", L);
    double *std = golden_read_array(g, "/expected/snip/std", L);
    double *term = golden_read_array(g, "/expected/snip/term", L);
    int64_t rank[23];
    assert_int_equal(tcet_golden_read_i64(g, "/expected/naswot/gram_rank", rank, 23), 0);
    int full = 0, proj = 0;
    for (int l = 0; l < L; l++) {
        char name[128];
        assert_int_equal(tcet_golden_read_string(g, "/layers/name", (size_t)l, name, sizeof name), 0);
        assert_string_equal(res.layers[l].name, name);
        proj += strstr(name, ".proj.0") != NULL;
        if (rank[l] == n) {
            assert_true(res.layers[l].naswot == a[l]);
            full++;
        }
        assert_rel_close(res.layers[l].sum, sum[l], 1e-4);
        assert_rel_close(res.layers[l].std, std[l], 1e-4);
        if (a[l] != 0.0) assert_rel_close(res.layers[l].term, term[l], 1e-4);
    }
    assert_int_equal(proj, 2);
    assert_int_equal(full, 22); /* every layer but the FC */
    assert_string_equal(res.layers[4].name, "module_list.1.module_list.0.proj.0");
    double expected = golden_read_scalar(g, "/expected/tcet_snip");
    assert_rel_close(res.r.raw, expected, 1e-4);
    printf("bottleneck_reslink T-CET(SNIP) %.9g (reference %.9g)\n", res.r.raw, expected);
    free(a);
    free(sum);
    free(std);
    free(term);
    tcet_scorer_destroy(sc);
}

static void test_tcet_synflow(void **state)
{
    (void)state;
    tcet_scorer *sc;
    tcet_score_result res;
    golden_score(be, g, TCET_PROXY_TCET_SYNFLOW, &res, &sc);
    assert_int_equal(res.r.status, TCET_CAND_OK);
    int L = res.nlayers;
    assert_int_equal(L, 23);
    double *sum = golden_read_array(g, "/expected/synflow/sum", L);
    double *std = golden_read_array(g, "/expected/synflow/std", L);
    double *lg = golden_read_array(g, "/expected/synflow/log", L);
    for (int l = 0; l < L; l++) {
        assert_rel_close(res.layers[l].sum, sum[l], 1e-9);
        assert_rel_close(res.layers[l].std, std[l], 1e-9);
        assert_rel_close(res.layers[l].log, lg[l], 1e-9);
    }
    /* with shortcuts Synflow is no longer conservative: the per-layer sums
     * differ (without them each equals R - Σ|FC bias|, golden README) */
    assert_true(sum[0] != sum[L - 2]);
    double expected = golden_read_scalar(g, "/expected/tcet_synflow");
    assert_rel_close(res.r.raw, expected, 1e-9);
    printf("bottleneck_reslink T-CET(Synflow) %.17g (reference %.17g)\n", res.r.raw, expected);
    free(sum);
    free(std);
    free(lg);
    tcet_scorer_destroy(sc);
}

static void test_foresight_and_counters(void **state)
{
    (void)state;
    golden_check_foresight_totals(be, g);
    tcet_score_result res;
    golden_score_once(be, g, TCET_PROXY_PARAMS, &res);
    assert_true(res.r.raw == 40305.0); /* docs/semantics.md#self-check-counts bottleneck_reslink */
    assert_true(res.r.raw == golden_read_scalar(g, "/expected/params_model_size"));
    golden_score_once(be, g, TCET_PROXY_FLOPS, &res);
    assert_true(res.r.raw == 3510656.0);
    assert_true(res.r.raw == golden_read_scalar(g, "/expected/flops"));
}

static void test_te_nas_and_zico(void **state)
{
    (void)state;
    tcet_score_result res;
    double ev[8];
    assert_int_equal(tcet_golden_read_f64(g, "/expected/other/te_nas_eigenvalues_f64", ev, 8), 0);
    assert_true(ev[0] > 1e-3 * ev[7]); /* well-conditioned: the value is portable */
    golden_score_once(be, g, TCET_PROXY_TE_NAS, &res);
    assert_int_equal(res.r.status, TCET_CAND_OK);
    double want = golden_read_scalar(g, "/expected/other/te_nas");
    printf("bottleneck_reslink TE-NAS %.10g (reference %.10g)\n", res.r.raw, want);
    assert_rel_close(res.r.raw, want, 1e-4);
    golden_score_once(be, g, TCET_PROXY_ZICO, &res);
    assert_int_equal(res.r.status, TCET_CAND_OK);
    want = golden_read_scalar(g, "/expected/other/zico");
    printf("bottleneck_reslink ZiCo %.10g (reference %.10g)\n", res.r.raw, want);
    assert_rel_close(res.r.raw, want, 1e-4);
}

/* Every proxy runs on the residual network (Zen, NASWOT, Syncflow, GradNorm
 * re-initialise with their own draws: no reference values for them here). */
static void test_every_proxy_runs(void **state)
{
    (void)state;
    for (int p = 0; p < TCET_PROXY_COUNT; p++) {
        tcet_score_result res;
        golden_score_once(be, g, p, &res);
        if (res.r.status != TCET_CAND_OK) fprintf(stderr, "%s: %s\n", tcet_proxy_name(p), res.r.reason);
        assert_int_equal(res.r.status, TCET_CAND_OK);
    }
}

/* `tcet score --golden` accepts the file; `tcet score STRUCT --reslink` uses
 * the network with shortcuts (docs/semantics.md#self-check-counts: 40 305 with 10 classes). */
static void test_cli(void **state)
{
    (void)state;
    const char *bin = getenv("TCET_BIN");
    if (!bin) skip();
    static char cmd[16384];
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s score --golden %s --proxy tcet-synflow --json", bin,
             test_data_path("reference/bottleneck_reslink.h5"));
    assert_int_equal(test_run_capture(cmd, &out), 0);
    assert_non_null(strstr(out, "\"status\": \"ok\""));
    assert_non_null(strstr(out, "module_list.2.module_list.0.proj.0"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s score '%s' --proxy params --num-classes 10 --reslink --json", bin,
             g->structure);
    assert_int_equal(test_run_capture(cmd, &out), 0);
    assert_non_null(strstr(out, "\"score\": 40305"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s score '%s' --proxy params --num-classes 10 --json", bin, g->structure);
    assert_int_equal(test_run_capture(cmd, &out), 0);
    assert_non_null(strstr(out, "\"score\": 38177")); /* golden README: bottleneck, no shortcuts */
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_is_residual),
        cmocka_unit_test(test_gram_exact),
        cmocka_unit_test(test_tcet_snip),
        cmocka_unit_test(test_tcet_synflow),
        cmocka_unit_test(test_foresight_and_counters),
        cmocka_unit_test(test_te_nas_and_zico),
        cmocka_unit_test(test_every_proxy_runs),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
