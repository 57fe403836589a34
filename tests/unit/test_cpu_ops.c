/* CPU backend non-convolution ops against naive double formulas written here,
 * hand-computed values, central finite differences (float64) and float32-vs-
 * float64 gradients: batch norm, ReLU, add, global average pooling, linear,
 * softmax cross-entropy, NASWOT Gram codes and saliency statistics. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "kernels/backend.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static double urand(void) /* uniform [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1.0p-52 - 1.0;
}
static double *rand_vec(size_t n)
{
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = urand();
    return v;
}
static size_t pick(size_t n) { return (size_t)((urand() + 1) / 2 * (double)n) % n; }

/* A host copy in dtype dt (the CPU backend's device memory is host memory;
 * alloc/upload are exercised by test_cpu_conv). */
static void *as_dt(int dt, const double *src, size_t n)
{
    if (dt == TCET_F64) {
        double *p = malloc(n * sizeof *p);
        memcpy(p, src, n * sizeof *p);
        return p;
    }
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)src[i];
    return p;
}
static void from_dt(int dt, const void *p, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++) out[i] = dt == TCET_F64 ? ((const double *)p)[i] : ((const float *)p)[i];
}
static void round_to(int dt, double *v, size_t n)
{
    if (dt == TCET_F32)
        for (size_t i = 0; i < n; i++) v[i] = (float)v[i];
}
static double relerr(const double *a, const double *b, size_t n)
{
    double e = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = isnan(a[i]) ? INFINITY : fabs(a[i] - b[i]);
        if (d > e) e = d;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return e / (m > 0 ? m : 1e-300);
}
static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
static double tol_of(int dt) { return dt == TCET_F32 ? 1e-5 : 1e-12; }

/* Finite-difference harness: loss(ctx) = Σ r ⊙ op(...) evaluated in float64;
 * checks 16 sampled entries of v against the analytic gradient an. */
typedef double (*loss_fn)(void *ctx);
static double fd_rel(loss_fn f, void *ctx, double *v, size_t n, const double *an, double h)
{
    double emax = 0, amax = 0;
    for (int t = 0; t < 16; t++) {
        size_t i = pick(n);
        double v0 = v[i];
        v[i] = v0 + h;
        double lp = f(ctx);
        v[i] = v0 - h;
        double lm = f(ctx);
        v[i] = v0;
        double fd = (lp - lm) / (2 * h);
        if (fabs(fd - an[i]) > emax) emax = fabs(fd - an[i]);
        if (fabs(an[i]) > amax) amax = fabs(an[i]);
    }
    return emax / (amax > 0 ? amax : 1e-300);
}

static tcet_backend *be;
static int setup(void **state) { return test_cpu_backend(&be); }
static int teardown(void **state) { return test_cpu_backend_free(&be); }

/* ---- backend basics -------------------------------------------------------- */

static void test_device_and_memory(void **state)
{
    assert_string_equal(be->name, "cpu");
    assert_non_null(strstr(be->device, "CPU (OpenBLAS"));
    assert_non_null(strstr(be->device, "1 thread)"));
    double host[5] = { 1, 2, 3, 4, 5 }, back[5];
    void *p = be->alloc(be, sizeof host);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    assert_int_equal(be->upload(be, p, host, sizeof host), 0);
    assert_int_equal(be->download(be, back, p, sizeof host), 0);
    assert_memory_equal(host, back, sizeof host);
    assert_int_equal(be->zero(be, p, sizeof host), 0);
    assert_int_equal(be->download(be, back, p, sizeof host), 0);
    for (int i = 0; i < 5; i++) assert_true(back[i] == 0.0);
    assert_int_equal(be->sync(be), 0);
    be->release(be, p);
    assert_int_equal(be->relu_fwd(be, 7, 1, host, back), TCET_ERR_USAGE);   /* no such dtype */
    tcet_error_clear();
    /* fp16 exists but not on the CPU backend (tests/unit/test_f16_refusal.c) */
    assert_int_equal(be->relu_fwd(be, TCET_F16, 1, host, back), TCET_ERR_BACKEND);
    tcet_error_clear();
}

