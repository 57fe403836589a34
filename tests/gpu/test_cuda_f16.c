/* fp16 eval-mode forward on the CUDA backend (the latency filter's network,
 * docs/semantics.md#main-loop, docs/semantics.md#latency-measurement) against the CPU backend in float32.
 *
 * Every input, weight and statistic is a half value (drawn in float, rounded
 * to half on the host), so both backends see the same numbers and the only
 * differences are the fp16 outputs' rounding and float summation order:
 *   - ReLU: exact; add, BN eval, GAP: max|gpu - cpu| / max|cpu| < 2e-3
 *     (one rounding to half: 2^-11 relative);
 *   - conv (k 1/3/5/7, stride 1/2, depthwise, grouped, with/without bias) and
 *     linear (K up to 1024): < 1e-2 (tensor cores with float accumulation);
 *   - the ZenNet-1M budget network (reslink = 1, BN with random statistics),
 *     whole eval forward: logits and the last feature map < 2e-2 relative to
 *     their max |value|, and two fp16 forwards are bit-identical;
 *   - the backward ops, train-mode BN and the proxy reductions refuse fp16
 *     with TCET_ERR_BACKEND;
 *   - tcet_measure_latency picks fp16 on the GPU and gives a positive time
 *     (printed next to the float32 one).
 * Skipped (77) without CUDA in the build or without a usable GPU.
 *
 * `test_cuda_f16 --latency STRUCTURE BATCH RES REPEATS` prints the latency
 * filter's numbers (median of REPEATS measurements) for tests/gpu/run.sh:
 *   LATENCY <backend> <dtype> <us per image> <ms per forward> */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arch.h"
#include "common/error.h"
#include "common/half.h"
#include "common/rng.h"
#include "kernels/backend.h"
#include "worker/latency.h"
#include "worker/net.h"

#ifdef TCET_HAVE_CUDA
#include "kernels/cuda/backend_cuda.h"

#define ZENNET_1M                                                                              \
    "SuperConvK3BNRELU(3,88,1,1)SuperResK1K7K1(88,120,1,16,1)SuperResK1K7K1(120,192,2,16,3)"   \
    "SuperResK1K5K1(192,224,1,24,4)SuperResK1K5K1(224,96,2,24,2)SuperResK1K3K1(96,168,2,40,3)" \
    "SuperResK1K3K1(168,112,1,48,3)SuperConvK1BNRELU(112,512,1,1)"

static tcet_backend *g_cpu, *g_gpu;
static tcet_rng g_rng;

/* ---- tensors: half values, float32 copy on the CPU, half copy on the GPU ---- */

typedef struct {
    size_t count;
    float *host;       /* the half values as floats */
    float *cpu;        /* CPU backend, float32 */
    void *gpu;         /* GPU, TCET_F16 (+ 1 spare element for misaligned views) */
} ht;

static void ht_upload(ht *t)
{
    uint16_t *h = malloc((t->count + 1) * sizeof *h);
    assert_non_null(h);
    tcet_half_from_floats(h, t->host, t->count);
    assert_int_equal(g_cpu->upload(g_cpu, t->cpu, t->host, t->count * sizeof(float)), 0);
    assert_int_equal(g_gpu->upload(g_gpu, t->gpu, h, t->count * sizeof(uint16_t)), 0);
    free(h);
}

/* Uniform in [lo, hi) rounded to half; a few exact zeros. */
static ht ht_rand(size_t count, double lo, double hi)
{
    ht t = {count, malloc((count + 1) * sizeof(float)), NULL, NULL};
    assert_non_null(t.host);
    for (size_t i = 0; i < count; i++) {
        float v = (float)(lo + (hi - lo) * tcet_rng_uniform(&g_rng));
        if (tcet_rng_below(&g_rng, 50) == 0) v = 0.0f;
        t.host[i] = tcet_half_to_float(tcet_half_from_float(v));
    }
    t.cpu = g_cpu->alloc(g_cpu, (count + 1) * sizeof(float));
    t.gpu = g_gpu->alloc(g_gpu, (count + 1) * sizeof(uint16_t));
    assert_non_null(t.cpu);
    assert_non_null(t.gpu);
    ht_upload(&t);
    return t;
}

