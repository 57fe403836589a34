/* Backward through residual wrappers (reslink = 1, docs/semantics.md#residual-wrappers) against
 * central finite differences in float64: y = inner(x) + BN(conv1x1_s(x))
 * (projection: stride 2, in != out, and the first wrapper of a block) or
 * inner(x) + x (identity), train-mode BN everywhere incl. the projection BN,
 * and the BN-free copy (Synflow: no BN at all, projection bias kept, |params|,
 * all-ones input, R = Σ logits).  Every conv / BN / FC weight AND bias
 * (projection biases, BN betas, FC bias) is probed at several elements. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_support.h"
#include "test_support.h"

#include "common/arch.h"
#include "common/error.h"
#include "common/plan.h"
#include "common/rng.h"
#include "worker/net.h"

static tcet_backend *be;
static int setup(void **s) { return test_cpu_backend(&be); }
static int teardown(void **s) { return test_cpu_backend_free(&be); }

static void build(tcet_net *net, const char *s, int bn, int classes, int res, int batch)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
    memset(net, 0, sizeof *net);
    assert_int_equal(tcet_net_build_arch_res(net, be, &a, bn, 1, classes, res, TCET_F64, batch), 0);
}

/* L = Σ c ⊙ logits: smooth in the logits, so only ReLU kinks limit the FD */
static double objective(tcet_net *net, const double *c)
{
    size_t m = (size_t)net->batch * (size_t)net->num_classes;
    const double *lg;
    assert_int_equal(tcet_net_download_f64(net, net->logits, m, &lg), 0);
    double L = 0;
    for (size_t i = 0; i < m; i++) L += c[i] * lg[i];
    return L;
}

typedef struct {
    int checked, bad, proj_checked, identity_wrappers, proj_wrappers;
    double max_rel;
} fd_stats;

static double eval_at(tcet_net *net, int train, const double *c, void *p, double *w, size_t n,
                      size_t k, double v)
{
    w[k] = v;
    assert_int_equal(be->upload(be, p, w, n * sizeof(double)), 0);
    assert_int_equal(tcet_net_forward(net, train, 0), 0);
    return objective(net, c);
}

/* Probe up to 4 elements of one parameter tensor with the 4th-order central
 * difference (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h: truncation O(h^4)
 * is negligible, so h can be large enough that float64 round-off of the
 * objective stays far below 1e-6 of the gradient.  bn = 1: h = 1e-5 (few
 * ReLU kinks within reach); bn = 0 (Synflow copy: all activations positive,
 * the objective is linear in each single weight): h = 1e-3 |w|. */
static void probe(tcet_net *net, int bn, const double *c, tcet_net_op *o, void *p, void *gp,
                  size_t n, fd_stats *st)
{
    if (!p || !n) return;
    double *w = malloc(n * sizeof(double)), *g = malloc(n * sizeof(double));
    assert_int_equal(be->download(be, w, p, n * sizeof(double)), 0);
    assert_int_equal(be->download(be, g, gp, n * sizeof(double)), 0);
    size_t idx[4] = {0, n / 3, (2 * n) / 3, n - 1};
    for (int t = 0; t < 4; t++) {
        size_t k = idx[t];
        double w0 = w[k], h = bn ? 1e-5 : 1e-3 * fmax(fabs(w0), 1e-3);
        double f2m = eval_at(net, 1, c, p, w, n, k, w0 - 2 * h);
        double f1m = eval_at(net, 1, c, p, w, n, k, w0 - h);
        double f1p = eval_at(net, 1, c, p, w, n, k, w0 + h);
        double f2p = eval_at(net, 1, c, p, w, n, k, w0 + 2 * h);
        double f0 = eval_at(net, 1, c, p, w, n, k, w0);
        double fd = (f2m - 8 * f1m + 8 * f1p - f2p) / (12 * h), an = g[k];
        double err = fabs(fd - an), rel = err / fmax(fabs(fd), 1e-300);
        /* absolute floor for gradients that are exactly 0 (a conv bias
         * followed by train-mode BN): the round-off of the difference */
        int ok = err <= 1e-6 * fabs(fd) + 1e-13 * fmax(1.0, fabs(f0)) / h;
        if (!ok)
            fprintf(stderr, "%s (kind %d, proj %d) [%zu]: analytic %.12g fd %.12g\n", o->op.name,
                    o->op.kind, o->op.is_proj, k, an, fd);
        if (fabs(fd) > 1e-6 && rel > st->max_rel) st->max_rel = rel;
        st->bad += !ok;
        st->checked++;
        st->proj_checked += o->op.is_proj;
    }
    free(w);
    free(g);
}

/* bn = 1: train-mode BN, random input; bn = 0: the Synflow copy (|params|,
 * all-ones input, c = 1 ⇒ L = R). */
