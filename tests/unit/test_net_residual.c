/* Forward of the residual budget network (reslink = 1, docs/semantics.md#residual-wrappers, docs/semantics.md#main-loop)
 * against an independent reference: the golden case `bottleneck` composed
 * by hand from docs/semantics.md#super-blocks, docs/semantics.md#residual-wrappers (naive loops in double, parameters fetched by
 * their PyTorch state_dict names), in eval mode with non-trivial BN running
 * statistics.  Also: zero projections / identity shortcuts give exactly
 * inner + x, and backward through residual nets runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "common/arch.h"
#include "common/error.h"
#include "common/plan.h"
#include "common/rng.h"
#include "worker/net.h"

#define BOTTLENECK "SuperConvK3BNRELU(3,16,1,1)SuperResK1K3K1(16,32,2,8,1)SuperResK1K5K1(32,48,2,16,2)" \
                   "SuperConvK1BNRELU(48,64,1,1)"

/* names are short; the check keeps -Wformat-truncation quiet and honest */
#define NM(...) assert_true(snprintf(nm, sizeof nm, __VA_ARGS__) < (int)sizeof nm)

static tcet_backend *be;
static int setup(void **s) { return test_cpu_backend(&be); }
static int teardown(void **s) { return test_cpu_backend_free(&be); }

static void build_res(tcet_net *net, const char *s, int classes, int res, int dt, int batch)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
    tcet_plan p;
    tcet_plan_opts o = {.reslink = 1, .bn = 1, .num_classes = classes, .resolution = res};
    assert_int_equal(tcet_plan_build(&a, &o, &p), 0);
    memset(net, 0, sizeof *net);
    assert_int_equal(tcet_net_build(net, be, &p, dt, batch), 0);
    tcet_plan_free(&p);
}

static void upload_f64(tcet_net *net, void *dev, const double *v, size_t n)
{
    if (net->dtype == TCET_F64) {
        assert_int_equal(be->upload(be, dev, v, n * sizeof(double)), 0);
        return;
    }
    float *f = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
    assert_int_equal(be->upload(be, dev, f, n * sizeof(float)), 0);
    free(f);
}

/* Default init, then every BN gets gamma, beta, running mean/var away from
 * 1/0/0/1 so that the eval-mode normalisation is actually exercised. */
static void init_net(tcet_net *net, uint64_t seed)
{
    tcet_rng r;
    tcet_rng_seed(&r, seed, TCET_STREAM_WEIGHTS, 1);
    assert_int_equal(tcet_net_init_default(net, &r), 0);
    for (int i = 0; i < net->nops; i++) {
        tcet_net_op *o = &net->ops[i];
        if (o->op.kind != TCET_OP_BN) continue;
        size_t c = o->w_count;
        double *h = malloc(c * sizeof(double));
        for (size_t j = 0; j < c; j++) h[j] = 0.5 + tcet_rng_uniform(&r);
        upload_f64(net, o->w, h, c);
        for (size_t j = 0; j < c; j++) h[j] = 0.2 * tcet_rng_normal(&r);
        upload_f64(net, o->b, h, c);
        for (size_t j = 0; j < c; j++) h[j] = 0.1 * tcet_rng_normal(&r);
        upload_f64(net, o->rm, h, c);
        for (size_t j = 0; j < c; j++) h[j] = 0.3 + 0.2 * tcet_rng_uniform(&r);
        upload_f64(net, o->rv, h, c);
        free(h);
    }
}

/* ---- naive host reference (double) ------------------------------------ */

typedef struct { int n, c, h; double *d; } tensor;

static tensor tnew(int n, int c, int h)
{
    tensor t = {n, c, h, calloc((size_t)n * c * h * h, sizeof(double))};
    assert_non_null(t.d);
    return t;
}
static size_t tcount(const tensor *t) { return (size_t)t->n * t->c * t->h * t->h; }

static tcet_net *ref_net; /* parameters are looked up by name in this net */