static ht ht_const(size_t count, float v)
{
    ht t = ht_rand(count, 0, 1);
    for (size_t i = 0; i < count; i++) t.host[i] = v;
    ht_upload(&t);
    return t;
}

static void ht_free(ht *t)
{
    g_cpu->release(g_cpu, t->cpu);
    g_gpu->release(g_gpu, t->gpu);
    free(t->host);
    memset(t, 0, sizeof *t);
}

/* max |gpu - cpu| / max |cpu| over count elements from element `off` (the
 * GPU result in half, the CPU one in float); infinite when anything is not
 * finite. */
static double ht_err_at(const ht *t, size_t off, size_t count, const char *what, double tol)
{
    float *a = malloc((count + 1) * sizeof(float));
    uint16_t *b = malloc((count + 1) * sizeof(uint16_t));
    assert_int_equal(g_cpu->download(g_cpu, a, t->cpu + off, count * sizeof(float)), 0);
    assert_int_equal(g_gpu->download(g_gpu, b, (uint16_t *)t->gpu + off, count * sizeof(uint16_t)), 0);
    double num = 0, den = 0;
    int finite = 1;
    for (size_t i = 0; i < count; i++) {
        double r = a[i], g = tcet_half_to_float(b[i]);
        if (!isfinite(r) || !isfinite(g)) finite = 0;
        if (fabs(g - r) > num) num = fabs(g - r);
        if (fabs(r) > den) den = fabs(r);
    }
    free(a);
    free(b);
    double e = finite ? num / (den > 0 ? den : 1.0) : INFINITY;
    print_message("%-44s rel err %.2e (bound %.0e)\n", what, e, tol);
    return e;
}

#define EXPECT_F16(t, what, tol) assert_true(ht_err_at(&(t), 0, (t).count, (what), (tol)) < (tol))

/* ---- convolution ------------------------------------------------------------ */

typedef struct { int n, cin, cout, k, stride, groups, h; } conv_case;

/* as tests/gpu/test_cuda_ops.c, plus a ZenNet-1M-like k7 layer (K = 784) */
static const conv_case k_conv_cases[] = {
    {4, 3, 16, 3, 1, 1, 32},  {4, 16, 24, 1, 1, 1, 16}, {4, 16, 16, 5, 2, 1, 16},
    {3, 8, 12, 7, 1, 1, 8},   {4, 24, 24, 3, 2, 24, 16}, {2, 32, 32, 7, 1, 32, 8},
    {2, 16, 32, 3, 1, 4, 8},  {2, 48, 8, 1, 2, 1, 8},   {8, 16, 16, 7, 1, 1, 16},
    {8, 120, 192, 1, 2, 1, 16},
};

static tcet_conv_desc desc_of(const conv_case *c)
{
    tcet_conv_desc d = {c->n, c->cin, c->cout, c->k, c->stride, (c->k - 1) / 2, c->groups,
                        c->h, c->h, 0, 0};
    d.ho = (d.h + 2 * d.pad - d.k) / d.stride + 1;
    d.wo = (d.w + 2 * d.pad - d.k) / d.stride + 1;
    return d;
}

static void conv_f16_matches_cpu(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_conv_cases / sizeof *k_conv_cases; i++)
        for (int with_bias = 0; with_bias <= 1; with_bias++) {
            tcet_conv_desc d = desc_of(&k_conv_cases[i]);
            size_t nx = (size_t)d.n * d.cin * d.h * d.w, ny = (size_t)d.n * d.cout * d.ho * d.wo;
            size_t nw = (size_t)d.cout * (d.cin / d.groups) * d.k * d.k;
            double bound = 1.0 / sqrt((double)(d.cin / d.groups) * d.k * d.k);
            ht x = ht_rand(nx, -1, 1), w = ht_rand(nw, -bound, bound);
            ht b = ht_rand((size_t)d.cout, -bound, bound), y = ht_const(ny, 0);
            assert_int_equal(g_cpu->conv_fwd(g_cpu, TCET_F32, &d, x.cpu, w.cpu,
                                             with_bias ? b.cpu : NULL, y.cpu), 0);
            int rc = g_gpu->conv_fwd(g_gpu, TCET_F16, &d, x.gpu, w.gpu, with_bias ? b.gpu : NULL, y.gpu);
            if (rc) tcet_error_print();
            assert_int_equal(rc, 0);
            char what[128];
            snprintf(what, sizeof what, "conv fp16 n%d %d->%d k%d s%d g%d %dx%d%s", d.n, d.cin,
                     d.cout, d.k, d.stride, d.groups, d.h, d.w, with_bias ? " +bias" : "");
            EXPECT_F16(y, what, 1e-2);
            ht_free(&x);
            ht_free(&w);
            ht_free(&b);
            ht_free(&y);
        }
}

