/* NAS-Bench-201 space against independent expectations: the cell string <->
 * NASLib tuple mapping (the worked example of docs/nb201.md and every one of
 * the 5^6 cells), the parameter count of every architecture of NASLib's
 * table (tests/data/nb201, its `params` score x 1e6) and its FLOPs under the
 * convention documented in docs/nb201.md, the pooling divisor without
 * padding, the graph executor's backward vs central finite differences
 * (float64, train-mode BN, every operation kind, a dead branch), and the
 * all-`none` cell (a constant network). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_support.h"
#include "test_support.h"

#include "common/arch.h"
#include "common/counters.h"
#include "common/error.h"
#include "common/nb201.h"
#include "common/nb201_table.h"
#include "common/rng.h"
#include "worker/net.h"

static tcet_backend *be;
static int setup(void **s) { return test_cpu_backend(&be); }
static int teardown(void **s) { return test_cpu_backend_free(&be); }

static void test_string_tuple(void **state)
{
    const char *s = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|";
    tcet_arch a, b;
    assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
    assert_int_equal(a.grammar, TCET_GRAMMAR_NB201);
    char buf[256];
    tcet_nb201_print_tuple(&a, buf, sizeof buf);
    /* edges 0->1 conv3, 0->2 none, 0->3 skip, 1->2 pool, 1->3 conv1, 2->3 none */
    assert_string_equal(buf, "(2, 1, 0, 4, 3, 1)");
    assert_int_equal(tcet_arch_parse(buf, &b, NULL), 0);
    tcet_arch_print(&b, buf, sizeof buf);
    assert_string_equal(buf, s);
    assert_int_equal(tcet_arch_parse("  2,1,0,4,3,1 \n", &b, NULL), 0);
    assert_memory_equal(&a, &b, sizeof a);
    /* every cell round-trips through both spellings */
    for (int code = 0; code < 15625; code++) {
        tcet_arch c, d, e;
        memset(&c, 0, sizeof c);
        c.grammar = TCET_GRAMMAR_NB201;
        for (int k = 0, v = code; k < 6; k++, v /= 5) c.cell[k] = v % 5;
        tcet_arch_print(&c, buf, sizeof buf);
        assert_int_equal(tcet_arch_parse(buf, &d, NULL), 0);
        assert_memory_equal(&c, &d, sizeof c);
        tcet_nb201_print_tuple(&c, buf, sizeof buf);
        assert_int_equal(tcet_arch_parse(buf, &e, NULL), 0);
        assert_memory_equal(&c, &e, sizeof c);
    }
    tcet_parse_error err;
    assert_int_equal(tcet_arch_parse("(0, 2, 3, 2, 3, 5)", &a, &err), TCET_ERR_USAGE);
    assert_int_equal(tcet_arch_parse("(0, 2, 3, 2, 3)", &a, &err), TCET_ERR_USAGE);
    assert_int_equal(tcet_arch_parse("|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|",
                                     &a, &err), TCET_ERR_USAGE);
    assert_non_null(strstr(err.msg, "must come from node 0"));
    assert_int_equal(tcet_arch_parse("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", &a, &err), TCET_ERR_USAGE);
}

/* Exact parameter counts of every table architecture; FLOPs as NASLib
 * counts them = conv + classifier MACs + 3 per BN output + k² per pooling
 * output + 32 R + 64 (docs/nb201.md). */