/* ---- batch norm ------------------------------------------------------------ */

typedef struct { int n, c, hw; } bn_shape;
static const bn_shape bn_shapes[] = { { 2, 3, 25 }, { 4, 16, 9 }, { 3, 64, 49 }, { 2, 5, 1 }, { 4, 8, 81 } };

/* naive: per channel batch mean, biased var */
static void bn_naive(const bn_shape *s, const double *x, const double *g, const double *b, double eps,
                     double *y, double *mean, double *invstd)
{
    size_t m = (size_t)s->n * s->hw;
    for (int c = 0; c < s->c; c++) {
        double mu = 0, var = 0;
        for (int i = 0; i < s->n; i++)
            for (int q = 0; q < s->hw; q++) mu += x[((size_t)i * s->c + c) * s->hw + q];
        mu /= (double)m;
        for (int i = 0; i < s->n; i++)
            for (int q = 0; q < s->hw; q++) {
                double v = x[((size_t)i * s->c + c) * s->hw + q] - mu;
                var += v * v;
            }
        var /= (double)m;
        mean[c] = mu;
        invstd[c] = 1 / sqrt(var + eps);
        for (int i = 0; i < s->n; i++)
            for (int q = 0; q < s->hw; q++) {
                size_t j = ((size_t)i * s->c + c) * s->hw + q;
                y[j] = (x[j] - mu) * invstd[c] * g[c] + b[c];
            }
    }
}

static void test_bn_forward(void **state)
{
    const double eps = 1e-3;
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t k = 0; k < sizeof bn_shapes / sizeof *bn_shapes; k++) {
            const bn_shape *s = &bn_shapes[k];
            size_t cnt = (size_t)s->n * s->c * s->hw;
            double *x = rand_vec(cnt), *g = rand_vec(s->c), *b = rand_vec(s->c);
            double *rm = rand_vec(s->c), *rv = rand_vec(s->c);
            for (int c = 0; c < s->c; c++) rv[c] = 0.5 + fabs(rv[c]);
            for (size_t i = 0; i < cnt; i++) x[i] = 3 * x[i] + 0.5; /* non-zero mean */
            round_to(dt, x, cnt), round_to(dt, g, s->c), round_to(dt, b, s->c);
            round_to(dt, rm, s->c), round_to(dt, rv, s->c);
            void *X = as_dt(dt, x, cnt), *G = as_dt(dt, g, s->c), *B = as_dt(dt, b, s->c);
            void *RM = as_dt(dt, rm, s->c), *RV = as_dt(dt, rv, s->c);
            void *Y = malloc(cnt * 8), *SM = malloc(s->c * 8), *SI = malloc(s->c * 8);
            double *y = malloc(cnt * sizeof *y), *ref = malloc(cnt * sizeof *ref);
            double *mean = malloc(s->c * sizeof *mean), *inv = malloc(s->c * sizeof *inv), *got = malloc(s->c * sizeof *got);
            /* train */
            assert_int_equal(be->bn_fwd(be, dt, 1, s->n, s->c, s->hw, eps, 0.1, X, G, B, RM, RV, 0, Y, SM, SI), 0);
            bn_naive(s, x, g, b, eps, ref, mean, inv);
            from_dt(dt, Y, cnt, y);
            assert_true(relerr(y, ref, cnt) < tol_of(dt));
            from_dt(dt, SM, s->c, got);
            assert_true(relerr(got, mean, s->c) < tol_of(dt));
            from_dt(dt, SI, s->c, got);
            assert_true(relerr(got, inv, s->c) < tol_of(dt));
            from_dt(dt, RM, s->c, got); /* update_running = 0: untouched */
            assert_memory_equal(got, rm, s->c * sizeof *got);
            /* eval: running statistics */
            assert_int_equal(be->bn_fwd(be, dt, 0, s->n, s->c, s->hw, eps, 0.1, X, G, B, RM, RV, 0, Y, NULL, NULL), 0);
            for (int c = 0; c < s->c; c++)
                for (int i = 0; i < s->n; i++)
                    for (int q = 0; q < s->hw; q++) {
                        size_t j = ((size_t)i * s->c + c) * s->hw + q;
                        ref[j] = (x[j] - rm[c]) / sqrt(rv[c] + eps) * g[c] + b[c];
                    }
            from_dt(dt, Y, cnt, y);
            assert_true(relerr(y, ref, cnt) < tol_of(dt));
            free(x), free(g), free(b), free(rm), free(rv), free(X), free(G), free(B), free(RM), free(RV);
            free(Y), free(SM), free(SI), free(y), free(ref), free(mean), free(inv), free(got);
        }
    /* one value per channel cannot be normalised in training mode */
    double one[2] = { 1, 2 }, out[2], sm[2], si[2], r[2] = { 0, 1 };
    assert_int_equal(be->bn_fwd(be, TCET_F64, 1, 1, 2, 1, eps, 0.1, one, NULL, NULL, r, r, 0, out, sm, si),
                     TCET_ERR_RUNTIME);
    tcet_error_clear();
}

