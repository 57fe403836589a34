/* The baseline proxies (docs/semantics.md#baseline-proxies, docs/semantics.md#zico) against the official PyTorch values
 * stored in the golden files (tests/data/golden/README.md), through the scorer
 * (the production path) with the golden weights and /aux random tensors:
 *   zen, naswot, synflow-zennas ("syncflow"), gradnorm: 1e-4 relative of
 *     /expected/other/X, or FAILED (−9999) where the attribute `error` says the
 *     official function raised;
 *   te-nas: 1e-4 relative on full-rank NTKs free of float32 ReLU ties, 5e-3
 *     elsewhere (see "round-off" below), −0.0 for the all-zero NTK
 *     (adv_dead), rank-deficient NTKs skipped (round-off-defined);
 *   zico: the per-batch gradients (golden halves convention) within 5e-5 of
 *     each layer's largest official gradient (measured <= 7.7e-6), and the
 *     total within 2e-3 relative (exact 0 when every layer is skipped): ZiCo
 *     is itself only defined to ~1e-3 by float32 round-off (see below).
 * Plus invariants that need no reference:
 *   te-nas with a batch of one sample: the NTK is 1×1 ⇒ cond = λ/λ = 1 ⇒ −1;
 *   te-nas is invariant (to round-off) under a permutation of the samples
 *     (train-mode BN statistics are permutation invariant, NTK → P NTK Pᵀ);
 *   zico with two identical batches: every std is 0 ⇒ every layer skipped ⇒ 0;
 *   zico with the two batches swapped: the float32 statistics are symmetric
 *     in the two rows ⇒ bit-identical score. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_support.h"

#include "common/arch.h"

#define MAXC 32
static const char *cases[MAXC];
static int ncases;
static tcet_backend *be;

static int setup(void **state) { ncases = test_golden_cases(cases, MAXC); return test_cpu_backend(&be); }
static int teardown(void **state) { return test_cpu_backend_free(&be); }

/* Cases whose official value is decided by float32 round-off at a ReLU
 * (a pre-ReLU value within a few 1e-6 of 0, whose sign differs between torch's
 * and any other float32 summation order), so only a looser agreement is
 * meaningful.  Measured, not guessed:
 *   te-nas k7: sample 3, element 1612 of the input of the last ReLU is
 *     +2.4e-6 in float64, +6.2e-6 in tcet's float32 and <= 0 in torch's; zeroing
 *     that one ReLU output (of 32768) makes every per-parameter gradient norm
 *     of the official te_nas_grad_sqnorm match to 1.5e-6, and cond moves by
 *     1.3e-3.  tcet's float32 and float64 TE-NAS agree to 1e-7.
 *   te-nas idw: the same kind of flip (15 ReLU inputs within 1e-5 of 0).
 *   zico (every case): elements with g1 ≈ g2 give mean|g|/std ratios that
 *     float32 round-off decides (std = |g1 − g2|/2 cancels), and float32 can
 *     make g1 == g2 exactly (element dropped) where float64 does not.  tcet's
 *     float64 network gives ZiCo values that differ from the official ones by
 *     4e-5 (tiny) ... 3.2e-3 (k7); tcet's float32 ones differ by 4.7e-5 ...
 *     9.5e-4 (k7).  Hence 2e-3 for the total, and the bit-exact check of the
 *     arithmetic on the official gradients in test_zico_math.
 * te-nas: 1e-4 on the development cases verified free of such flips; every
 * other case (k7, idw, held-out ones: a 64-sample ZenNet has far more ReLU
 * inputs, so a flip is likely) gets 5e-3, and the measured error is printed. */
static int named_case(const tcet_golden *g, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(g->case_name, names[i]) == 0) return 1;
    return 0;
}