/* host copy of the state_dict entry `name` (malloc'd) */
static double *param(const char *name, size_t want)
{
    int np = tcet_net_num_params(ref_net);
    for (int i = 0; i < np; i++) {
        size_t cnt;
        void *dev;
        char nm[160];
        assert_int_equal(tcet_net_param(ref_net, i, &cnt, &dev, nm, sizeof nm), 0);
        if (strcmp(nm, name)) continue;
        if (cnt != want) fail_msg("%s: %zu elements, expected %zu", name, cnt, want);
        const double *v;
        assert_int_equal(tcet_net_download_f64(ref_net, dev, cnt, &v), 0);
        double *out = malloc(cnt * sizeof(double));
        memcpy(out, v, cnt * sizeof(double));
        return out;
    }
    fail_msg("no parameter named %s", name);
    return NULL;
}

/* Conv2d(cin, cout, k, stride, padding (k-1)/2, groups[, bias]) of module `mod`; frees x. */
static tensor conv(const char *mod, tensor x, int cout, int k, int s, int groups, int bias, int pad)
{
    int cin = x.c, cig = cin / groups, cog = cout / groups;
    int ho = (x.h + 2 * pad - k) / s + 1;
    char nm[160];
    NM("%s.weight", mod);
    double *w = param(nm, (size_t)cout * cig * k * k);
    double *b = NULL;
    if (bias) {
        NM("%s.bias", mod);
        b = param(nm, (size_t)cout);
    }
    tensor y = tnew(x.n, cout, ho);
    for (int n = 0; n < x.n; n++)
        for (int o = 0; o < cout; o++) {
            int g = o / cog;
            for (int i = 0; i < ho; i++)
                for (int j = 0; j < ho; j++) {
                    double acc = b ? b[o] : 0.0;
                    for (int ci = 0; ci < cig; ci++)
                        for (int u = 0; u < k; u++)
                            for (int v = 0; v < k; v++) {
                                int yy = i * s - pad + u, xx = j * s - pad + v;
                                if (yy < 0 || xx < 0 || yy >= x.h || xx >= x.h) continue;
                                acc += w[((size_t)o * cig + ci) * k * k + u * k + v] *
                                       x.d[(((size_t)n * cin + g * cig + ci) * x.h + yy) * x.h + xx];
                            }
                    y.d[(((size_t)n * cout + o) * ho + i) * ho + j] = acc;
                }
        }
    free(w);
    free(b);
    free(x.d);
    return y;
}

static tensor convkx(const char *mod, tensor x, int cout, int k, int s)
{
    return conv(mod, x, cout, k, s, 1, 0, (k - 1) / 2);
}

/* eval-mode BatchNorm2d (eps 1e-3, docs/semantics.md#residual-wrappers), in place */
static tensor bn(const char *mod, tensor x)
{
    char nm[160];
    size_t c = (size_t)x.c;
    NM("%s.weight", mod);
    double *g = param(nm, c);
    NM("%s.bias", mod);
    double *b = param(nm, c);
    NM("%s.running_mean", mod);
    double *m = param(nm, c);
    NM("%s.running_var", mod);
    double *v = param(nm, c);
    size_t hw = (size_t)x.h * x.h;
    for (int n = 0; n < x.n; n++)
        for (int ch = 0; ch < x.c; ch++)
            for (size_t p = 0; p < hw; p++) {
                double *e = &x.d[((size_t)n * x.c + ch) * hw + p];
                *e = (*e - m[ch]) / sqrt(v[ch] + 1e-3) * g[ch] + b[ch];
            }
    free(g);
    free(b);
    free(m);
    free(v);
    return x;
}

static tensor relu(tensor x)
{
    for (size_t i = 0; i < tcount(&x); i++) x.d[i] = x.d[i] > 0 ? x.d[i] : 0.0;
    return x;
}

static tensor tcopy(const tensor *x)
{
    tensor y = tnew(x->n, x->c, x->h);
    memcpy(y.d, x->d, tcount(x) * sizeof(double));
    return y;
}