/* ---- batch norm (eval), ReLU, add, GAP, linear ----------------------------------- */

static void bn_eval_f16_matches_cpu(void **state)
{
    (void)state;
    const int shapes[][3] = {{4, 16, 256}, {8, 24, 64}, {3, 5, 7}, {64, 8, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int n = shapes[s][0], c = shapes[s][1], hw = shapes[s][2];
        size_t cnt = (size_t)n * c * hw;
        ht x = ht_rand(cnt, -2, 3), g = ht_rand((size_t)c, 0.5, 1.5), b = ht_rand((size_t)c, -1, 1);
        ht rm = ht_rand((size_t)c, -0.5, 0.5), rv = ht_rand((size_t)c, 0.5, 2), y = ht_const(cnt, 0);
        assert_int_equal(g_cpu->bn_fwd(g_cpu, TCET_F32, 0, n, c, hw, 1e-3, 0.1, x.cpu, g.cpu, b.cpu,
                                       rm.cpu, rv.cpu, 0, y.cpu, NULL, NULL), 0);
        assert_int_equal(g_gpu->bn_fwd(g_gpu, TCET_F16, 0, n, c, hw, 1e-3, 0.1, x.gpu, g.gpu, b.gpu,
                                       rm.gpu, rv.gpu, 0, y.gpu, NULL, NULL), 0);
        char what[96];
        snprintf(what, sizeof what, "bn eval fp16 %dx%dx%d", n, c, hw);
        EXPECT_F16(y, what, 2e-3);
        ht *all[] = {&x, &g, &b, &rm, &rv, &y};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) ht_free(all[i]);
    }
}

/* ReLU and add on an even count (the __half2 path), an odd count (its tail)
 * and views one element in (2-byte aligned: the scalar path). */
static void elementwise_f16_matches_cpu(void **state)
{
    (void)state;
    const size_t counts[] = {8 * 24 * 49, 4099, 1};
    for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++)
        for (size_t off = 0; off <= 1; off++) {
            size_t cnt = counts[ci];
            ht a = ht_rand(cnt + 1, -3, 3), b = ht_rand(cnt + 1, -3, 3);
            ht y = ht_const(cnt + 1, 0), s = ht_const(cnt + 1, 0);
            uint16_t *ag = a.gpu, *bg = b.gpu, *yg = y.gpu, *sg = s.gpu;
            assert_int_equal(g_cpu->relu_fwd(g_cpu, TCET_F32, cnt, a.cpu + off, y.cpu + off), 0);
            assert_int_equal(g_gpu->relu_fwd(g_gpu, TCET_F16, cnt, ag + off, yg + off), 0);
            assert_int_equal(g_cpu->add(g_cpu, TCET_F32, cnt, a.cpu + off, b.cpu + off, s.cpu + off), 0);
            assert_int_equal(g_gpu->add(g_gpu, TCET_F16, cnt, ag + off, bg + off, sg + off), 0);
            char what[96];
            snprintf(what, sizeof what, "relu fp16 count %zu offset %zu", cnt, off);
            assert_true(ht_err_at(&y, off, cnt, what, 0) == 0.0);   /* exact */
            snprintf(what, sizeof what, "add fp16 count %zu offset %zu", cnt, off);
            assert_true(ht_err_at(&s, off, cnt, what, 2e-3) < 2e-3);
            /* the element before the view was not written */
            if (off) assert_true(ht_err_at(&y, 0, 1, "relu fp16: element before the view", 0) == 0.0);
            ht_free(&a);
            ht_free(&b);
            ht_free(&y);
            ht_free(&s);
        }
}

