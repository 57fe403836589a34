/* CUDA backend vs the CPU reference backend, op by op, on random inputs with
 * the shapes the ZenNAS search space produces (k 1/3/5/7, stride 1/2,
 * depthwise and grouped convs, CIFAR resolutions).
 *
 * Tolerances: float32 max-abs-error / max-abs-reference < 1e-4 with TF32 off
 * (TF32 would give ~1e-3 and fail), float64 < 1e-12, the NASWOT Gram exact
 * (also checked against a direct count of agreeing signs).  Batch norm and
 * the fused BN + ReLU ops in float32: BIT-IDENTICAL to the CPU backend
 * (kernels/cuda/bn_math.h; tests/unit/test_cuda_bn_math.c proves the same
 * arithmetic on the host).  A second pass over the same shapes must reuse
 * every cached descriptor and buffer.  Large cases run the grid-stride loops
 * past their first sweep, the Gram in several chunks, and the convolutions
 * with a 1 MiB cuDNN workspace limit (fallback algorithms).
 * Skipped (exit 77) without a usable GPU or without CUDA in the build;
 * TCET_GPU_TESTS_ON_CPU=1 runs it CPU against CPU (a self-check of the harness). */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "kernels/backend.h"

#ifdef TCET_HAVE_CUDA
#include "kernels/cuda/backend_cuda.h"

static tcet_backend *g_cpu, *g_gpu;
static tcet_rng g_rng;

/* ---- helpers: host arrays of the test dtype, mirrored on both backends ---- */

typedef struct {
    int dt;
    size_t count;
    void *host;          /* dtype values */
    void *cpu, *gpu;     /* device copies */
} tensor;

static double tol_of(int dt) { return dt == TCET_F64 ? 1e-12 : 1e-4; }