/* running = (1 - m) running + m batch with the unbiased variance (PyTorch) */
static void test_bn_running_update(void **state)
{
    /* n = 2, c = 2, hw = 2.  Channel 0 values 1, 2, 3, 4: mean 2.5, biased
     * var 1.25, unbiased 5/3.  Channel 1 values -1, -1, 5, 1: mean 1, biased
     * var 6, unbiased 8. */
    const double x[8] = { 1, 2, -1, -1, 3, 4, 5, 1 };
    for (int dt = TCET_F32; dt <= TCET_F64; dt++) {
        const double rm0[2] = { 0, 0.5 }, rv0[2] = { 1, 2 };
        void *X = as_dt(dt, x, 8), *RM = as_dt(dt, rm0, 2), *RV = as_dt(dt, rv0, 2);
        void *Y = malloc(64), *SM = malloc(16), *SI = malloc(16);
        const double g[2] = { 1, 1 }, b[2] = { 0, 0 };
        void *G = as_dt(dt, g, 2), *B = as_dt(dt, b, 2);
        assert_int_equal(be->bn_fwd(be, dt, 1, 2, 2, 2, 1e-5, 0.1, X, G, B, RM, RV, 1, Y, SM, SI), 0);
        double got[2], tol = dt == TCET_F32 ? 1e-7 : 1e-15;
        from_dt(dt, RM, 2, got);
        assert_rel_close(got[0], 0.9 * 0 + 0.1 * 2.5, tol);
        assert_rel_close(got[1], 0.9 * 0.5 + 0.1 * 1, tol);
        from_dt(dt, RV, 2, got);
        assert_rel_close(got[0], 0.9 * 1 + 0.1 * 5.0 / 3.0, tol);
        assert_rel_close(got[1], 0.9 * 2 + 0.1 * 8, tol);
        from_dt(dt, SI, 2, got);
        assert_rel_close(got[0], 1 / sqrt(1.25 + 1e-5), tol);
        assert_rel_close(got[1], 1 / sqrt(6 + 1e-5), tol);
        /* a second step moves again from the updated values (momentum 0.5) */
        assert_int_equal(be->bn_fwd(be, dt, 1, 2, 2, 2, 1e-5, 0.5, X, G, B, RM, RV, 1, Y, SM, SI), 0);
        from_dt(dt, RM, 2, got);
        assert_rel_close(got[0], 0.5 * 0.25 + 0.5 * 2.5, tol);
        from_dt(dt, RV, 2, got);
        assert_rel_close(got[1], 0.5 * 2.6 + 0.5 * 8, tol);
        free(X), free(RM), free(RV), free(Y), free(SM), free(SI), free(G), free(B);
    }
}

typedef struct {
    const bn_shape *s;
    double *x, *g, *b, *r, *y, *sm, *si;
} bn_ctx;
static double bn_loss(void *p)
{
    bn_ctx *c = p;
    double rm[64], rv[64];
    assert_int_equal(be->bn_fwd(be, TCET_F64, 1, c->s->n, c->s->c, c->s->hw, 1e-3, 0.1, c->x, c->g, c->b, rm, rv, 0,
                                c->y, c->sm, c->si), 0);
    return dot(c->y, c->r, (size_t)c->s->n * c->s->c * c->s->hw);
}

