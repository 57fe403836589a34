/* gradnorm-zc (zero-cost-nas / NASLib grad_norm, docs/semantics.md#baseline-proxies)
 * against an independent expectation: on the golden `bottleneck` and `k7`
 * networks with their golden batch, every layer's ‖∂L/∂W_ℓ‖ is checked by a
 * central finite difference of the float64 loss along the gradient's own
 * direction u = g/‖g‖ (L(W + εu) − L(W − εu)) / 2ε = ‖g‖ (train-mode BN, so
 * the batch statistics move with W), and the proxy's total (float32 and
 * float64) is the sum of those norms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_support.h"
#include "net_support.h"

static tcet_backend *be;
static int setup(void **s) { (void)s; return test_cpu_backend(&be); }
static int teardown(void **s) { (void)s; return test_cpu_backend_free(&be); }

static double forward_loss(tcet_net *net, const int32_t *lab)
{
    assert_int_equal(tcet_net_forward(net, 1, 0), 0);
    return test_net_loss_host(net, lab, NULL);
}

static void check_case(const char *name)
{
    char rel[64];
    snprintf(rel, sizeof rel, "golden/%s.h5", name);
    tcet_golden *g = golden_open_case(test_data_path(rel));
    const int n = g->batch_size;

    /* the float64 golden network, its batch, one backward */
    tcet_net net;
    memset(&net, 0, sizeof net);
    assert_int_equal(tcet_net_build_arch_res(&net, be, &g->arch, 1, !g->no_reslink, g->num_classes, g->resolution,
                                             TCET_F64, n), 0);
    const float **arrays;
    size_t *counts;
    tcet_golden_param_arrays(g->params, g->nparams, &arrays, &counts);
    assert_int_equal(tcet_net_load_params(&net, g->nparams, arrays, counts), 0);
    free(arrays);
    free(counts);
    assert_int_equal(tcet_net_set_input(&net, g->input), 0);
    assert_int_equal(tcet_net_set_labels(&net, g->labels), 0);
    assert_int_equal(tcet_net_forward(&net, 1, 0), 0);
    double loss;
    assert_int_equal(tcet_net_xent(&net, &loss), 0);
    assert_int_equal(tcet_net_backward(&net, 1), 0);

    const int L = net.nscored;
    double **grad = calloc((size_t)L, sizeof *grad), *norm = calloc((size_t)L, sizeof *norm), total = 0.0;
    for (int l = 0; l < L; l++) {
        tcet_net_op *o = tcet_net_layer(&net, l);
        grad[l] = malloc(o->w_count * sizeof(double));
        assert_int_equal(be->download(be, grad[l], o->gw, o->w_count * sizeof(double)), 0);
        double sq = 0.0;
        for (size_t i = 0; i < o->w_count; i++) sq += grad[l][i] * grad[l][i];
        norm[l] = sqrt(sq);
        total += norm[l];
    }
    /* finite differences, one layer at a time.  The loss is only piecewise
     * smooth (ReLU kinks): steps of 1e-5, 1e-6 and 1e-7 along u crossed kinks
     * and missed by up to 3e-4, 7e-5 and 3e-5 relative on these nets; at 1e-8
     * every layer agrees to the printed worst case, while double rounding of
     * the loss (~5e-16) stays ~1e-7 of the norms. */
    const double eps = 1e-8;
    double worst = 0.0;
    for (int l = 0; l < L; l++) {
        tcet_net_op *o = tcet_net_layer(&net, l);
        double *w0 = malloc(o->w_count * sizeof(double)), *w = malloc(o->w_count * sizeof(double));
        assert_int_equal(be->download(be, w0, o->w, o->w_count * sizeof(double)), 0);
        double Lpm[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            const double step = (sgn ? -eps : eps) / norm[l];
            for (size_t i = 0; i < o->w_count; i++) w[i] = w0[i] + step * grad[l][i];
            assert_int_equal(be->upload(be, o->w, w, o->w_count * sizeof(double)), 0);
            Lpm[sgn] = forward_loss(&net, g->labels);
        }
        assert_int_equal(be->upload(be, o->w, w0, o->w_count * sizeof(double)), 0);
        const double fd = (Lpm[0] - Lpm[1]) / (2 * eps);
        worst = fmax(worst, fabs(fd - norm[l]) / norm[l]);
        if (!(fabs(fd - norm[l]) <= 1e-5 * norm[l] + 1e-9))
            fail_msg("%s layer %d (%s): finite difference %.10g, backward norm %.10g", name, l, o->op.name, fd,
                     norm[l]);
        free(w0), free(w);
    }
    /* the proxy, through the scorer: float64 equals the sum of those norms
     * (the same arithmetic), float32 within float32 noise of it */
    tcet_score_result r;
    tcet_scorer *sc;
    golden_score_dtype(be, g, TCET_PROXY_GRADNORM_ZC, TCET_F64, &r, &sc);
    assert_int_equal(r.r.status, TCET_CAND_OK);
    assert_true(fabs(r.r.raw - total) <= 1e-12 * total);
    tcet_scorer_destroy(sc);
    golden_score_dtype(be, g, TCET_PROXY_GRADNORM_ZC, TCET_F32, &r, &sc);
    assert_int_equal(r.r.status, TCET_CAND_OK);
    if (!(fabs(r.r.raw - total) <= 1e-5 * total))
        fail_msg("%s: float32 gradnorm-zc %.10g, float64 %.10g", name, r.r.raw, total);
    printf("%-12s gradnorm-zc %.9g over %d layers (float32 %.9g); finite differences within %.2g\n", name, total, L,
           r.r.raw, worst);
    tcet_scorer_destroy(sc);
    for (int l = 0; l < L; l++) free(grad[l]);
    free(grad), free(norm);
    tcet_net_free(&net);
    tcet_golden_close(g);
}

static void test_bottleneck(void **state) { (void)state; check_case("bottleneck"); }
static void test_k7(void **state) { (void)state; check_case("k7"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bottleneck),
        cmocka_unit_test(test_k7),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