static double get(const void *p, int dt, size_t i)
{
    return dt == TCET_F64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

static void set(void *p, int dt, size_t i, double v)
{
    if (dt == TCET_F64) ((double *)p)[i] = v;
    else ((float *)p)[i] = (float)v;
}

/* Uniform in [lo, hi); a few exact zeros so that ReLU / sign ties are hit. */
static tensor tensor_rand(int dt, size_t count, double lo, double hi)
{
    tensor t = {dt, count, malloc(count * tcet_dtype_size(dt) + 1), NULL, NULL};
    assert_non_null(t.host);
    for (size_t i = 0; i < count; i++) {
        double v = lo + (hi - lo) * tcet_rng_uniform(&g_rng);
        if (tcet_rng_below(&g_rng, 50) == 0) v = 0.0;
        set(t.host, dt, i, v);
    }
    size_t bytes = count * tcet_dtype_size(dt);
    t.cpu = g_cpu->alloc(g_cpu, bytes);
    t.gpu = g_gpu->alloc(g_gpu, bytes);
    assert_non_null(t.cpu);
    assert_non_null(t.gpu);
    assert_int_equal(g_cpu->upload(g_cpu, t.cpu, t.host, bytes), 0);
    assert_int_equal(g_gpu->upload(g_gpu, t.gpu, t.host, bytes), 0);
    return t;
}

static tensor tensor_const(int dt, size_t count, double v)
{
    tensor t = tensor_rand(dt, count, 0, 1);
    for (size_t i = 0; i < count; i++) set(t.host, dt, i, v);
    size_t bytes = count * tcet_dtype_size(dt);
    assert_int_equal(g_cpu->upload(g_cpu, t.cpu, t.host, bytes), 0);
    assert_int_equal(g_gpu->upload(g_gpu, t.gpu, t.host, bytes), 0);
    return t;
}

static void tensor_free(tensor *t)
{
    g_cpu->release(g_cpu, t->cpu);
    g_gpu->release(g_gpu, t->gpu);
    free(t->host);
    memset(t, 0, sizeof *t);
}

/* max |gpu - cpu| / max |cpu| over the tensor (norm-wise relative error, so
 * entries near zero are judged on the tensor's scale). */
static double rel_err(const tensor *t, const char *what)
{
    size_t bytes = t->count * tcet_dtype_size(t->dt);
    void *a = malloc(bytes + 1), *b = malloc(bytes + 1);
    assert_int_equal(g_cpu->download(g_cpu, a, t->cpu, bytes), 0);
    assert_int_equal(g_gpu->download(g_gpu, b, t->gpu, bytes), 0);
    double num = 0, den = 0;
    int finite = 1;
    for (size_t i = 0; i < t->count; i++) {
        double r = get(a, t->dt, i), g = get(b, t->dt, i);
        if (!isfinite(r) || !isfinite(g)) finite = 0;
        if (fabs(g - r) > num) num = fabs(g - r);
        if (fabs(r) > den) den = fabs(r);
    }
    free(a);
    free(b);
    double e = finite ? num / (den > 0 ? den : 1.0) : INFINITY;
    if (e >= tol_of(t->dt))
        fprintf(stderr, "%s (%s, %zu values): rel err %.3e >= %.0e\n", what,
                t->dt == TCET_F64 ? "f64" : "f32", t->count, e, tol_of(t->dt));
    return e;
}

#define EXPECT_CLOSE(t, what) assert_true(rel_err(&(t), (what)) < tol_of((t).dt))

/* Bit equality with the CPU backend (the first differing element is printed). */
static void expect_bitwise(const tensor *t, const char *what)
{
    const size_t es = tcet_dtype_size(t->dt), bytes = t->count * es;
    char *a = malloc(bytes + 1), *b = malloc(bytes + 1);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(g_cpu->download(g_cpu, a, t->cpu, bytes), 0);
    assert_int_equal(g_gpu->download(g_gpu, b, t->gpu, bytes), 0);
    for (size_t i = 0; i < t->count; i++)
        if (memcmp(a + i * es, b + i * es, es)) {
            fprintf(stderr, "%s (%zu values): element %zu is %.17g on the CPU, %.17g on the GPU\n", what,
                    t->count, i, get(a, t->dt, i), get(b, t->dt, i));
            free(a);
            free(b);
            fail_msg("%s: not bit-identical to the CPU backend", what);
        }
    free(a);
    free(b);
}

/* float32 BN outputs: bit for bit; float64: to 1e-12 (its double sums are
 * associated differently, which reaches the last bits, see bn_math.h) */
static void expect_bn(const tensor *t, const char *what)
{
    if (t->dt == TCET_F32) expect_bitwise(t, what);
    else EXPECT_CLOSE(*t, what);
}

/* ---- convolution ------------------------------------------------------ */

typedef struct { int n, cin, cout, k, stride, groups, h; } conv_case;

/* Shapes met in ZenNAS nets at CIFAR resolution: stem k3 s1 (3 -> c), k1
 * projections, k3/k5/k7 stride 1 and 2, depthwise (IDW blocks) and a grouped
 * conv for the generic path. */
static const conv_case k_conv_cases[] = {
    {4, 3, 16, 3, 1, 1, 32},  {4, 16, 24, 1, 1, 1, 16}, {4, 16, 16, 5, 2, 1, 16},
    {3, 8, 12, 7, 1, 1, 8},   {4, 24, 24, 3, 2, 24, 16}, {2, 32, 32, 7, 1, 32, 8},
    {2, 16, 32, 3, 1, 4, 8},  {2, 48, 8, 1, 2, 1, 8},
};

static tcet_conv_desc desc_of(const conv_case *c)
{
    tcet_conv_desc d = {c->n, c->cin, c->cout, c->k, c->stride, (c->k - 1) / 2, c->groups,
                        c->h, c->h, 0, 0};
    d.ho = (d.h + 2 * d.pad - d.k) / d.stride + 1;
    d.wo = (d.w + 2 * d.pad - d.k) / d.stride + 1;
    return d;
}

static void run_conv_case(int dt, const conv_case *c, int with_bias)
{
    tcet_conv_desc d = desc_of(c);
    size_t nx = (size_t)d.n * d.cin * d.h * d.w, ny = (size_t)d.n * d.cout * d.ho * d.wo;
    size_t nw = (size_t)d.cout * (d.cin / d.groups) * d.k * d.k;
    double bound = 1.0 / sqrt((double)(d.cin / d.groups) * d.k * d.k);
    tensor x = tensor_rand(dt, nx, -1, 1), w = tensor_rand(dt, nw, -bound, bound);
    tensor b = tensor_rand(dt, (size_t)d.cout, -bound, bound);
    tensor y = tensor_rand(dt, ny, 0, 1), dy = tensor_rand(dt, ny, -1, 1);
    tensor dx = tensor_rand(dt, nx, 0, 1), dw = tensor_rand(dt, nw, 0, 1);
    tensor db = tensor_rand(dt, (size_t)d.cout, 0, 1);
    const void *bc = with_bias ? b.cpu : NULL, *bg = with_bias ? b.gpu : NULL;
    char what[128];
    snprintf(what, sizeof what, "conv n%d %d->%d k%d s%d g%d %dx%d%s", d.n, d.cin, d.cout, d.k,
             d.stride, d.groups, d.h, d.w, with_bias ? " +bias" : "");

    assert_int_equal(g_cpu->conv_fwd(g_cpu, dt, &d, x.cpu, w.cpu, bc, y.cpu), 0);
    assert_int_equal(g_gpu->conv_fwd(g_gpu, dt, &d, x.gpu, w.gpu, bg, y.gpu), 0);
    EXPECT_CLOSE(y, what);
    assert_int_equal(g_cpu->conv_bwd_data(g_cpu, dt, &d, w.cpu, dy.cpu, dx.cpu), 0);
    assert_int_equal(g_gpu->conv_bwd_data(g_gpu, dt, &d, w.gpu, dy.gpu, dx.gpu), 0);
    EXPECT_CLOSE(dx, what);
    assert_int_equal(g_cpu->conv_bwd_filter(g_cpu, dt, &d, x.cpu, dy.cpu, dw.cpu,
                                            with_bias ? db.cpu : NULL), 0);
    assert_int_equal(g_gpu->conv_bwd_filter(g_gpu, dt, &d, x.gpu, dy.gpu, dw.gpu,
                                            with_bias ? db.gpu : NULL), 0);
    EXPECT_CLOSE(dw, what);
    if (with_bias) EXPECT_CLOSE(db, what);
    tensor *all[] = {&x, &w, &b, &y, &dy, &dx, &dw, &db};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tensor_free(all[i]);
}

static void conv_matches_cpu(void **state)
{
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t i = 0; i < sizeof k_conv_cases / sizeof *k_conv_cases; i++)
            run_conv_case(dt, &k_conv_cases[i], (int)(i % 2));
}