static void test_bn_gradients(void **state)
{
    for (size_t k = 0; k < sizeof bn_shapes / sizeof *bn_shapes; k++) {
        const bn_shape *s = &bn_shapes[k];
        size_t cnt = (size_t)s->n * s->c * s->hw;
        bn_ctx c = { s, rand_vec(cnt), rand_vec(s->c), rand_vec(s->c), rand_vec(cnt), malloc(cnt * 8),
                     malloc(s->c * 8), malloc(s->c * 8) };
        double *dx = malloc(cnt * 8), *dg = malloc(s->c * 8), *db = malloc(s->c * 8);
        bn_loss(&c); /* save_mean / save_invstd */
        assert_int_equal(be->bn_bwd(be, TCET_F64, s->n, s->c, s->hw, c.x, c.r, c.g, c.sm, c.si, dx, dg, db), 0);
        double ex = fd_rel(bn_loss, &c, c.x, cnt, dx, 1e-5);
        double eg = fd_rel(bn_loss, &c, c.g, s->c, dg, 1e-5);
        double eb = fd_rel(bn_loss, &c, c.b, s->c, db, 1e-5);
        if (ex >= 1e-6 || eg >= 1e-6 || eb >= 1e-6)
            print_error("bn shape %zu: fd rel err dx %.3g dgamma %.3g dbeta %.3g\n", k, ex, eg, eb);
        assert_true(ex < 1e-6 && eg < 1e-6 && eb < 1e-6);

        /* float32 vs float64 analytic gradients (same float inputs) */
        round_to(TCET_F32, c.x, cnt), round_to(TCET_F32, c.g, s->c), round_to(TCET_F32, c.r, cnt);
        round_to(TCET_F32, c.b, s->c);
        bn_loss(&c);
        assert_int_equal(be->bn_bwd(be, TCET_F64, s->n, s->c, s->hw, c.x, c.r, c.g, c.sm, c.si, dx, dg, db), 0);
        float *X = as_dt(TCET_F32, c.x, cnt), *G = as_dt(TCET_F32, c.g, s->c), *B = as_dt(TCET_F32, c.b, s->c);
        float *R = as_dt(TCET_F32, c.r, cnt), *Y = malloc(cnt * 4), *SM = malloc(s->c * 4), *SI = malloc(s->c * 4);
        float *DX = malloc(cnt * 4), *DG = malloc(s->c * 4), *DB = malloc(s->c * 4);
        assert_int_equal(be->bn_fwd(be, TCET_F32, 1, s->n, s->c, s->hw, 1e-3, 0.1, X, G, B, NULL, NULL, 0, Y, SM, SI), 0);
        assert_int_equal(be->bn_bwd(be, TCET_F32, s->n, s->c, s->hw, X, R, G, SM, SI, DX, DG, DB), 0);
        double *t = malloc(cnt * 8);
        from_dt(TCET_F32, DX, cnt, t);
        assert_true(relerr(t, dx, cnt) < 1e-4);
        from_dt(TCET_F32, DG, s->c, t);
        assert_true(relerr(t, dg, s->c) < 1e-4);
        from_dt(TCET_F32, DB, s->c, t);
        assert_true(relerr(t, db, s->c) < 1e-4);
        free(t), free(X), free(G), free(B), free(R), free(Y), free(SM), free(SI), free(DX), free(DG), free(DB);
        free(c.x), free(c.g), free(c.b), free(c.r), free(c.y), free(c.sm), free(c.si), free(dx), free(dg), free(db);
    }
}

/* ---- ReLU, add, GAP ------------------------------------------------------- */