static fd_stats run_case(const char *s, int bn, int res, int batch, int skip_input_grad)
{
    const int classes = 5;
    tcet_net net;
    build(&net, s, bn, classes, res, batch);
    tcet_rng r;
    tcet_rng_seed(&r, 11, TCET_STREAM_WEIGHTS, 5);
    assert_int_equal(tcet_net_init_default(&net, &r), 0);
    size_t m = (size_t)batch * classes;
    double *c = malloc(m * sizeof(double));
    if (bn) {
        test_net_randomise_bn(&net, &r);
        /* projection biases are initialised U(±1/sqrt(fan_in)) like PyTorch; keep them */
        size_t nx = (size_t)batch * 3 * (size_t)res * (size_t)res;
        float *x = malloc(nx * sizeof(float));
        for (size_t i = 0; i < nx; i++) x[i] = (float)tcet_rng_normal(&r);
        assert_int_equal(tcet_net_set_input(&net, x), 0);
        free(x);
        for (size_t i = 0; i < m; i++) c[i] = tcet_rng_normal(&r);
    } else {
        assert_int_equal(tcet_net_abs_params(&net), 0);
        assert_int_equal(tcet_net_set_input_ones(&net), 0);
        for (size_t i = 0; i < m; i++) c[i] = 1.0;
    }
    fd_stats st;
    memset(&st, 0, sizeof st);
    for (int i = 0; i < net.nops; i++) {
        if (net.ops[i].op.kind != TCET_OP_RES_END) continue;
        if (net.ops[i].op.res_has_proj) st.proj_wrappers++;
        else st.identity_wrappers++;
    }
    assert_int_equal(tcet_net_forward(&net, 1, 0), 0);
    assert_int_equal(tcet_net_set_dlogits(&net, c), 0);
    assert_int_equal(tcet_net_backward(&net, skip_input_grad), 0);
    /* gradients first (the probes re-run the forward, not the backward) */
    for (int i = 0; i < net.nops; i++) {
        tcet_net_op *o = &net.ops[i];
        if (!o->gw) continue;
        probe(&net, bn, c, o, o->w, o->gw, o->w_count, &st);
        probe(&net, bn, c, o, o->b, o->gb, o->b_count, &st);
    }
    free(c);
    tcet_net_free(&net);
    fprintf(stderr, "%s bn=%d: %d probes (%d on projections), %d proj + %d identity wrappers, "
            "max rel err %.3g (|fd| > 1e-6)\n", s, bn, st.checked, st.proj_checked, st.proj_wrappers,
            st.identity_wrappers, st.max_rel);
    return st;
}

/* KXKX: wrapper 0 projection (stride 2, 8 -> 16), wrapper 1 identity;
 * K1KXK1 (16 -> 16, stride 1): wrapper 0 projection only because it is the
 * first sub-layer, wrapper 1 identity. */
#define NET_A "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,2)SuperResK1K3K1(16,16,1,8,1)" \
              "SuperConvK1BNRELU(16,12,1,1)"
/* the first op of the network is a RES_BEGIN (its shortcut reads the input
 * image itself: projection 3 -> 8, stride 2); depthwise inner convs; each
 * block = a projection wrapper then an identity one (8 -> 8, 16 -> 16) */
#define NET_B "SuperResIDWE2K3(3,8,2,8,1)SuperResK1K5K1(8,16,2,8,1)"

static void test_train_bn_projection_and_identity(void **s)
{
    (void)s;
    fd_stats st = run_case(NET_A, 1, 8, 3, 1);
    assert_int_equal(st.bad, 0);
    assert_int_equal(st.proj_wrappers, 2);
    assert_int_equal(st.identity_wrappers, 2);
    /* 2 projections × (conv w, conv b, BN γ, BN β) × 4 elements */
    assert_int_equal(st.proj_checked, 2 * 4 * 4);
    assert_true(st.checked >= 4 * 30);
}

static void test_residual_first_op_and_depthwise(void **s)
{
    (void)s;
    for (int skip = 0; skip <= 1; skip++) {
        fd_stats st = run_case(NET_B, 1, 8, 2, skip);
        assert_int_equal(st.bad, 0);
        assert_int_equal(st.proj_wrappers, 2);
        assert_int_equal(st.identity_wrappers, 2);
    }
}

static void test_synflow_copy_without_bn(void **s)
{
    (void)s;
    fd_stats st = run_case(NET_A, 0, 8, 1, 1);
    assert_int_equal(st.bad, 0);
    /* 2 projections × (conv w, conv b) × 4: the projection BN is gone too */
    assert_int_equal(st.proj_checked, 2 * 2 * 4);
    st = run_case(NET_B, 0, 8, 1, 1);
    assert_int_equal(st.bad, 0);
    assert_int_equal(st.proj_checked, 2 * 2 * 4);
}

/* A residual plan and a plain plan alternate on one net object: the plain
 * net's backward still works after the residual one (arena reuse). */
static void test_plain_after_residual(void **s)
{
    (void)s;
    tcet_net net;
    build(&net, NET_A, 0, 5, 8, 1);
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(NET_A, &a, NULL), 0);
    assert_int_equal(tcet_net_build_arch(&net, be, &a, 0, 5, 8, TCET_F64, 1), 0);
    assert_null(net.grad_c);
    tcet_rng r;
    tcet_rng_seed(&r, 1, TCET_STREAM_WEIGHTS, 0);
    assert_int_equal(tcet_net_init_default(&net, &r), 0);
    assert_int_equal(tcet_net_set_input_ones(&net), 0);
    assert_int_equal(tcet_net_forward(&net, 1, 0), 0);
    assert_int_equal(tcet_net_dlogits_ones(&net), 0);
    assert_int_equal(tcet_net_backward(&net, 1), 0);
    tcet_net_free(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_bn_projection_and_identity),
        cmocka_unit_test(test_residual_first_op_and_depthwise),
        cmocka_unit_test(test_synflow_copy_without_bn),
        cmocka_unit_test(test_plain_after_residual),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
