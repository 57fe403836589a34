/* The network executor against independent expectations: backward vs
 * central finite differences (float64, train-mode BN, strided, depthwise),
 * the default-init distribution (§1.6), the state_dict parameter list, and
 * a residual plan's backward running (its values: test_net_residual_grad). */
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

static void build(tcet_net *net, const char *s, int bn, int classes, int res, int dt, int batch)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
    memset(net, 0, sizeof *net);
    assert_int_equal(tcet_net_build_arch(net, be, &a, bn, classes, res, dt, batch), 0);
}

static void test_backward_finite_differences(void **state)
{
    const char *s = "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE2K3(8,16,2,8,1)SuperResK1K3K1(16,16,1,8,1)"
                    "SuperConvK1BNRELU(16,24,1,1)";
    tcet_net net;
    build(&net, s, 1, 5, 16, TCET_F64, 4);
    tcet_rng r;
    tcet_rng_seed(&r, 7, TCET_STREAM_WEIGHTS, 3);
    assert_int_equal(tcet_net_init_default(&net, &r), 0);
    /* non-trivial BN affine parameters, so their gradients matter too */
    test_net_randomise_bn(&net, &r);
    size_t nx = (size_t)4 * 3 * 16 * 16;
    float *x = malloc(nx * sizeof(float));
    for (size_t i = 0; i < nx; i++) x[i] = (float)tcet_rng_normal(&r);
    int32_t lab[4] = {0, 3, 4, 1};
    assert_int_equal(tcet_net_set_input(&net, x), 0);
    double dl[20];
    assert_int_equal(tcet_net_forward(&net, 1, 0), 0);
    test_net_loss_host(&net, lab, dl);
    assert_int_equal(tcet_net_set_dlogits(&net, dl), 0);
    assert_int_equal(tcet_net_backward(&net, 1), 0);
    int checked = 0, bad = 0;
    for (int i = 0; i < net.nops; i++) {
        tcet_net_op *o = &net.ops[i];
        if (!o->gw) continue;
        size_t n = o->w_count;
        double *w = malloc(n * sizeof(double)), *g = malloc(n * sizeof(double));
        be->download(be, w, o->w, n * sizeof(double));
        be->download(be, g, o->gw, n * sizeof(double));
        size_t idx[3] = {0, n / 2, n - 1};
        for (int t = 0; t < 3; t++) {
            /* small step: batch-statistics BN puts ReLU kinks close to any point */
            double w0 = w[idx[t]], h = 1e-7;
            w[idx[t]] = w0 + h;
            be->upload(be, o->w, w, n * sizeof(double));
            tcet_net_forward(&net, 1, 0);
            double lp = test_net_loss_host(&net, lab, NULL);
            w[idx[t]] = w0 - h;
            be->upload(be, o->w, w, n * sizeof(double));
            tcet_net_forward(&net, 1, 0);
            double lm = test_net_loss_host(&net, lab, NULL);
            w[idx[t]] = w0;
            be->upload(be, o->w, w, n * sizeof(double));
            double fd = (lp - lm) / (2 * h);
            if (!(fabs(fd - g[idx[t]]) <= 1e-5 * fmax(1e-3, fabs(fd)) + 1e-9))
                fprintf(stderr, "op %d (%s) kind %d [%zu]: analytic %.10g fd %.10g\n", i, o->op.name,
                        o->op.kind, idx[t], g[idx[t]], fd);
            bad += !(fabs(fd - g[idx[t]]) <= 1e-5 * fmax(1e-3, fabs(fd)) + 1e-9);
            checked++;
        }
        free(w);
        free(g);
    }
    assert_int_equal(bad, 0);
    assert_true(checked >= 3 * 20);
    free(x);
    tcet_net_free(&net);
}

/* U(±1/sqrt(fan_in)): every value inside the bound, variance ≈ bound²/3 */
static void test_default_init(void **state)
{
    tcet_net net;
    build(&net, "SuperConvK3BNRELU(3,64,1,1)SuperConvK1BNRELU(64,128,1,1)", 1, 100, 8, TCET_F32, 1);
    tcet_rng r;
    tcet_rng_seed(&r, 1, TCET_STREAM_WEIGHTS, 0);
    assert_int_equal(tcet_net_init_default(&net, &r), 0);
    assert_int_equal(tcet_net_num_params(&net), 1 + 4 + 1 + 4 + 2);
    char name[128];
    size_t cnt;
    void *dev;
    assert_int_equal(tcet_net_param(&net, 11, &cnt, &dev, name, sizeof name), 0);
    assert_string_equal(name, "fc_linear.netblock.bias");
    assert_int_equal(cnt, 100);
    assert_int_equal(tcet_net_param(&net, 4, &cnt, &dev, name, sizeof name), 0);
    assert_string_equal(name, "module_list.0.module_list.1.netblock.running_var");
    const double fan[3] = {27, 64, 128};
    for (int l = 0; l < 3; l++) {
        tcet_net_op *o = tcet_net_layer(&net, l);
        const double *w;
        assert_int_equal(tcet_net_download_f64(&net, o->w, o->w_count, &w), 0);
        double b = 1 / sqrt(fan[l]), ss = 0;
        for (size_t j = 0; j < o->w_count; j++) {
            assert_true(fabs(w[j]) <= b);
            ss += w[j] * w[j];
        }
        assert_rel_close(ss / o->w_count, b * b / 3, 0.1);
    }
    /* BN 1/0/0/1 */
    const double *v;
    assert_int_equal(tcet_net_download_f64(&net, net.ops[1].rv, 64, &v), 0);
    for (int j = 0; j < 64; j++) assert_true(v[j] == 1.0);
    tcet_net_free(&net);
}

static void test_residual_plan_is_forward_only(void **state)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse("SuperResK3K3(3,8,2,8,1)", &a, NULL), 0);
    tcet_plan p;
    memset(&p, 0, sizeof p);
    tcet_plan_opts o = {.reslink = 1, .bn = 1, .num_classes = 10, .resolution = 8};
    assert_int_equal(tcet_plan_build(&a, &o, &p), 0);
    tcet_net net;
    memset(&net, 0, sizeof net);
    /* the residual network runs backward too (scoring no_reslink = 0 cases);
     * its gradients are checked by finite differences in test_net_residual_grad */
    assert_int_equal(tcet_net_build(&net, be, &p, TCET_F32, 2), 0);
    assert_int_equal(tcet_net_set_input_ones(&net), 0);
    assert_int_equal(tcet_net_forward(&net, 1, 0), 0);
    assert_int_equal(tcet_net_dlogits_ones(&net), 0);
    assert_int_equal(tcet_net_backward(&net, 1), 0);
    tcet_plan_free(&p);
    tcet_net_free(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backward_finite_differences),
        cmocka_unit_test(test_default_init),
        cmocka_unit_test(test_residual_plan_is_forward_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