static void gap_f16_matches_cpu(void **state)
{
    (void)state;
    const int shapes[][3] = {{8, 24, 49}, {64, 512, 16}, {2, 3, 1024}, {4, 7, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int n = shapes[s][0], c = shapes[s][1], hw = shapes[s][2];
        ht x = ht_rand((size_t)n * c * hw, -1, 2), p = ht_const((size_t)n * c, 0);
        assert_int_equal(g_cpu->gap_fwd(g_cpu, TCET_F32, n, c, hw, x.cpu, p.cpu), 0);
        assert_int_equal(g_gpu->gap_fwd(g_gpu, TCET_F16, n, c, hw, x.gpu, p.gpu), 0);
        char what[96];
        snprintf(what, sizeof what, "gap fp16 %dx%dx%d", n, c, hw);
        EXPECT_F16(p, what, 2e-3);
        ht_free(&x);
        ht_free(&p);
    }
}

static void linear_f16_matches_cpu(void **state)
{
    (void)state;
    const int shapes[][3] = {{64, 512, 10}, {64, 1024, 1000}, {7, 88, 13}, {1, 16, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int with_bias = 0; with_bias <= 1; with_bias++) {
            int n = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
            double bound = 1.0 / sqrt((double)in);
            ht x = ht_rand((size_t)n * in, -1, 1), w = ht_rand((size_t)out * in, -bound, bound);
            ht b = ht_rand((size_t)out, -bound, bound), y = ht_const((size_t)n * out, 0);
            assert_int_equal(g_cpu->linear_fwd(g_cpu, TCET_F32, n, in, out, x.cpu, w.cpu,
                                               with_bias ? b.cpu : NULL, y.cpu), 0);
            int rc = g_gpu->linear_fwd(g_gpu, TCET_F16, n, in, out, x.gpu, w.gpu,
                                       with_bias ? b.gpu : NULL, y.gpu);
            if (rc) tcet_error_print();
            assert_int_equal(rc, 0);
            char what[96];
            snprintf(what, sizeof what, "linear fp16 n%d %d->%d%s", n, in, out, with_bias ? " +bias" : "");
            EXPECT_F16(y, what, 1e-2);
            ht_free(&x);
            ht_free(&w);
            ht_free(&b);
            ht_free(&y);
        }
}

/* ---- refusals ------------------------------------------------------------------ */

static void expect_refused(int rc, const char *op)
{
    if (rc != TCET_ERR_BACKEND) fprintf(stderr, "%s: rc %d (%s)\n", op, rc, tcet_error_message());
    assert_int_equal(rc, TCET_ERR_BACKEND);
    assert_non_null(strstr(tcet_error_message(), "fp16"));
    tcet_error_clear();
}

static void non_forward_ops_refuse_f16(void **state)
{
    (void)state;
    assert_int_equal(g_gpu->has_f16, 1);
    conv_case cc = {2, 4, 4, 3, 1, 1, 8};
    tcet_conv_desc d = desc_of(&cc);
    ht a = ht_rand(1024, -1, 1), b = ht_rand(1024, 0.5, 1), c = ht_const(1024, 0);
    ht m = ht_const(1024, 0), v = ht_const(1024, 1);
    double sum = 0, std = 0;
    const int dt = TCET_F16;
    expect_refused(g_gpu->conv_bwd_data(g_gpu, dt, &d, b.gpu, a.gpu, c.gpu), "conv_bwd_data");
    expect_refused(g_gpu->conv_bwd_filter(g_gpu, dt, &d, a.gpu, a.gpu, c.gpu, NULL), "conv_bwd_filter");
    expect_refused(g_gpu->bn_fwd(g_gpu, dt, 1, 2, 4, 64, 1e-3, 0.1, a.gpu, b.gpu, b.gpu, m.gpu, v.gpu,
                                 1, c.gpu, m.gpu, v.gpu), "bn_fwd train");
    expect_refused(g_gpu->bn_bwd(g_gpu, dt, 2, 4, 64, a.gpu, a.gpu, b.gpu, m.gpu, v.gpu, c.gpu, m.gpu,
                                 v.gpu), "bn_bwd");
    expect_refused(g_gpu->relu_bwd(g_gpu, dt, 512, a.gpu, a.gpu, c.gpu), "relu_bwd");
    expect_refused(g_gpu->gap_bwd(g_gpu, dt, 2, 4, 64, a.gpu, c.gpu), "gap_bwd");
    expect_refused(g_gpu->linear_bwd(g_gpu, dt, 2, 16, 4, a.gpu, b.gpu, a.gpu, c.gpu, c.gpu, NULL),
                   "linear_bwd");
    expect_refused(g_gpu->saliency_stats(g_gpu, dt, 512, a.gpu, b.gpu, &sum, &std), "saliency_stats");
    /* nothing was written */
    assert_true(ht_err_at(&c, 0, c.count, "output of the refused ops (zeros)", 0) == 0.0);
    ht *all[] = {&a, &b, &c, &m, &v};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ht_free(all[i]);
}

/* ---- the whole budget network ------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* max |g - r| / max |r| of a tensor of the fp16 GPU net vs the float32 CPU net */
static double net_err(tcet_net *gpu, const void *gdev, tcet_net *cpu, const void *cdev, size_t count)
{
    const double *v;
    assert_int_equal(tcet_net_download_f64(cpu, cdev, count, &v), 0);
    double *r = malloc(count * sizeof(double));
    memcpy(r, v, count * sizeof(double));
    assert_int_equal(tcet_net_download_f64(gpu, gdev, count, &v), 0);
    double num = 0, den = 0;
    int finite = 1;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(r[i]) || !isfinite(v[i])) finite = 0;
        if (fabs(v[i] - r[i]) > num) num = fabs(v[i] - r[i]);
        if (fabs(r[i]) > den) den = fabs(r[i]);
    }
    free(r);
    return finite ? num / (den > 0 ? den : 1.0) : INFINITY;
}