/* zen, naswot, synflow-zennas, gradnorm: Gaussian weights and inputs from /aux. */
static void check_gaussian_proxy(int proxy, const char *dset)
{
    assert_true(ncases >= 7);
    for (int c = 0; c < ncases; c++) {
        tcet_golden *g = golden_open_case(cases[c]);
        tcet_score_result res;
        golden_score_once(be, g, proxy, &res);
        if (golden_official_raised(g, dset)) {
            assert_int_equal(res.r.status, TCET_CAND_FAILED);
            assert_true(res.r.score == TCET_FAIL_SCORE);
            print_message("%-18s %-15s FAILED as the official code (%s)\n", g->case_name,
                          tcet_proxy_name(proxy), res.r.reason);
        } else if (!isfinite(golden_read_scalar(g, dset))) {
            /* e.g. NASWOT of an exactly singular K: −inf, then −9999 */
            assert_int_equal(res.r.status, TCET_CAND_NONFINITE);
            assert_true(res.r.raw == golden_read_scalar(g, dset));
        } else {
            double want = golden_read_scalar(g, dset);
            assert_int_equal(res.r.status, TCET_CAND_OK);
            print_message("%-18s %-15s %.10g (official %.10g, rel %.2g)\n", g->case_name,
                          tcet_proxy_name(proxy), res.r.raw, want,
                          fabs(res.r.raw - want) / fabs(want));
            if (fabs(want) < 1e-30) {
                /* adv_synflow_const: 1×1 convs on an all-ones input give
                 * spatially constant maps, train-mode BN maps them to exactly
                 * 0 and every gradient vanishes: the score is analytically 0;
                 * torch's −3.9e−38 is round-off of the batch mean. */
                assert_true(fabs(res.r.raw) <= 1e-30);
            } else {
                assert_rel_close(res.r.raw, want, 1e-4);
            }
        }
        tcet_golden_close(g);
    }
}

static void test_zen(void **state) { check_gaussian_proxy(TCET_PROXY_ZEN, "/expected/other/zen"); }
static void test_naswot(void **state) { check_gaussian_proxy(TCET_PROXY_NASWOT, "/expected/other/naswot"); }
static void test_synflow_zennas(void **state)
{
    check_gaussian_proxy(TCET_PROXY_SYNFLOW_ZENNAS, "/expected/other/syncflow");
}
static void test_gradnorm(void **state)
{
    check_gaussian_proxy(TCET_PROXY_GRADNORM, "/expected/other/gradnorm");
}

static void test_te_nas(void **state)
{
    int checked = 0;
    for (int c = 0; c < ncases; c++) {
        tcet_golden *g = golden_open_case(cases[c]);
        double want = golden_read_scalar(g, "/expected/other/te_nas");
        size_t n = (size_t)g->batch_size;
        double *ev = malloc(n * sizeof *ev);
        assert_int_equal(tcet_golden_read_f64(g, "/expected/other/te_nas_eigenvalues_f64", ev, n), 0);
        tcet_score_result res;
        golden_score_once(be, g, TCET_PROXY_TE_NAS, &res);
        assert_int_equal(res.r.status, TCET_CAND_OK);
        print_message("%-18s te-nas %.10g (official %.10g)\n", g->case_name, res.r.raw, want);
        if (want == 0.0) {
            /* all-zero NTK: 0/0 = NaN → nan_to_num → 0 → −0.0 */
            assert_true(res.r.raw == 0.0 && signbit(res.r.raw));
            checked++;
        } else if (ev[0] <= 1e-6 * fabs(ev[n - 1])) {
            print_message("%-18s te-nas skipped: rank-deficient NTK (λmin %.3g)\n", g->case_name, ev[0]);
        } else {
            static const char *const clean[] = {"tiny", "bottleneck", "init", "adv_synflow_const"};
            double tol = named_case(g, clean, 4) ? 1e-4 : 5e-3;
            print_message("%-18s te-nas rel err %.2g (tolerance %g)\n", g->case_name,
                          fabs(res.r.raw - want) / fabs(want), tol);
            assert_rel_close(res.r.raw, want, tol);
            checked++;
        }
        free(ev);
        tcet_golden_close(g);
    }
    assert_true(checked >= 7);
}