/* One bottleneck block (docs/semantics.md#super-blocks A/B) wrapped at `base` = "module_list.b.module_list.j":
 * relu(inner(x) + shortcut(x)), shortcut = proj (conv1x1 with bias + BN) or x. Frees x. */
static tensor bottleneck(const char *base, tensor x, int btl, int out, int k, int s, int proj)
{
    char nm[160];
    tensor t = tcopy(&x);
    NM("%s.module_list.0.netblock", base);
    t = convkx(nm, t, btl, 1, 1);
    NM("%s.module_list.1.netblock", base);
    t = relu(bn(nm, t));
    NM("%s.module_list.3.netblock", base);
    t = convkx(nm, t, btl, k, s);
    NM("%s.module_list.4.netblock", base);
    t = relu(bn(nm, t));
    NM("%s.module_list.6.netblock", base);
    t = convkx(nm, t, out, 1, 1);
    NM("%s.module_list.7.netblock", base);
    t = bn(nm, t);
    tensor sc;
    if (proj) {
        NM("%s.proj.0", base);
        sc = conv(nm, x, out, 1, s, 1, 1, 0);
        NM("%s.proj.1", base);
        sc = bn(nm, sc);
    } else {
        sc = x;
    }
    assert_int_equal(sc.c, t.c);
    assert_int_equal(sc.h, t.h);
    for (size_t i = 0; i < tcount(&t); i++) t.d[i] += sc.d[i];
    free(sc.d);
    return relu(t);
}

/* Logits of the golden `bottleneck` structure with reslink, composed by hand. */
static double *reference_bottleneck(tcet_net *net, const double *xin, int N, int R, int classes)
{
    ref_net = net;
    tensor x = tnew(N, 3, R);
    memcpy(x.d, xin, tcount(&x) * sizeof(double));
    /* SuperConvK3BNRELU(3,16,1,1) */
    x = relu(bn("module_list.0.module_list.1.netblock", convkx("module_list.0.module_list.0.netblock", x, 16, 3, 1)));
    /* SuperResK1K3K1(16,32,2,8,1): A (ResBlockProj, stride 2), B (identity) */
    x = bottleneck("module_list.1.module_list.0", x, 8, 32, 3, 2, 1);
    x = bottleneck("module_list.1.module_list.2", x, 8, 32, 3, 1, 0);
    /* SuperResK1K5K1(32,48,2,16,2): layer 0 A (proj), B; layer 1 A, B (identity) */
    x = bottleneck("module_list.2.module_list.0", x, 16, 48, 5, 2, 1);
    x = bottleneck("module_list.2.module_list.2", x, 16, 48, 5, 1, 0);
    x = bottleneck("module_list.2.module_list.4", x, 16, 48, 5, 1, 0);
    x = bottleneck("module_list.2.module_list.6", x, 16, 48, 5, 1, 0);
    /* SuperConvK1BNRELU(48,64,1,1) */
    x = relu(bn("module_list.3.module_list.1.netblock", convkx("module_list.3.module_list.0.netblock", x, 64, 1, 1)));
    /* gap + fc */
    double *w = param("fc_linear.netblock.weight", (size_t)classes * 64);
    double *b = param("fc_linear.netblock.bias", (size_t)classes);
    double *logits = malloc((size_t)N * classes * sizeof(double));
    size_t hw = (size_t)x.h * x.h;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < classes; k++) {
            double acc = b[k];
            for (int c = 0; c < 64; c++) {
                double s = 0;
                for (size_t p = 0; p < hw; p++) s += x.d[((size_t)n * 64 + c) * hw + p];
                acc += w[(size_t)k * 64 + c] * (s / (double)hw);
            }
            logits[n * classes + k] = acc;
        }
    free(w);
    free(b);
    free(x.d);
    return logits;
}