static void zennet_eval_forward_f16_matches_cpu(void **state)
{
    (void)state;
    const int batch = 8, res = 32, classes = 10;
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(ZENNET_1M, &a, NULL), 0);
    tcet_net c, g;
    memset(&c, 0, sizeof c);
    memset(&g, 0, sizeof g);
    assert_int_equal(tcet_net_build_arch_res(&c, g_cpu, &a, 1, 1, classes, res, TCET_F32, batch), 0);
    int rc = tcet_net_build_arch_res(&g, g_gpu, &a, 1, 1, classes, res, TCET_F16, batch);
    if (rc) tcet_error_print();
    assert_int_equal(rc, 0);

    /* parameters: PyTorch default init, BN with non-trivial statistics,
     * everything rounded to half, loaded into both nets */
    tcet_rng r;
    tcet_rng_seed(&r, 11, TCET_STREAM_AUX, 0);
    assert_int_equal(tcet_net_init_default(&c, &r), 0);
    int np = tcet_net_num_params(&c);
    float **arr = calloc((size_t)np, sizeof *arr);
    size_t *cnt = calloc((size_t)np, sizeof *cnt);
    char **names = calloc((size_t)np, sizeof *names);
    for (int i = 0; i < np; i++) {
        void *dev;
        char name[128];
        assert_int_equal(tcet_net_param(&c, i, &cnt[i], &dev, name, sizeof name), 0);
        names[i] = xstrdup(name);
        const double *v;
        assert_int_equal(tcet_net_download_f64(&c, dev, cnt[i], &v), 0);
        arr[i] = malloc(cnt[i] * sizeof(float));
        for (size_t j = 0; j < cnt[i]; j++) arr[i][j] = (float)v[j];
    }
    for (int i = 0; i < np; i++) {
        /* a BN's weight and bias are followed by its running_mean */
        int bn_w = i + 2 < np && ends_with(names[i + 2], ".running_mean");
        int bn_b = i + 1 < np && ends_with(names[i + 1], ".running_mean");
        for (size_t j = 0; j < cnt[i]; j++) {
            double lo = 0, hi = 0;
            if (ends_with(names[i], ".running_mean")) lo = -0.2, hi = 0.2;
            else if (ends_with(names[i], ".running_var")) lo = 0.5, hi = 2.0;
            else if (bn_w) lo = 0.5, hi = 1.5;
            else if (bn_b) lo = -0.2, hi = 0.2;
            if (hi > lo) arr[i][j] = (float)(lo + (hi - lo) * tcet_rng_uniform(&r));
            arr[i][j] = tcet_half_to_float(tcet_half_from_float(arr[i][j]));
        }
    }
    assert_int_equal(tcet_net_load_params(&c, np, (const float *const *)arr, cnt), 0);
    assert_int_equal(tcet_net_load_params(&g, np, (const float *const *)arr, cnt), 0);

    size_t nx = (size_t)batch * 3 * res * res;
    float *x = malloc(nx * sizeof(float));
    for (size_t i = 0; i < nx; i++) x[i] = tcet_half_to_float(tcet_half_from_float((float)tcet_rng_normal(&r)));
    assert_int_equal(tcet_net_set_input(&c, x), 0);
    assert_int_equal(tcet_net_set_input(&g, x), 0);

    assert_int_equal(tcet_net_forward(&c, 0, 0), 0);
    rc = tcet_net_forward(&g, 0, 0);
    if (rc) tcet_error_print();
    assert_int_equal(rc, 0);
    size_t nl = (size_t)batch * classes;
    const tcet_net_op *fc = &c.ops[c.feature_op], *fg = &g.ops[g.feature_op];
    double e_feat = net_err(&g, fg->y, &c, fc->y, fc->out_count);
    double e_log = net_err(&g, g.logits, &c, c.logits, nl);
    print_message("ZenNet-1M budget net, batch %d: fp16 GPU vs fp32 CPU, features rel err %.2e, "
                  "logits rel err %.2e (bound 2e-2)\n", batch, e_feat, e_log);
    assert_true(e_feat < 2e-2);
    assert_true(e_log < 2e-2);

    /* deterministic: a second fp16 forward gives the same bits */
    const double *v;
    assert_int_equal(tcet_net_download_f64(&g, g.logits, nl, &v), 0);
    double *first = malloc(nl * sizeof(double));
    memcpy(first, v, nl * sizeof(double));
    assert_int_equal(tcet_net_forward(&g, 0, 0), 0);
    assert_int_equal(tcet_net_download_f64(&g, g.logits, nl, &v), 0);
    assert_memory_equal(first, v, nl * sizeof(double));
    free(first);

    /* forward only */
    assert_int_equal(tcet_net_forward(&g, 1, 0), TCET_ERR_USAGE);
    tcet_error_clear();
    assert_int_equal(tcet_net_backward(&g, 1), TCET_ERR_USAGE);
    tcet_error_clear();

    for (int i = 0; i < np; i++) {
        free(arr[i]);
        free(names[i]);
    }
    free(arr);
    free(cnt);
    free(names);
    free(x);
    tcet_net_free(&c);
    tcet_net_free(&g);
}