/* Same shapes again: every descriptor comes from the cache and neither the
 * workspace nor the scratch grows (no cudaMalloc per candidate). */
static void conv_second_pass_reuses_everything(void **state)
{
    tcet_cuda_stats before, after;
    if (!tcet_backend_is_cuda(g_gpu)) skip();
    assert_int_equal(tcet_cuda_get_stats(g_gpu, &before), 0);
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t i = 0; i < sizeof k_conv_cases / sizeof *k_conv_cases; i++)
            run_conv_case(dt, &k_conv_cases[i], (int)(i % 2));
    assert_int_equal(tcet_cuda_get_stats(g_gpu, &after), 0);
    assert_int_equal(after.conv_cache_misses, before.conv_cache_misses);
    assert_int_equal(after.buffer_grows, before.buffer_grows);
    assert_true(after.conv_cache_hits > before.conv_cache_hits);
}

static void conv_bad_descriptor_is_usage_error(void **state)
{
    conv_case c = {2, 4, 4, 3, 1, 1, 8};
    tcet_conv_desc d = desc_of(&c);
    d.ho = 7;   /* inconsistent with h, k, stride, pad */
    assert_int_equal(g_gpu->conv_fwd(g_gpu, TCET_F32, &d, NULL, NULL, NULL, NULL), TCET_ERR_USAGE);
    tcet_error_clear();
}

/* ---- batch norm ---------------------------------------------------------- */

/* Normal-ish values with a per-channel offset and scale (as activations):
 * the CPU order and the GPU's split order of the double sums really differ
 * on such data (they would not on small dyadic values). */
static void bn_fill(tensor *t, int n, int c, int hw)
{
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            const double mu = 0.3 * (ch % 7) - 0.9, sd = 0.2 + 0.1 * (ch % 5);
            for (int j = 0; j < hw; j++) {
                double u = 0;
                for (int r = 0; r < 4; r++) u += tcet_rng_uniform(&g_rng) - 0.5;   /* sd 0.58 */
                set(t->host, t->dt, ((size_t)i * c + ch) * hw + j, mu + sd * 1.7 * u);
            }
        }
    const size_t bytes = t->count * tcet_dtype_size(t->dt);
    assert_int_equal(g_cpu->upload(g_cpu, t->cpu, t->host, bytes), 0);
    assert_int_equal(g_gpu->upload(g_gpu, t->gpu, t->host, bytes), 0);
}

/* bn_fwd / bn_bwd and the fused bn_relu_fwd / bn_relu_bwd against the CPU
 * backend: train (with the running update), eval, with and without
 * gamma/beta, the fused forward with and without the BN output. */