static void test_zico(void **state)
{
    for (int c = 0; c < ncases; c++) {
        tcet_golden *g = golden_open_case(cases[c]);
        double want = golden_read_scalar(g, "/expected/other/zico");
        tcet_score_result res;
        golden_score_once(be, g, TCET_PROXY_ZICO, &res);
        assert_int_equal(res.r.status, TCET_CAND_OK);
        print_message("%-18s zico %.10g (official %.10g)\n", g->case_name, res.r.raw, want);
        if (want == 0.0) assert_true(res.r.raw == 0.0);
        else assert_rel_close(res.r.raw, want, 2e-3);
        tcet_golden_close(g);
    }
}

/* ZiCo's inputs: the per-batch weight gradients of the two halves (fresh
 * gradients per batch, mean cross-entropy, train-mode BN over each half)
 * against the official grad_dict rows. */
static void test_zico_gradients(void **state)
{
    for (int c = 0; c < ncases; c++) {
        tcet_golden *g = golden_open_case(cases[c]);
        int nb = g->batch_size / 2;
        tcet_net net;
        golden_net_build(&net, be, g, nb);
        size_t img = (size_t)3 * (size_t)g->resolution * (size_t)g->resolution;
        double worst = 0;
        for (int b = 0; b < 2; b++) {
            assert_int_equal(tcet_net_set_input(&net, g->input + img * (size_t)nb * (size_t)b), 0);
            assert_int_equal(tcet_net_set_labels(&net, g->labels + (size_t)nb * (size_t)b), 0);
            assert_int_equal(tcet_net_forward(&net, 1, 1), 0);
            double loss, want_loss[2];
            assert_int_equal(tcet_net_xent(&net, &loss), 0);
            assert_int_equal(tcet_golden_read_f64(g, "/expected/other/zico_layers/batch_loss", want_loss, 2), 0);
            assert_rel_close(loss, want_loss[b], 1e-5);
            assert_int_equal(tcet_net_backward(&net, 1), 0);
            for (int l = 0; l < net.nscored; l++) {
                tcet_net_op *o = tcet_net_layer(&net, l);
                char path[256];
                snprintf(path, sizeof path, "/expected/other/zico_layers/grad/%03d_%s", l, o->op.name);
                double *want = malloc(2 * o->w_count * sizeof *want);
                assert_int_equal(tcet_golden_read_f64(g, path, want, 2 * o->w_count), 0);
                const double *h;
                assert_int_equal(tcet_net_download_f64(&net, o->gw, o->w_count, &h), 0);
                double mx = 0, d = 0;
                for (size_t i = 0; i < 2 * o->w_count; i++) mx = fmax(mx, fabs(want[i]));
                for (size_t i = 0; i < o->w_count; i++) d = fmax(d, fabs(h[i] - want[(size_t)b * o->w_count + i]));
                if (mx == 0) assert_true(d == 0);
                else worst = fmax(worst, d / mx);
                free(want);
            }
        }
        print_message("%-18s zico gradients: max |diff| / layer max = %.2g\n", g->case_name, worst);
        assert_true(worst <= 5e-5);
        tcet_net_free(&net);
        tcet_golden_close(g);
    }
}

/* ---- invariants -------------------------------------------------------- */

static const char *find_case(const char *name)
{
    for (int c = 0; c < ncases; c++) {
        const char *b = strrchr(cases[c], '/');
        b = b ? b + 1 : cases[c];
        if (strncmp(b, name, strlen(name)) == 0 && b[strlen(name)] == '.') return cases[c];
    }
    fail_msg("golden case %s missing", name);
    return NULL;
}