static void test_counts_vs_table(void **state)
{
    const char *splits[3] = {"cifar10", "cifar100", "ImageNet16-120"};
    const int classes[3] = {10, 100, 120}, res[3] = {32, 32, 16};
    for (int s = 0; s < 3; s++) {
        tcet_nb201_table t;
        assert_int_equal(tcet_nb201_table_load(test_data_path("nb201/zc_nasbench201.json"), splits[s], &t), 0);
        assert_true(t.n >= 724);
        int kp = tcet_nb201_table_proxy(&t, "params"), kf = tcet_nb201_table_proxy(&t, "flops");
        assert_true(kp >= 0 && kf >= 0);
        int bad = 0;
        for (int i = 0; i < t.n; i++) {
            tcet_nb201_counts c;
            assert_int_equal(tcet_nb201_count(&t.rows[i].arch, classes[s], res[s], &c), 0);
            tcet_counts z;
            assert_int_equal(tcet_count(&t.rows[i].arch, 0, classes[s], res[s], &z), 0);
            double naslib_flops = (double)(c.conv_macs + c.fc_macs + 3 * c.bn_elems + c.pool_flops + 32 * res[s] + 64);
            bad += llround(t.rows[i].score[kp] * 1e6) != c.params || z.params != (double)c.params ||
                   fabs(naslib_flops * 1e-6 - t.rows[i].score[kf]) > 1e-9 * t.rows[i].score[kf];
        }
        assert_int_equal(bad, 0);
        if (s == 0) {
            /* the published example: (0, 2, 3, 2, 3, 1) has 615,386 parameters for 10 classes */
            tcet_arch a;
            assert_int_equal(tcet_arch_parse("(0, 2, 3, 2, 3, 1)", &a, NULL), 0);
            tcet_nb201_counts c;
            assert_int_equal(tcet_nb201_count(&a, 10, 32, &c), 0);
            assert_int_equal(c.params, 615386);
            assert_int_equal(c.conv_macs + c.fc_macs, 86426240);
        }
        tcet_nb201_table_free(&t);
    }
}

static void build(tcet_net *net, const char *s, int bn, int dt, int batch, int res, int classes)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
    memset(net, 0, sizeof *net);
    assert_int_equal(tcet_net_build_arch(net, be, &a, bn, classes, res, dt, batch), 0);
}

static void fd_check(const char *cell, int expect_dead)
{
    tcet_net net;
    build(&net, cell, 1, TCET_F64, 3, 8, 4);
    tcet_rng r;
    tcet_rng_seed(&r, 11, TCET_STREAM_WEIGHTS, 5);
    assert_int_equal(tcet_net_init_default(&net, &r), 0);
    test_net_randomise_bn(&net, &r);
    size_t nx = (size_t)3 * 3 * 8 * 8;
    float *x = malloc(nx * sizeof(float));
    for (size_t i = 0; i < nx; i++) x[i] = (float)tcet_rng_normal(&r);
    int32_t lab[3] = {0, 3, 1};
    double dl[12];
    assert_int_equal(tcet_net_set_input(&net, x), 0);
    assert_int_equal(tcet_net_forward(&net, 1, 0), 0);
    test_net_loss_host(&net, lab, dl);
    assert_int_equal(tcet_net_set_dlogits(&net, dl), 0);
    assert_int_equal(tcet_net_backward(&net, 1), 0);
    int checked = 0, bad = 0, dead = 0;
    for (int i = 0; i < net.nops; i++) {
        tcet_net_op *o = &net.ops[i];
        if (!o->gw) continue;
        /* finite differences on the first two cells, the first reduction and
         * the head (every op kind; the other cells repeat them) keep the test fast */
        const char *nm = o->op.name;
        int fd_here = strncmp(nm, "cells.", 6) != 0 || !strncmp(nm, "cells.0.", 8) || !strncmp(nm, "cells.1.", 8) ||
                      !strncmp(nm, "cells.5.", 8);
        size_t n = o->w_count;
        double *w = malloc(n * sizeof(double)), *g = malloc(n * sizeof(double));
        be->download(be, w, o->w, n * sizeof(double));
        be->download(be, g, o->gw, n * sizeof(double));
        double gmax = 0;
        for (size_t j = 0; j < n; j++) gmax = fmax(gmax, fabs(g[j]));
        dead += gmax == 0.0;
        size_t idx[3] = {0, n / 2, n - 1};
        for (int t = 0; t < 3 && fd_here; t++) {
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
            int ok = fabs(fd - g[idx[t]]) <= 1e-5 * fmax(1e-3, fabs(fd)) + 1e-9;
            if (!ok)
                fprintf(stderr, "%s op %d (%s) [%zu]: analytic %.10g fd %.10g\n", cell, i, o->op.name, idx[t],
                        g[idx[t]], fd);
            bad += !ok;
            checked++;
        }
        free(w);
        free(g);
    }
    assert_int_equal(bad, 0);
    assert_true(checked >= 3 * 15);
    if (expect_dead) assert_true(dead > 0);
    free(x);
    tcet_net_free(&net);
}