static void run_bn_case(int dt, int n, int c, int hw, int affine)
{
    size_t cnt = (size_t)n * c * hw;
    char what[160];
    tensor x = tensor_rand(dt, cnt, -2, 3), dy = tensor_rand(dt, cnt, -1, 1);
    bn_fill(&x, n, c, hw);
    tensor g = tensor_rand(dt, (size_t)c, 0.5, 1.5), b = tensor_rand(dt, (size_t)c, -1, 1);
    tensor rm = tensor_rand(dt, (size_t)c, -0.1, 0.1), rv = tensor_rand(dt, (size_t)c, 0.5, 2);
    tensor y = tensor_const(dt, cnt, 0), yr = tensor_const(dt, cnt, 0), dx = tensor_const(dt, cnt, 0);
    tensor sm = tensor_const(dt, (size_t)c, 0), si = tensor_const(dt, (size_t)c, 0);
    tensor dg = tensor_const(dt, (size_t)c, 0), dbt = tensor_const(dt, (size_t)c, 0);
    const char *tag = dt == TCET_F32 ? "f32" : "f64";
#define P(t) (k ? (t).gpu : (t).cpu)
#define PA(t) (affine ? P(t) : NULL)
#define NAME(s) (snprintf(what, sizeof what, "bn %s n%d c%d hw%d%s: %s", tag, n, c, hw, \
                          affine ? "" : " (no gamma/beta)", (s)), what)
    /* plain BN: train forward with the running update, backward, eval */
    for (int k = 0; k < 2; k++) {
        tcet_backend *be = k ? g_gpu : g_cpu;
        assert_int_equal(be->bn_fwd(be, dt, 1, n, c, hw, 1e-3, 0.1, P(x), PA(g), PA(b), P(rm), P(rv), 1,
                                    P(y), P(sm), P(si)), 0);
        assert_int_equal(be->bn_bwd(be, dt, n, c, hw, P(x), P(dy), PA(g), P(sm), P(si), P(dx), P(dg),
                                    P(dbt)), 0);
    }
    expect_bn(&y, NAME("train y"));
    expect_bn(&sm, NAME("save_mean"));
    expect_bn(&si, NAME("save_invstd"));
    expect_bn(&rm, NAME("running_mean"));
    expect_bn(&rv, NAME("running_var (unbiased)"));
    expect_bn(&dx, NAME("dx"));
    expect_bn(&dg, NAME("dgamma"));
    expect_bn(&dbt, NAME("dbeta"));
    for (int k = 0; k < 2; k++) {
        tcet_backend *be = k ? g_gpu : g_cpu;
        assert_int_equal(be->bn_fwd(be, dt, 0, n, c, hw, 1e-3, 0.1, P(x), PA(g), PA(b), P(rm), P(rv), 0,
                                    P(y), NULL, NULL), 0);
    }
    expect_bn(&y, NAME("eval y"));
    /* fused: train bn_relu_fwd (no running update), bn_relu_bwd; y and y_relu
     * first, then only y_relu (net.c's skip_bn_out) */
    for (int with_y = 1; with_y >= 0; with_y--) {
        for (int k = 0; k < 2; k++) {
            tcet_backend *be = k ? g_gpu : g_cpu;
            assert_int_equal(be->bn_relu_fwd(be, dt, 1, n, c, hw, 1e-3, 0.1, P(x), PA(g), PA(b), NULL, NULL, 0,
                                             with_y ? P(y) : NULL, P(yr), P(sm), P(si)), 0);
            assert_int_equal(be->bn_relu_bwd(be, dt, n, c, hw, P(x), P(dy), PA(g), PA(b), P(sm), P(si), P(dx),
                                             P(dg), P(dbt)), 0);
        }
        if (with_y) expect_bn(&y, NAME("bn_relu_fwd y"));
        expect_bn(&yr, NAME(with_y ? "bn_relu_fwd y_relu" : "bn_relu_fwd y_relu (y NULL)"));
        expect_bn(&sm, NAME("bn_relu_fwd save_mean"));
        expect_bn(&si, NAME("bn_relu_fwd save_invstd"));
        expect_bn(&dx, NAME("bn_relu_bwd dx"));
        expect_bn(&dg, NAME("bn_relu_bwd dgamma"));
        expect_bn(&dbt, NAME("bn_relu_bwd dbeta"));
    }
    /* fused eval forward (the NASWOT / latency path), y_relu only */
    for (int k = 0; k < 2; k++) {
        tcet_backend *be = k ? g_gpu : g_cpu;
        assert_int_equal(be->bn_relu_fwd(be, dt, 0, n, c, hw, 1e-3, 0.1, P(x), PA(g), PA(b), P(rm), P(rv), 0,
                                         NULL, P(yr), NULL, NULL), 0);
    }
    expect_bn(&yr, NAME("eval bn_relu_fwd y_relu"));
#undef NAME
#undef PA
#undef P
    tensor *all[] = {&x, &dy, &g, &b, &rm, &rv, &y, &yr, &dx, &sm, &si, &dg, &dbt};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tensor_free(all[i]);
}

static void bn_matches_cpu(void **state)
{
    /* search-space shapes: m = n hw from 64 (one block per channel) to 65536
     * (S = 32 blocks per channel), odd planes (49, 9), c from 3 to 512 */
    const int shapes[][3] = {{4, 16, 256}, {8, 24, 64}, {2, 40, 16}, {64, 8, 1},  {64, 16, 1024},
                             {8, 40, 49},  {16, 96, 9}, {64, 512, 1}, {8, 3, 1024}, {48, 8, 121}};
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            run_bn_case(dt, shapes[s][0], shapes[s][1], shapes[s][2], (int)(s % 3 != 2));
}

/* More than one sweep of the element kernels' grid-stride loops (8192 blocks
 * x 256 threads x 4 elements = 8.4 M): 9.4 M values, float32. */
static void bn_large_grid_stride(void **state)
{
    run_bn_case(TCET_F32, 64, 144, 1024, 1);
}