/* ---- latency ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of `repeats` tcet_measure_latency calls; *dtype = the net's dtype.
 * force_f32 hides the backend's fp16 for the float32 comparison. */
static int latency_median(tcet_backend *be, const char *structure, int batch, int res, int repeats,
                          int force_f32, double *median, int *dtype)
{
    tcet_arch a;
    if (tcet_arch_parse(structure, &a, NULL))
        return TCET_FAIL(TCET_ERR_USAGE, "not a structure string: '%s'", structure);
    tcet_latency_cache cache;
    memset(&cache, 0, sizeof cache);
    int saved = be->has_f16;
    if (force_f32) be->has_f16 = 0;
    double *t = calloc((size_t)repeats, sizeof *t);
    int rc = 0;
    for (int i = 0; i < repeats && !rc; i++)
        rc = tcet_measure_latency(&cache, be, &a, batch, res, 10, (uint64_t)i, &t[i]);
    be->has_f16 = saved;
    *dtype = cache.net.dtype;
    tcet_latency_release(&cache);
    if (!rc) {
        qsort(t, (size_t)repeats, sizeof *t, cmp_double);
        *median = t[(repeats - 1) / 2];
    }
    free(t);
    return rc;
}

static const char *dtype_name(int dt) { return dt == TCET_F16 ? "fp16" : dt == TCET_F64 ? "fp64" : "fp32"; }