static void test_relu_add(void **state)
{
    const size_t n = 1001;
    for (int dt = TCET_F32; dt <= TCET_F64; dt++) {
        double *x = rand_vec(n), *b = rand_vec(n), *dy = rand_vec(n), *got = malloc(n * 8);
        x[3] = 0, x[4] = -0.0;
        round_to(dt, x, n), round_to(dt, b, n), round_to(dt, dy, n);
        void *X = as_dt(dt, x, n), *B = as_dt(dt, b, n), *DY = as_dt(dt, dy, n), *Y = malloc(n * 8), *DX = malloc(n * 8);
        assert_int_equal(be->relu_fwd(be, dt, n, X, Y), 0);
        from_dt(dt, Y, n, got);
        for (size_t i = 0; i < n; i++) assert_true(got[i] == (x[i] > 0 ? x[i] : 0));
        assert_int_equal(be->relu_bwd(be, dt, n, Y, DY, DX), 0);
        from_dt(dt, DX, n, got);
        for (size_t i = 0; i < n; i++) assert_true(got[i] == (x[i] > 0 ? dy[i] : 0));
        assert_int_equal(be->add(be, dt, n, X, B, Y), 0);
        from_dt(dt, Y, n, got);
        for (size_t i = 0; i < n; i++) assert_true(got[i] == (dt == TCET_F32 ? (double)(float)(x[i] + b[i]) : x[i] + b[i]));
        /* in place: y = x */
        assert_int_equal(be->relu_fwd(be, dt, n, X, X), 0);
        from_dt(dt, X, n, got);
        for (size_t i = 0; i < n; i++) assert_true(got[i] == (x[i] > 0 ? x[i] : 0));
        free(x), free(b), free(dy), free(got), free(X), free(B), free(DY), free(Y), free(DX);
    }
    /* finite differences of Σ r relu(x) in float64, x away from the kink */
    double x[64], y[64], r[64], dx[64];
    for (int i = 0; i < 64; i++) {
        x[i] = urand();
        if (fabs(x[i]) < 0.05) x[i] = 0.5;
        r[i] = urand();
    }
    assert_int_equal(be->relu_fwd(be, TCET_F64, 64, x, y), 0);
    assert_int_equal(be->relu_bwd(be, TCET_F64, 64, y, r, dx), 0);
    for (int i = 0; i < 64; i++) {
        const double h = 1e-6;
        double lp = 0, lm = 0, v0 = x[i];
        x[i] = v0 + h;
        assert_int_equal(be->relu_fwd(be, TCET_F64, 64, x, y), 0);
        lp = dot(y, r, 64);
        x[i] = v0 - h;
        assert_int_equal(be->relu_fwd(be, TCET_F64, 64, x, y), 0);
        lm = dot(y, r, 64);
        x[i] = v0;
        assert_true(fabs((lp - lm) / (2 * h) - dx[i]) < 1e-6);
    }
}

static void test_gap(void **state)
{
    const int n = 3, c = 5, hw = 49;
    const size_t cnt = (size_t)n * c * hw;
    for (int dt = TCET_F32; dt <= TCET_F64; dt++) {
        double *x = rand_vec(cnt), *dy = rand_vec(n * c), ref[15], got[15];
        round_to(dt, x, cnt), round_to(dt, dy, n * c);
        void *X = as_dt(dt, x, cnt), *DY = as_dt(dt, dy, n * c), *Y = malloc(15 * 8), *DX = malloc(cnt * 8);
        assert_int_equal(be->gap_fwd(be, dt, n, c, hw, X, Y), 0);
        for (int i = 0; i < n * c; i++) {
            ref[i] = 0;
            for (int q = 0; q < hw; q++) ref[i] += x[(size_t)i * hw + q];
            ref[i] /= hw;
        }
        from_dt(dt, Y, 15, got);
        assert_true(relerr(got, ref, 15) < tol_of(dt));
        assert_int_equal(be->gap_bwd(be, dt, n, c, hw, DY, DX), 0);
        double *dx = malloc(cnt * 8);
        from_dt(dt, DX, cnt, dx);
        for (size_t j = 0; j < cnt; j++) assert_rel_close(dx[j], dy[j / hw] / hw, dt == TCET_F32 ? 1e-6 : 1e-15);
        if (dt == TCET_F64) { /* finite differences of Σ r gap(x) */
            double yy[15];
            for (int t = 0; t < 16; t++) {
                size_t j = pick(cnt);
                double v0 = x[j];
                x[j] = v0 + 1e-6;
                assert_int_equal(be->gap_fwd(be, dt, n, c, hw, x, yy), 0);
                double lp = dot(yy, dy, 15);
                x[j] = v0 - 1e-6;
                assert_int_equal(be->gap_fwd(be, dt, n, c, hw, x, yy), 0);
                double lm = dot(yy, dy, 15);
                x[j] = v0;
                assert_rel_close((lp - lm) / 2e-6, dx[j], 1e-6);
            }
        }
        free(x), free(dy), free(X), free(DY), free(Y), free(DX), free(dx);
    }
}