/* A batch of one sample: the NTK is the 1×1 matrix ‖g‖² > 0 ⇒ −1. */
static void test_te_nas_batch_of_one(void **state)
{
    tcet_golden *g = golden_open_case(find_case("bottleneck"));
    size_t saved = g->tenas_input.count;
    g->batch_size = 1;
    g->tenas_input.count = 0; /* draw one N(0,1) image from the AUX stream */
    tcet_score_result res;
    golden_score_once(be, g, TCET_PROXY_TE_NAS, &res);
    assert_int_equal(res.r.status, TCET_CAND_OK);
    assert_true(res.r.raw == -1.0);
    g->tenas_input.count = saved;
    tcet_golden_close(g);
}

/* Reversing the order of the samples leaves the eigenvalues unchanged. */
static void test_te_nas_permutation(void **state)
{
    const char *names[] = {"tiny", "k7", "idw"};
    for (int k = 0; k < 3; k++) {
        tcet_golden *g = golden_open_case(find_case(names[k]));
        tcet_score_result a, b;
        golden_score_once(be, g, TCET_PROXY_TE_NAS, &a);
        size_t img = (size_t)3 * (size_t)g->resolution * (size_t)g->resolution;
        int n = g->batch_size;
        float *tmp = malloc(img * sizeof *tmp);
        for (int i = 0; i < n / 2; i++) {
            float *p = g->tenas_input.data + img * (size_t)i, *q = g->tenas_input.data + img * (size_t)(n - 1 - i);
            memcpy(tmp, p, img * sizeof *tmp);
            memcpy(p, q, img * sizeof *tmp);
            memcpy(q, tmp, img * sizeof *tmp);
        }
        free(tmp);
        golden_score_once(be, g, TCET_PROXY_TE_NAS, &b);
        assert_int_equal(a.r.status, TCET_CAND_OK);
        assert_int_equal(b.r.status, TCET_CAND_OK);
        assert_rel_close(b.r.raw, a.r.raw, 1e-4);
        tcet_golden_close(g);
    }
}

/* Two identical batches ⇒ g₁ == g₂ ⇒ std ≡ 0 ⇒ every layer skipped ⇒ 0;
 * swapped batches ⇒ bit-identical score. */
static void test_zico_batches(void **state)
{
    tcet_golden *g = golden_open_case(find_case("init"));
    size_t img = (size_t)3 * (size_t)g->resolution * (size_t)g->resolution;
    size_t half = (size_t)g->batch_size / 2;
    float *x = g->input;
    int32_t *y = g->labels;
    tcet_score_result a, b;
    golden_score_once(be, g, TCET_PROXY_ZICO, &a);
    /* swap the halves */
    float *tmp = malloc(img * half * sizeof *tmp);
    memcpy(tmp, x, img * half * sizeof *tmp);
    memmove(x, x + img * half, img * half * sizeof *tmp);
    memcpy(x + img * half, tmp, img * half * sizeof *tmp);
    free(tmp);
    for (size_t i = 0; i < half; i++) {
        int32_t t = y[i];
        y[i] = y[i + half];
        y[i + half] = t;
    }
    golden_score_once(be, g, TCET_PROXY_ZICO, &b);
    assert_int_equal(a.r.status, TCET_CAND_OK);
    assert_int_equal(b.r.status, TCET_CAND_OK);
    assert_true(a.r.raw > 1.0);
    assert_true(b.r.raw == a.r.raw);
    /* identical halves */
    memcpy(x + img * half, x, img * half * sizeof *x);
    memcpy(y + half, y, half * sizeof *y);
    golden_score_once(be, g, TCET_PROXY_ZICO, &b);
    assert_int_equal(b.r.status, TCET_CAND_OK);
    assert_true(b.r.raw == 0.0);
    tcet_golden_close(g);
}

/* ---- search mode (no golden file): keyed randomness ----------------------- */