static void check_bottleneck(int dt, double tol)
{
    const int N = 2, R = 16, C = 10;
    tcet_net net;
    build_res(&net, BOTTLENECK, C, R, dt, N);
    /* golden README: 23 scored layers including the projection convs */
    assert_int_equal(net.nscored, 23);
    int found = -1;
    for (int l = 0; l < net.nscored; l++)
        if (strcmp(tcet_net_layer(&net, l)->op.name, "module_list.1.module_list.0.proj.0") == 0) found = l;
    /* conv0, A's three convs, then the projection: layerwise index 4 */
    assert_int_equal(found, 4);
    init_net(&net, 11);
    tcet_rng r;
    tcet_rng_seed(&r, 5, TCET_STREAM_AUX, 0);
    size_t nx = (size_t)N * 3 * R * R;
    float *xf = malloc(nx * sizeof(float));
    double *xd = malloc(nx * sizeof(double));
    for (size_t i = 0; i < nx; i++) xd[i] = xf[i] = (float)tcet_rng_normal(&r);
    assert_int_equal(tcet_net_set_input(&net, xf), 0);
    assert_int_equal(tcet_net_forward(&net, 0, 0), 0);
    double *ref = reference_bottleneck(&net, xd, N, R, C);
    const double *got;
    assert_int_equal(tcet_net_download_f64(&net, net.logits, (size_t)N * C, &got), 0);
    double scale = 0, maxerr = 0;
    for (int i = 0; i < N * C; i++) {
        scale = fmax(scale, fabs(ref[i]));
        maxerr = fmax(maxerr, fabs(got[i] - ref[i]));
    }
    printf("bottleneck reslink eval forward (%s): max |logit| %.4g, max err %.3g\n",
           dt == TCET_F64 ? "f64" : "f32", scale, maxerr);
    assert_true(scale > 1e-3);
    assert_true(maxerr <= tol * scale);
    free(ref);
    free(xf);
    free(xd);
    tcet_net_free(&net);
}

static void test_bottleneck_f64(void **s) { (void)s; check_bottleneck(TCET_F64, 1e-11); }
static void test_bottleneck_f32(void **s) { (void)s; check_bottleneck(TCET_F32, 1e-4); }

/* With projection convs zeroed (weights and bias; default BN 1/0/0/1 maps 0
 * to 0), every residual sum must equal inner + x (identity shortcut) or the
 * inner output alone (projection shortcut).  KXKX layer 1 has identity
 * shortcuts; the IDW block (btl 24 != out 16) has projections everywhere. */