/* ---- linear --------------------------------------------------------------- */

typedef struct {
    int n, in, out;
    double *x, *w, *b, *r, *y;
} lin_ctx;
static double lin_loss(void *p)
{
    lin_ctx *c = p;
    assert_int_equal(be->linear_fwd(be, TCET_F64, c->n, c->in, c->out, c->x, c->w, c->b, c->y), 0);
    return dot(c->y, c->r, (size_t)c->n * c->out);
}

static void test_linear(void **state)
{
    const int n = 4, in = 64, out = 10;
    for (int dt = TCET_F32; dt <= TCET_F64; dt++) {
        double *x = rand_vec(n * in), *w = rand_vec(out * in), *b = rand_vec(out), ref[40], got[40];
        round_to(dt, x, n * in), round_to(dt, w, out * in), round_to(dt, b, out);
        void *X = as_dt(dt, x, n * in), *W = as_dt(dt, w, out * in), *B = as_dt(dt, b, out), *Y = malloc(40 * 8);
        for (int bias = 0; bias < 2; bias++) {
            assert_int_equal(be->linear_fwd(be, dt, n, in, out, X, W, bias ? B : NULL, Y), 0);
            for (int i = 0; i < n; i++)
                for (int o = 0; o < out; o++) {
                    double s = bias ? b[o] : 0;
                    for (int j = 0; j < in; j++) s += x[i * in + j] * w[o * in + j];
                    ref[i * out + o] = s;
                }
            from_dt(dt, Y, 40, got);
            assert_true(relerr(got, ref, 40) < tol_of(dt));
        }
        free(x), free(w), free(b), free(X), free(W), free(B), free(Y);
    }
    lin_ctx c = { n, in, out, rand_vec(n * in), rand_vec(out * in), rand_vec(out), rand_vec(n * out), malloc(40 * 8) };
    double *dx = malloc(n * in * 8), *dw = malloc(out * in * 8), *db = malloc(out * 8);
    assert_int_equal(be->linear_bwd(be, TCET_F64, n, in, out, c.x, c.w, c.r, dx, dw, db), 0);
    assert_true(fd_rel(lin_loss, &c, c.x, n * in, dx, 1e-5) < 1e-6);
    assert_true(fd_rel(lin_loss, &c, c.w, out * in, dw, 1e-5) < 1e-6);
    assert_true(fd_rel(lin_loss, &c, c.b, out, db, 1e-5) < 1e-6);
    /* float32 vs float64 gradients; NULL dx / db are skipped */
    round_to(TCET_F32, c.x, n * in), round_to(TCET_F32, c.w, out * in), round_to(TCET_F32, c.r, n * out);
    assert_int_equal(be->linear_bwd(be, TCET_F64, n, in, out, c.x, c.w, c.r, dx, dw, db), 0);
    float *X = as_dt(TCET_F32, c.x, n * in), *W = as_dt(TCET_F32, c.w, out * in), *R = as_dt(TCET_F32, c.r, n * out);
    float *DX = malloc(n * in * 4), *DW = malloc(out * in * 4), *DB = malloc(out * 4);
    double *t = malloc(out * in * 8);
    assert_int_equal(be->linear_bwd(be, TCET_F32, n, in, out, X, W, R, DX, DW, DB), 0);
    from_dt(TCET_F32, DX, n * in, t);
    assert_true(relerr(t, dx, n * in) < 1e-4);
    from_dt(TCET_F32, DW, out * in, t);
    assert_true(relerr(t, dw, out * in) < 1e-4);
    from_dt(TCET_F32, DB, out, t);
    assert_true(relerr(t, db, out) < 1e-4);
    memset(DW, 0, out * in * 4);
    assert_int_equal(be->linear_bwd(be, TCET_F32, n, in, out, X, W, R, NULL, DW, NULL), 0);
    from_dt(TCET_F32, DW, out * in, t);
    assert_true(relerr(t, dw, out * in) < 1e-4);
    free(t), free(X), free(W), free(R), free(DX), free(DW), free(DB);
    free(c.x), free(c.w), free(c.b), free(c.r), free(c.y), free(dx), free(dw), free(db);
}