/* The usage errors of the CPU backend, before anything is launched. */
static void bn_and_gap_argument_checks(void **state)
{
    tensor x = tensor_const(TCET_F32, 64, 1), y = tensor_const(TCET_F32, 64, 0);
    tensor r = tensor_const(TCET_F32, 4, 1);
    assert_int_equal(g_gpu->bn_fwd(g_gpu, TCET_F32, 1, 4, 4, 4, 1e-3, 0.1, x.gpu, NULL, NULL, r.gpu, r.gpu, 1,
                                   NULL, NULL, NULL), TCET_ERR_USAGE);   /* no output */
    assert_int_equal(g_gpu->bn_fwd(g_gpu, TCET_F32, 1, 4, 0, 4, 1e-3, 0.1, x.gpu, NULL, NULL, r.gpu, r.gpu, 1,
                                   y.gpu, NULL, NULL), TCET_ERR_USAGE);
    assert_int_equal(g_gpu->bn_fwd(g_gpu, TCET_F32, 1, 1, 4, 1, 1e-3, 0.1, x.gpu, NULL, NULL, r.gpu, r.gpu, 1,
                                   y.gpu, NULL, NULL), TCET_ERR_RUNTIME);   /* one value per channel */
    assert_int_equal(g_gpu->bn_fwd(g_gpu, TCET_F32, 0, 4, 4, 4, 1e-3, 0.1, x.gpu, NULL, NULL, NULL, NULL, 0,
                                   y.gpu, NULL, NULL), TCET_ERR_USAGE);   /* eval without running stats */
    assert_int_equal(g_gpu->bn_relu_fwd(g_gpu, TCET_F32, 1, 4, 4, 4, 1e-3, 0.1, x.gpu, NULL, NULL, NULL, NULL,
                                        0, y.gpu, NULL, NULL, NULL), TCET_ERR_USAGE);   /* no ReLU output */
    assert_int_equal(g_gpu->bn_bwd(g_gpu, TCET_F32, 4, 4, 0, x.gpu, x.gpu, NULL, r.gpu, r.gpu, y.gpu, NULL,
                                   NULL), TCET_ERR_USAGE);
    assert_int_equal(g_gpu->bn_relu_bwd(g_gpu, TCET_F32, 0, 4, 4, x.gpu, x.gpu, NULL, NULL, r.gpu, r.gpu, y.gpu,
                                        NULL, NULL), TCET_ERR_USAGE);
    assert_int_equal(g_gpu->gap_fwd(g_gpu, TCET_F32, 4, 4, 0, x.gpu, y.gpu), TCET_ERR_USAGE);
    assert_int_equal(g_gpu->gap_bwd(g_gpu, TCET_F32, 4, 0, 4, x.gpu, y.gpu), TCET_ERR_USAGE);
    tcet_error_clear();
    assert_int_equal(g_gpu->sync(g_gpu), 0);   /* nothing faulted */
    tensor_free(&x);
    tensor_free(&y);
    tensor_free(&r);
}

/* ---- element-wise, pooling, linear ---------------------------------------- */

/* 9,408 values, and 3,008,000 (float32: past the 8192 x 256 = 2,097,152
 * threads of the grid-stride loops' first sweep). */
static void elementwise_and_gap_match_cpu(void **state)
{
    static const int shapes[][4] = {{TCET_F32, 8, 24, 49}, {TCET_F64, 8, 24, 49}, {TCET_F32, 64, 47, 1000}};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const int dt = shapes[si][0], n = shapes[si][1], c = shapes[si][2], hw = shapes[si][3];
        size_t cnt = (size_t)n * c * hw;
        tensor a = tensor_rand(dt, cnt, -1, 1), b = tensor_rand(dt, cnt, -1, 1);
        tensor y = tensor_const(dt, cnt, 0), dx = tensor_const(dt, cnt, 0), s = tensor_const(dt, cnt, 0);
        tensor p = tensor_const(dt, (size_t)n * c, 0), dp = tensor_rand(dt, (size_t)n * c, -1, 1);
        tensor dg = tensor_const(dt, cnt, 0);
        for (int k = 0; k < 2; k++) {
            tcet_backend *be = k ? g_gpu : g_cpu;
#define P(t) (k ? (t).gpu : (t).cpu)
            assert_int_equal(be->relu_fwd(be, dt, cnt, P(a), P(y)), 0);
            assert_int_equal(be->relu_bwd(be, dt, cnt, P(y), P(b), P(dx)), 0);
            assert_int_equal(be->add(be, dt, cnt, P(a), P(b), P(s)), 0);
            assert_int_equal(be->gap_fwd(be, dt, n, c, hw, P(a), P(p)), 0);
            assert_int_equal(be->gap_bwd(be, dt, n, c, hw, P(dp), P(dg)), 0);
#undef P
        }
        EXPECT_CLOSE(y, "relu_fwd");
        EXPECT_CLOSE(dx, "relu_bwd");
        EXPECT_CLOSE(s, "add");
        EXPECT_CLOSE(p, "gap_fwd");
        EXPECT_CLOSE(dg, "gap_bwd");
        tensor *all[] = {&a, &b, &y, &dx, &s, &p, &dp, &dg};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) tensor_free(all[i]);
    }
}