static void latency_is_fp16_on_gpu(void **state)
{
    (void)state;
    double l16 = -1, l32 = -1;
    int dt16 = -1, dt32 = -1;
    int rc = latency_median(g_gpu, ZENNET_1M, 64, 32, 3, 0, &l16, &dt16);
    if (rc) tcet_error_print();
    assert_int_equal(rc, 0);
    assert_int_equal(dt16, TCET_F16);
    assert_int_equal(latency_median(g_gpu, ZENNET_1M, 64, 32, 3, 1, &l32, &dt32), 0);
    assert_int_equal(dt32, TCET_F32);
    assert_true(isfinite(l16) && l16 > 0 && l16 < 1e-2);
    assert_true(isfinite(l32) && l32 > 0 && l32 < 1e-2);
    print_message("ZenNet-1M latency, batch 64, res 32 (median of 3): fp16 %.2f us/image, "
                  "fp32 %.2f us/image (fp32/fp16 %.2f)\n", l16 * 1e6, l32 * 1e6, l32 / l16);
}

/* --latency STRUCTURE BATCH RES REPEATS: the table rows of tests/gpu/run.sh */
static int latency_cli(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s --latency STRUCTURE BATCH RES REPEATS\n", argv[0]);
        return 2;
    }
    const char *s = argv[2];
    int batch = atoi(argv[3]), res = atoi(argv[4]), repeats = atoi(argv[5]);
    if (batch < 1 || res < 1 || repeats < 1) {
        fprintf(stderr, "BATCH, RES and REPEATS must be positive\n");
        return 2;
    }
    printf("# latency filter: budget network (reslink), eval, 3 warm-ups + 1 timed forward; "
           "batch %d, res %d, median of %d\n", batch, res, repeats);
    printf("# %s\n", g_gpu->device);
    int status = 0;
    for (int k = 0; k < 3; k++) {
        tcet_backend *be = k < 2 ? g_gpu : g_cpu;
        int reps = k < 2 ? repeats : 1;   /* one CPU measurement: 4 forwards of the whole batch */
        double med = -1;
        int dt = -1;
        int rc = latency_median(be, s, batch, res, reps, k == 1, &med, &dt);
        if (rc) {
            tcet_error_print();
            tcet_error_clear();
            status = 1;
            continue;
        }
        printf("LATENCY %-5s %s %10.2f us/image %9.3f ms/forward (%d measurement%s)\n",
               k < 2 ? "cuda" : "cpu", dtype_name(dt), med * 1e6, med * batch * 1e3, reps,
               reps == 1 ? "" : "s");
    }
    return status;
}

int main(int argc, char **argv)
{
    if (tcet_cuda_device_count() == 0) {
        printf("no usable CUDA device: skipping the CUDA fp16 tests\n");
        return 77;
    }
    tcet_rng_seed(&g_rng, 20240601, TCET_STREAM_AUX, 16);
    g_cpu = tcet_backend_cpu_create(1);
    if (tcet_backend_cuda_create(0, &g_gpu) || tcet_cuda_set_tf32(g_gpu, 0)) {
        tcet_error_print();
        return 1;
    }
    printf("CUDA backend: %s\n", g_gpu->device);
    int failed;
    if (argc > 1 && !strcmp(argv[1], "--latency")) {
        failed = latency_cli(argc, argv);
    } else {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(conv_f16_matches_cpu),
            cmocka_unit_test(bn_eval_f16_matches_cpu),
            cmocka_unit_test(elementwise_f16_matches_cpu),
            cmocka_unit_test(gap_f16_matches_cpu),
            cmocka_unit_test(linear_f16_matches_cpu),
            cmocka_unit_test(non_forward_ops_refuse_f16),
            cmocka_unit_test(zennet_eval_forward_f16_matches_cpu),
            cmocka_unit_test(latency_is_fp16_on_gpu),
        };
        failed = cmocka_run_group_tests(tests, NULL, NULL);
    }
    g_gpu->destroy(g_gpu);
    g_cpu->destroy(g_cpu);
    return failed;
}

#else /* !TCET_HAVE_CUDA */

int main(void)
{
    printf("this build has no CUDA backend: skipping the CUDA fp16 tests\n");
    return 77;
}

#endif