static void test_backward_finite_differences(void **state)
{
    /* all five operations, multi-input nodes, skip aliases */
    fd_check("(4, 2, 3, 0, 3, 2)", 0);
    /* node 1 reaches the output only through 'none': its conv gets zero gradients */
    fd_check("(2, 0, 3, 1, 1, 4)", 1);
}

/* avg_pool_3x3 divides by the positions inside the map: 4 at corners, 6 on edges, 9 inside */
static void test_pool_divisor(void **state)
{
    tcet_net net;
    build(&net, "(4, 1, 1, 1, 1, 1)", 1, TCET_F64, 1, 8, 10);
    tcet_rng r;
    tcet_rng_seed(&r, 3, TCET_STREAM_WEIGHTS, 0);
    assert_int_equal(tcet_net_init_default(&net, &r), 0);
    float x[3 * 64];
    for (int i = 0; i < 3 * 64; i++) x[i] = (float)tcet_rng_normal(&r);
    assert_int_equal(tcet_net_set_input(&net, x), 0);
    assert_int_equal(tcet_net_forward(&net, 1, 0), 0);
    int found = 0;
    for (int i = 0; i < net.nops && !found; i++) {
        tcet_net_op *o = &net.ops[i];
        if (o->op.kind != TCET_OP_AVGPOOL || o->op.count_pad) continue;
        found = 1;
        int H = o->op.hin, C = o->op.cin;
        double *in = malloc(o->in_count * sizeof(double)), *out = malloc(o->out_count * sizeof(double));
        be->download(be, in, tcet_net_op_input(&net, i), o->in_count * sizeof(double));
        be->download(be, out, o->y, o->out_count * sizeof(double));
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int xx = 0; xx < H; xx++) {
                    double s = 0;
                    int cnt = 0;
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++) {
                            int yy = y + dy, x2 = xx + dx;
                            if (yy < 0 || yy >= H || x2 < 0 || x2 >= H) continue;
                            s += in[(c * H + yy) * H + x2];
                            cnt++;
                        }
                    int corner = (y == 0 || y == H - 1) && (xx == 0 || xx == H - 1);
                    int edge = !corner && (y == 0 || y == H - 1 || xx == 0 || xx == H - 1);
                    assert_int_equal(cnt, corner ? 4 : edge ? 6 : 9);
                    assert_rel_close(out[(c * H + y) * H + xx], s / cnt, 1e-12);
                }
        free(in);
        free(out);
    }
    assert_true(found);
    tcet_net_free(&net);
}

/* Every edge 'none': the cells output zeros, the logits are the classifier
 * bias for every image; the graph runs forward and backward, gradients of
 * every cell-free layer exist and every cell has no conv at all. */
static void test_all_none(void **state)
{
    tcet_net net;
    build(&net, "(1, 1, 1, 1, 1, 1)", 1, TCET_F32, 4, 32, 10);
    assert_int_equal(net.nscored, 1 + 2 * 3 + 1); /* stem, two reductions' three convs, classifier */
    tcet_rng r;
    tcet_rng_seed(&r, 1, TCET_STREAM_WEIGHTS, 0);
    assert_int_equal(tcet_net_init_default(&net, &r), 0);
    assert_int_equal(tcet_net_set_input_ones(&net), 0);
    assert_int_equal(tcet_net_forward(&net, 1, 0), 0);
    const double *lg;
    assert_int_equal(tcet_net_download_f64(&net, net.logits, 40, &lg), 0);
    double first[10];
    memcpy(first, lg, sizeof first);
    const double *bias;
    tcet_net_op *fc = tcet_net_layer(&net, net.nscored - 1);
    double lg4[40];
    memcpy(lg4, lg, sizeof lg4);
    assert_int_equal(tcet_net_download_f64(&net, fc->b, 10, &bias), 0);
    for (int i = 0; i < 40; i++) assert_true(lg4[i] == bias[i % 10]);
    assert_int_equal(tcet_net_dlogits_ones(&net), 0);
    assert_int_equal(tcet_net_backward(&net, 1), 0);
    tcet_net_free(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_tuple),
        cmocka_unit_test(test_counts_vs_table),
        cmocka_unit_test(test_pool_divisor),
        cmocka_unit_test(test_backward_finite_differences),
        cmocka_unit_test(test_all_none),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