static void linear_matches_cpu(void **state)
{
    const int shapes[][3] = {{64, 256, 10}, {8, 1280, 100}, {3, 17, 5}};
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            int n = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
            double bound = 1.0 / sqrt((double)in);
            tensor x = tensor_rand(dt, (size_t)n * in, -1, 1);
            tensor w = tensor_rand(dt, (size_t)out * in, -bound, bound);
            tensor b = tensor_rand(dt, (size_t)out, -bound, bound);
            tensor y = tensor_const(dt, (size_t)n * out, 0), y0 = tensor_const(dt, (size_t)n * out, 0);
            tensor dy = tensor_rand(dt, (size_t)n * out, -1, 1);
            tensor dx = tensor_const(dt, (size_t)n * in, 0), dw = tensor_const(dt, (size_t)out * in, 0);
            tensor db = tensor_const(dt, (size_t)out, 0);
            for (int k = 0; k < 2; k++) {
                tcet_backend *be = k ? g_gpu : g_cpu;
#define P(t) (k ? (t).gpu : (t).cpu)
                assert_int_equal(be->linear_fwd(be, dt, n, in, out, P(x), P(w), P(b), P(y)), 0);
                assert_int_equal(be->linear_fwd(be, dt, n, in, out, P(x), P(w), NULL, P(y0)), 0);
                assert_int_equal(be->linear_bwd(be, dt, n, in, out, P(x), P(w), P(dy), P(dx), P(dw),
                                                P(db)), 0);
#undef P
            }
            EXPECT_CLOSE(y, "linear_fwd +bias");
            EXPECT_CLOSE(y0, "linear_fwd");
            EXPECT_CLOSE(dx, "linear dx");
            EXPECT_CLOSE(dw, "linear dw");
            EXPECT_CLOSE(db, "linear db");
            tensor *all[] = {&x, &w, &b, &y, &y0, &dy, &dx, &dw, &db};
            for (size_t i = 0; i < sizeof all / sizeof *all; i++) tensor_free(all[i]);
        }
}

/* ---- loss, NASWOT Gram, saliency ----------------------------------------- */

static void softmax_xent_matches_cpu(void **state)
{
    const int n = 64, classes = 100;
    tensor z = tensor_rand(TCET_F32, (size_t)n * classes, -4, 4);
    tensor dz = tensor_const(TCET_F32, (size_t)n * classes, 0);
    int32_t labels[64];
    for (int i = 0; i < n; i++) labels[i] = (int32_t)tcet_rng_below(&g_rng, classes);
    int32_t *lc = g_cpu->alloc(g_cpu, sizeof labels), *lg = g_gpu->alloc(g_gpu, sizeof labels);
    assert_int_equal(g_cpu->upload(g_cpu, lc, labels, sizeof labels), 0);
    assert_int_equal(g_gpu->upload(g_gpu, lg, labels, sizeof labels), 0);
    double lcpu = 0, lgpu = 0;
    assert_int_equal(g_cpu->softmax_xent(g_cpu, n, classes, z.cpu, lc, &lcpu, dz.cpu), 0);
    assert_int_equal(g_gpu->softmax_xent(g_gpu, n, classes, z.gpu, lg, &lgpu, dz.gpu), 0);
    /* both compute the loss in double from the same float logits */
    assert_rel_close(lgpu, lcpu, 1e-12);
    EXPECT_CLOSE(dz, "softmax dlogits");
    /* a label out of range is a data error, as on the CPU */
    labels[5] = classes;
    assert_int_equal(g_gpu->upload(g_gpu, lg, labels, sizeof labels), 0);
    assert_int_equal(g_gpu->softmax_xent(g_gpu, n, classes, z.gpu, lg, &lgpu, dz.gpu), TCET_ERR_DATA);
    tcet_error_clear();
    g_cpu->release(g_cpu, lc);
    g_gpu->release(g_gpu, lg);
    tensor_free(&z);
    tensor_free(&dz);
}

static void gram_codes_exact(void **state)
{
    /* d = 600000 > 524288 columns per chunk for n = 64 (blas_cuda.c
     * gram_chunk): two chunks summed on the host */
    const int ns[] = {64, 5, 64};
    const size_t ds[] = {16 * 32 * 32 + 7, 3, 600000};
    for (int t = 0; t < 3; t++) {
        int n = ns[t];
        size_t d = ds[t];
        tensor x = tensor_rand(TCET_F32, (size_t)n * d, -1, 1);   /* includes exact zeros */
        double *kc = malloc(sizeof(double) * n * n), *kg = malloc(sizeof(double) * n * n);
        int64_t *pc = malloc(sizeof(int64_t) * n), *pg = malloc(sizeof(int64_t) * n);
        assert_int_equal(g_cpu->gram_codes(g_cpu, n, d, x.cpu, kc, pc), 0);
        assert_int_equal(g_gpu->gram_codes(g_gpu, n, d, x.gpu, kg, pg), 0);
        for (int i = 0; i < n; i++) {
            assert_int_equal(pg[i], pc[i]);
            for (int j = 0; j < n; j++) assert_true(kg[(size_t)i * n + j] == kc[(size_t)i * n + j]);
        }
        /* independent check on a few pairs: count agreeing signs directly */
        const float *xf = x.host;
        for (int pair = 0; pair < 6; pair++) {
            int i = pair % n, j = (pair * 7 + 1) % n;
            long agree = 0, pos = 0;
            for (size_t u = 0; u < d; u++) {
                int ci = xf[(size_t)i * d + u] > 0, cj = xf[(size_t)j * d + u] > 0;
                agree += ci == cj;
                pos += ci;
            }
            assert_true(kg[(size_t)i * n + j] == (double)agree);
            assert_int_equal(pg[i], pos);
        }
        free(kc);
        free(kg);
        free(pc);
        free(pg);
        tensor_free(&x);
    }
}