/* ---- softmax cross-entropy ----------------------------------------------- */

static void test_softmax_xent(void **state)
{
    enum { N = 4, C = 10 };
    float l[N * C], g[N * C];
    int32_t lab[N] = { 0, 9, 3, 3 };
    /* logits on a 2^-12 grid in [-4, 4]: l ± 2^-14 is exact in float, so
     * the central difference below is a float64 difference of the loss */
    for (int i = 0; i < N * C; i++) l[i] = (float)(round(urand() * 4 * 4096) / 4096);
    double loss, ref = 0;
    assert_int_equal(be->softmax_xent(be, N, C, l, lab, &loss, g), 0);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < C; j++) s += exp(l[i * C + j]);
        ref += log(s) - l[i * C + lab[i]];
        for (int j = 0; j < C; j++) {
            double p = exp(l[i * C + j]) / s - (j == lab[i]);
            assert_rel_close(g[i * C + j], p / N, 1e-6);
        }
    }
    assert_rel_close(loss, ref / N, 1e-14);
    const double h = 0x1p-14;
    double emax = 0, amax = 0;
    for (int k = 0; k < N * C; k++) {
        float v0 = l[k];
        double lp, lm;
        l[k] = (float)(v0 + h);
        assert_int_equal(be->softmax_xent(be, N, C, l, lab, &lp, NULL), 0);
        l[k] = (float)(v0 - h);
        assert_int_equal(be->softmax_xent(be, N, C, l, lab, &lm, NULL), 0);
        l[k] = v0;
        double fd = (lp - lm) / (2 * h);
        if (fabs(fd - g[k]) > emax) emax = fabs(fd - g[k]);
        if (fabs(g[k]) > amax) amax = fabs(g[k]);
    }
    assert_true(emax / amax < 1e-6);
    /* numerically stable for huge logits: log(1 + e^-1000) = 0, and 1000 */
    float big[4] = { 1000, 0, 0, 1000 };
    int32_t lb[2] = { 0, 0 };
    assert_int_equal(be->softmax_xent(be, 2, 2, big, lb, &loss, g), 0);
    assert_rel_close(loss, 500.0, 1e-15);
    assert_true(g[0] == 0 && g[1] == 0 && g[2] == -0.5f && g[3] == 0.5f);
    /* a label outside the classes is a data error */
    lb[1] = 2;
    assert_int_equal(be->softmax_xent(be, 2, 2, big, lb, &loss, g), TCET_ERR_DATA);
    tcet_error_clear();
}

/* ---- NASWOT Gram ---------------------------------------------------------- */

static void gram_check(int n, size_t d, const float *x)
{
    double *K = malloc((size_t)n * n * 8);
    int64_t *pos = malloc((size_t)n * 8);
    assert_int_equal(be->gram_codes(be, n, d, x, K, pos), 0);
    for (int i = 0; i < n; i++) {
        int64_t p = 0;
        for (size_t u = 0; u < d; u++) p += x[(size_t)i * d + u] > 0;
        assert_int_equal(pos[i], p);
        for (int j = 0; j < n; j++) {
            int64_t agree = 0;
            for (size_t u = 0; u < d; u++) agree += (x[(size_t)i * d + u] > 0) == (x[(size_t)j * d + u] > 0);
            assert_true(K[(size_t)i * n + j] == (double)agree);
        }
    }
    free(K), free(pos);
}