static void test_zero_projection_and_identity(void **s)
{
    (void)s;
    const int N = 2, R = 12;
    tcet_net net;
    build_res(&net, "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,2)SuperResIDWE2K3(16,16,1,24,2)"
                    "SuperConvK1BNRELU(16,32,1,1)", 10, R, TCET_F64, N);
    tcet_rng r;
    tcet_rng_seed(&r, 3, TCET_STREAM_WEIGHTS, 0);
    assert_int_equal(tcet_net_init_default(&net, &r), 0);
    for (int i = 0; i < net.nops; i++) {
        tcet_net_op *o = &net.ops[i];
        if (o->op.kind == TCET_OP_CONV && o->op.is_proj) {
            assert_int_equal(be->zero(be, o->w, o->w_count * sizeof(double)), 0);
            assert_int_equal(be->zero(be, o->b, o->b_count * sizeof(double)), 0);
        }
    }
    size_t nx = (size_t)N * 3 * R * R;
    float *xf = malloc(nx * sizeof(float));
    for (size_t i = 0; i < nx; i++) xf[i] = (float)tcet_rng_normal(&r);
    assert_int_equal(tcet_net_set_input(&net, xf), 0);
    assert_int_equal(tcet_net_forward(&net, 0, 0), 0);
    int identities = 0, projections = 0;
    for (int i = 0; i < net.nops; i++) {
        if (net.ops[i].op.kind != TCET_OP_RES_BEGIN) continue;
        int e = i + 1, first_proj = -1;
        while (net.ops[e].op.kind != TCET_OP_RES_END) {
            if (net.ops[e].op.is_proj && first_proj < 0) first_proj = e;
            e++;
        }
        int inner_last = first_proj >= 0 ? first_proj - 1 : e - 1;
        size_t cnt = net.ops[e].out_count;
        assert_int_equal(net.ops[inner_last].out_count, cnt);
        double *x = NULL, *inner = malloc(cnt * sizeof(double));
        const double *v;
        assert_int_equal(tcet_net_download_f64(&net, net.ops[inner_last].y, cnt, &v), 0);
        memcpy(inner, v, cnt * sizeof(double));
        if (first_proj < 0) {
            assert_int_equal(net.ops[i].in_count, cnt);
            x = malloc(cnt * sizeof(double));
            const void *xin = i ? net.ops[i - 1].y : net.x;
            assert_int_equal(tcet_net_download_f64(&net, xin, cnt, &v), 0);
            memcpy(x, v, cnt * sizeof(double));
            identities++;
        } else {
            projections++;
        }
        assert_int_equal(tcet_net_download_f64(&net, net.ops[e].y, cnt, &v), 0);
        double nz = 0;
        for (size_t j = 0; j < cnt; j++) {
            double want = inner[j] + (x ? x[j] : 0.0);
            assert_true(fabs(v[j] - want) <= 1e-14 * (1 + fabs(want)));
            nz += fabs(x ? x[j] : inner[j]);
        }
        assert_true(nz > 0);  /* the check is not vacuous */
        /* the RELU that follows RES_END is applied to the sum */
        assert_int_equal(net.ops[e + 1].op.kind, TCET_OP_RELU);
        const double *y2;
        double *sum = malloc(cnt * sizeof(double));
        memcpy(sum, v, cnt * sizeof(double));
        assert_int_equal(tcet_net_download_f64(&net, net.ops[e + 1].y, cnt, &y2), 0);
        for (size_t j = 0; j < cnt; j++) assert_true(y2[j] == (sum[j] > 0 ? sum[j] : 0.0));
        free(sum);
        free(inner);
        free(x);
    }
    /* KXKX: layer 0 proj, layer 1 identity; IDW: 4 wrappers all with projection */
    assert_int_equal(identities, 1);
    assert_int_equal(projections, 5);
    free(xf);
    tcet_net_free(&net);
}

static void test_backward_runs(void **s)
{
    (void)s;
    tcet_net net;
    build_res(&net, "SuperResK3K3(3,8,2,8,1)", 10, 8, TCET_F32, 2);
    tcet_rng r;
    tcet_rng_seed(&r, 1, TCET_STREAM_WEIGHTS, 0);
    assert_int_equal(tcet_net_init_default(&net, &r), 0);
    assert_int_equal(tcet_net_set_input_ones(&net), 0);
    assert_int_equal(tcet_net_forward(&net, 1, 0), 0);
    assert_int_equal(tcet_net_dlogits_ones(&net), 0);
    /* backward through residual nets is supported now (finite differences:
     * test_net_residual_grad) */
    assert_int_equal(tcet_net_backward(&net, 1), 0);
    tcet_net_free(&net);
}

/* The same net object alternates between residual and plain plans (the
 * latency net and a scoring net may share a worker's arena discipline). */
static void test_rebuild_plain_after_residual(void **s)
{
    (void)s;
    tcet_net net;
    build_res(&net, BOTTLENECK, 10, 16, TCET_F32, 2);
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(BOTTLENECK, &a, NULL), 0);
    assert_int_equal(tcet_net_build_arch(&net, be, &a, 1, 10, 16, TCET_F32, 2), 0);
    /* scoring network without projections: golden README L = 21 (1 + 6 + 12 + 1 + FC) */
    assert_int_equal(net.nscored, 21);
    tcet_net_free(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bottleneck_f64),
        cmocka_unit_test(test_bottleneck_f32),
        cmocka_unit_test(test_zero_projection_and_identity),
        cmocka_unit_test(test_backward_runs),
        cmocka_unit_test(test_rebuild_plain_after_residual),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