static void saliency_stats_match_cpu(void **state)
{
    const size_t counts[] = {1, 2, 1000, 3 * 64 * 64 * 9 + 5};
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
            size_t cnt = counts[c];
            tensor w = tensor_rand(dt, cnt, -0.3, 0.3), g = tensor_rand(dt, cnt, -1e-2, 1e-2);
            double sc, stdc, sg, stdg;
            assert_int_equal(g_cpu->saliency_stats(g_cpu, dt, cnt, w.cpu, g.cpu, &sc, &stdc), 0);
            assert_int_equal(g_gpu->saliency_stats(g_gpu, dt, cnt, w.gpu, g.gpu, &sg, &stdg), 0);
            /* identical |w g| values (products in the storage type), summed in
             * double in another order: agreement to rounding of the sums */
            if (sc == 0.0) assert_true(sg == 0.0);
            else assert_rel_close(sg, sc, 1e-12);
            if (cnt < 2) {
                assert_true(isnan(stdg));
            } else {
                if (stdc == 0.0) assert_true(stdg < 1e-300);
                else assert_rel_close(stdg, stdc, 1e-10);
            }
            tensor_free(&w);
            tensor_free(&g);
        }
}

/* ---- cuDNN with a 1 MiB workspace limit ------------------------------------- */

/* TCET_CUDNN_WORKSPACE_MB=1 (read when a backend is created): every
 * algorithm asking for more is skipped, so the heuristics' later choices and
 * the fixed fallback algorithms run, and the workspace grows shape by shape
 * from nothing.  Results must still match the CPU. */
static void conv_small_workspace_matches_cpu(void **state)
{
    if (!tcet_backend_is_cuda(g_gpu)) skip();
    tcet_backend *small = NULL, *saved = g_gpu;
    assert_int_equal(setenv("TCET_CUDNN_WORKSPACE_MB", "1", 1), 0);
    int rc = tcet_backend_cuda_create(0, &small);
    unsetenv("TCET_CUDNN_WORKSPACE_MB");
    assert_int_equal(rc, 0);
    assert_int_equal(tcet_cuda_set_tf32(small, 0), 0);
    g_gpu = small;   /* run_conv_case allocates and runs through g_gpu */
    static const conv_case big[] = {
        {16, 64, 64, 3, 1, 1, 32}, {8, 32, 64, 5, 2, 1, 32}, {8, 64, 64, 7, 1, 1, 16}};
    for (int dt = TCET_F32; dt <= TCET_F64; dt++) {
        for (size_t i = 0; i < sizeof k_conv_cases / sizeof *k_conv_cases; i++)
            run_conv_case(dt, &k_conv_cases[i], (int)(i % 2));
        for (size_t i = 0; i < sizeof big / sizeof *big; i++) run_conv_case(dt, &big[i], 1);
    }
    tcet_cuda_stats st;
    assert_int_equal(tcet_cuda_get_stats(small, &st), 0);
    print_message("1 MiB cuDNN limit: workspace %zu bytes, %ld buffer growths\n", st.workspace_bytes,
                  st.buffer_grows);
    g_gpu = saved;
    small->destroy(small);
}

/* ---- latency timer ---------------------------------------------------------- */

typedef struct {
    tcet_conv_desc d;
    tensor x, w, y;
    int calls;
} fwd_ctx;

static int conv_forward(void *p)
{
    fwd_ctx *c = p;
    c->calls++;
    return g_gpu->conv_fwd(g_gpu, TCET_F32, &c->d, c->x.gpu, c->w.gpu, NULL, c->y.gpu);
}

/* 3 warm-ups + 1 timed call; a positive, finite time per image, and a call
 * that fails reports its error instead of a time. */
static void latency_timer(void **state)
{
    if (!tcet_backend_is_cuda(g_gpu)) skip();
    conv_case cc = {64, 64, 64, 3, 1, 1, 32};
    fwd_ctx c = {desc_of(&cc), {0}, {0}, {0}, 0};
    c.x = tensor_rand(TCET_F32, (size_t)64 * 64 * 32 * 32, -1, 1);
    c.w = tensor_rand(TCET_F32, (size_t)64 * 64 * 9, -0.1, 0.1);
    c.y = tensor_const(TCET_F32, (size_t)64 * 64 * 32 * 32, 0);
    double spi = -1;
    assert_int_equal(tcet_cuda_latency(g_gpu, conv_forward, &c, 3, 64, &spi), 0);
    assert_int_equal(c.calls, 4);
    assert_true(isfinite(spi) && spi > 0 && spi < 1.0);
    print_message("conv 64x64x3x3 on 64x32x32: %.3g us per image\n", spi * 1e6);
    c.d.ho = 5;   /* the forward now fails: the error comes back, no time */
    spi = -1;
    assert_int_equal(tcet_cuda_latency(g_gpu, conv_forward, &c, 0, 64, &spi), TCET_ERR_USAGE);
    assert_true(spi == -1);
    tcet_error_clear();
    tensor_free(&c.x);
    tensor_free(&c.w);
    tensor_free(&c.y);
}