static void score_arch(const char *structure, int proxy, uint64_t id, tcet_score_result *res)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(structure, &a, NULL), 0);
    tcet_score_config cfg = {.proxy = proxy, .mode = TCET_MODE_LOG, .batch_size = 8, .resolution = 32,
                             .num_classes = 10, .gamma = 1e-2, .seed = 7, .zico_batches = 2};
    tcet_scorer *sc;
    assert_int_equal(tcet_scorer_create(&cfg, be, &sc), 0);
    tcet_scorer_score(sc, id, &a, res);
    res->layers = NULL;
    tcet_scorer_destroy(sc);
}

/* Every baseline scores a small network on synthetic data; the score is a
 * function of (seed, candidate id) only (docs/semantics.md#randomness-and-seeds): the same id gives the
 * same bits in a fresh scorer, another id another value. */
static void test_search_mode_keyed(void **state)
{
    static const char *s = "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)";
    static const int proxies[] = {TCET_PROXY_ZEN, TCET_PROXY_NASWOT, TCET_PROXY_SYNFLOW_ZENNAS,
                                  TCET_PROXY_GRADNORM, TCET_PROXY_TE_NAS, TCET_PROXY_ZICO};
    for (int i = 0; i < 6; i++) {
        tcet_score_result a, b, c;
        score_arch(s, proxies[i], 5, &a);
        score_arch(s, proxies[i], 5, &b);
        score_arch(s, proxies[i], 6, &c);
        print_message("%-15s id 5: %.10g  id 6: %.10g\n", tcet_proxy_name(proxies[i]), a.r.raw, c.r.raw);
        assert_int_equal(a.r.status, TCET_CAND_OK);
        assert_int_equal(c.r.status, TCET_CAND_OK);
        assert_true(isfinite(a.r.raw) && isfinite(c.r.raw));
        assert_true(a.r.raw == b.r.raw);
        assert_true(a.r.raw != c.r.raw);
    }
}

/* Synflow-ZenNAS keeps BN in training mode at batch 1: a 1×1 feature map
 * gives one value per channel, which torch refuses ("Expected more than 1
 * value per channel when training") ⇒ FAILED, −9999 (golden README). */
static void test_synflow_zennas_1x1_bn(void **state)
{
    static const char *s = "SuperConvK3BNRELU(3,8,2,1)SuperConvK3BNRELU(8,8,2,1)SuperConvK3BNRELU(8,8,2,1)"
                            "SuperConvK3BNRELU(8,8,2,1)SuperConvK3BNRELU(8,8,2,1)";
    tcet_score_result r;
    score_arch(s, TCET_PROXY_SYNFLOW_ZENNAS, 1, &r);
    assert_int_equal(r.r.status, TCET_CAND_FAILED);
    assert_true(r.r.score == TCET_FAIL_SCORE);
    assert_non_null(strstr(r.r.reason, "Expected more than 1 value per channel"));
    /* one step less (2×2 maps) is fine */
    score_arch("SuperConvK3BNRELU(3,8,2,1)SuperConvK3BNRELU(8,8,2,1)SuperConvK3BNRELU(8,8,2,1)"
               "SuperConvK3BNRELU(8,8,2,1)", TCET_PROXY_SYNFLOW_ZENNAS, 1, &r);
    assert_int_equal(r.r.status, TCET_CAND_OK);
    assert_true(r.r.raw < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zen),
        cmocka_unit_test(test_naswot),
        cmocka_unit_test(test_synflow_zennas),
        cmocka_unit_test(test_gradnorm),
        cmocka_unit_test(test_te_nas),
        cmocka_unit_test(test_zico),
        cmocka_unit_test(test_zico_gradients),
        cmocka_unit_test(test_te_nas_batch_of_one),
        cmocka_unit_test(test_te_nas_permutation),
        cmocka_unit_test(test_zico_batches),
        cmocka_unit_test(test_search_mode_keyed),
        cmocka_unit_test(test_synflow_zennas_1x1_bn),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