static void test_gram_codes(void **state)
{
    /* random signs incl. exact +0 / -0 (code 0), one chunk and several chunks */
    const size_t dims[] = { 7, 200, 40000 };
    for (int t = 0; t < 3; t++) {
        const int n = t == 2 ? 4 : 6;
        size_t d = dims[t];
        float *x = malloc((size_t)n * d * sizeof *x);
        for (size_t i = 0; i < (size_t)n * d; i++) x[i] = (float)urand();
        x[0] = 0.0f, x[1] = -0.0f;
        gram_check(n, d, x);
        /* all-zero codes: every pair agrees everywhere */
        for (size_t i = 0; i < (size_t)n * d; i++) x[i] = -fabsf(x[i]);
        double *K = malloc((size_t)n * n * 8);
        int64_t pos[6];
        assert_int_equal(be->gram_codes(be, n, d, x, K, pos), 0);
        for (int i = 0; i < n; i++) {
            assert_int_equal(pos[i], 0);
            for (int j = 0; j < n; j++) assert_true(K[i * n + j] == (double)d);
        }
        /* all-one codes */
        for (size_t i = 0; i < (size_t)n * d; i++) x[i] = 1.0f + (float)i;
        gram_check(n, d, x);
        free(K), free(x);
    }
}

/* ---- saliency statistics --------------------------------------------------- */

static void test_saliency_stats(void **state)
{
    for (int dt = TCET_F32; dt <= TCET_F64; dt++) {
        double sum, sd;
        /* v = |w g| = 2, 2, 3: sum 7, mean 7/3, unbiased var (1/9 + 1/9 + 4/9) / 2 = 1/3 */
        const double w[3] = { 1, -2, 3 }, g[3] = { 2, 1, -1 };
        void *W = as_dt(dt, w, 3), *G = as_dt(dt, g, 3);
        assert_int_equal(be->saliency_stats(be, dt, 3, W, G, &sum, &sd), 0);
        assert_true(sum == 7.0);
        assert_rel_close(sd, sqrt(1.0 / 3.0), 1e-15);
        /* count 1: NaN std */
        assert_int_equal(be->saliency_stats(be, dt, 1, W, G, &sum, &sd), 0);
        assert_true(sum == 2.0 && isnan(sd));
        free(W), free(G);
        /* all equal: std exactly 0 */
        double we[37], ge[37];
        for (int i = 0; i < 37; i++) we[i] = i % 2 ? 0.75 : -0.375, ge[i] = i % 2 ? 0.5 : -1;
        W = as_dt(dt, we, 37), G = as_dt(dt, ge, 37);
        assert_int_equal(be->saliency_stats(be, dt, 37, W, G, &sum, &sd), 0);
        assert_true(sum == 37 * 0.375 && sd == 0.0);
        free(W), free(G);
        /* random, against a naive two-pass (product taken in the dtype) */
        const size_t n = 4099;
        double *wr = rand_vec(n), *gr = rand_vec(n), *v = malloc(n * 8), s = 0, ss = 0;
        round_to(dt, wr, n), round_to(dt, gr, n);
        for (size_t i = 0; i < n; i++) {
            v[i] = dt == TCET_F32 ? fabsf((float)wr[i] * (float)gr[i]) : fabs(wr[i] * gr[i]);
            s += v[i];
        }
        for (size_t i = 0; i < n; i++) ss += (v[i] - s / n) * (v[i] - s / n);
        W = as_dt(dt, wr, n), G = as_dt(dt, gr, n);
        assert_int_equal(be->saliency_stats(be, dt, n, W, G, &sum, &sd), 0);
        assert_rel_close(sum, s, 1e-13);
        assert_rel_close(sd, sqrt(ss / (n - 1)), 1e-13);
        free(W), free(G), free(wr), free(gr), free(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_and_memory),
        cmocka_unit_test(test_bn_forward),
        cmocka_unit_test(test_bn_running_update),
        cmocka_unit_test(test_bn_gradients),
        cmocka_unit_test(test_relu_add),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_gram_codes),
        cmocka_unit_test(test_saliency_stats),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