/* Prints (asserts nothing but success) the time of a train-mode fused BN +
 * ReLU forward and backward at ZenNet-like shapes and the effective
 * bandwidth (forward: x read twice for the statistics, once more with y_relu
 * written; backward: x and dy read twice, dx written: 4 + 5 tensor passes). */
typedef struct {
    int n, c, hw;
    tensor x, dy, y, sm, si, dx, dg, db;
} bn_time_ctx;

static int bn_step(void *p)
{
    bn_time_ctx *t = p;
    TCET_TRY(g_gpu->bn_relu_fwd(g_gpu, TCET_F32, 1, t->n, t->c, t->hw, 1e-3, 0.1, t->x.gpu, NULL, NULL, NULL,
                                NULL, 0, NULL, t->y.gpu, t->sm.gpu, t->si.gpu));
    return g_gpu->bn_relu_bwd(g_gpu, TCET_F32, t->n, t->c, t->hw, t->x.gpu, t->dy.gpu, NULL, NULL, t->sm.gpu,
                              t->si.gpu, t->dx.gpu, t->dg.gpu, t->db.gpu);
}

static void bn_timing(void **state)
{
    if (!tcet_backend_is_cuda(g_gpu)) skip();
    static const int shapes[][3] = {{64, 16, 1024}, {64, 64, 256}, {64, 512, 16}, {64, 1024, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        bn_time_ctx t = {.n = shapes[i][0], .c = shapes[i][1], .hw = shapes[i][2]};
        const size_t cnt = (size_t)t.n * t.c * t.hw, c = (size_t)t.c;
        t.x = tensor_rand(TCET_F32, cnt, -1, 1), t.dy = tensor_rand(TCET_F32, cnt, -1, 1);
        t.y = tensor_const(TCET_F32, cnt, 0), t.dx = tensor_const(TCET_F32, cnt, 0);
        t.sm = tensor_const(TCET_F32, c, 0), t.si = tensor_const(TCET_F32, c, 0);
        t.dg = tensor_const(TCET_F32, c, 0), t.db = tensor_const(TCET_F32, c, 0);
        double spi = -1;
        assert_int_equal(tcet_cuda_latency(g_gpu, bn_step, &t, 3, 1, &spi), 0);
        assert_true(isfinite(spi) && spi > 0);
        print_message("bn_relu fwd+bwd f32 n%d c%d hw%d: %.1f us, %.0f GB/s effective\n", t.n, t.c, t.hw,
                      spi * 1e6, 9.0 * 4.0 * (double)cnt / spi / 1e9);
        tensor *all[] = {&t.x, &t.dy, &t.y, &t.dx, &t.sm, &t.si, &t.dg, &t.db};
        for (size_t k = 0; k < sizeof all / sizeof *all; k++) tensor_free(all[k]);
    }
}

int main(void)
{
    const int on_cpu = getenv("TCET_GPU_TESTS_ON_CPU") != NULL;
    if (tcet_cuda_device_count() == 0 && !on_cpu) {
        printf("no usable CUDA device: skipping the CUDA op tests\n");
        return 77;
    }
    tcet_rng_seed(&g_rng, 20240501, TCET_STREAM_AUX, 77);
    g_cpu = tcet_backend_cpu_create(1);
    if (on_cpu) {
        /* harness self-check without a GPU: a second CPU backend stands in */
        g_gpu = tcet_backend_cpu_create(1);
    } else {
        if (tcet_backend_cuda_create(0, &g_gpu) || tcet_cuda_set_tf32(g_gpu, 0)) {
            tcet_error_print();
            return 1;
        }
    }
    printf("CUDA backend: %s\n", g_gpu->device);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_matches_cpu),
        cmocka_unit_test(conv_second_pass_reuses_everything),
        cmocka_unit_test(conv_bad_descriptor_is_usage_error),
        cmocka_unit_test(bn_matches_cpu),
        cmocka_unit_test(bn_large_grid_stride),
        cmocka_unit_test(bn_and_gap_argument_checks),
        cmocka_unit_test(elementwise_and_gap_match_cpu),
        cmocka_unit_test(linear_matches_cpu),
        cmocka_unit_test(softmax_xent_matches_cpu),
        cmocka_unit_test(gram_codes_exact),
        cmocka_unit_test(saliency_stats_match_cpu),
        cmocka_unit_test(conv_small_workspace_matches_cpu),
        cmocka_unit_test(latency_timer),
        cmocka_unit_test(bn_timing),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    g_gpu->destroy(g_gpu);
    g_cpu->destroy(g_cpu);
    return failed;
}

#else /* !TCET_HAVE_CUDA */

int main(void)
{
    printf("this build has no CUDA backend: skipping the CUDA op tests\n");
    return 77;
}

#endif
