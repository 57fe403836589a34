/* CPU backend convolutions against naive double loops written here, central
 * finite differences (float64), float32-vs-float64 gradients, determinism and
 * scratch reuse.  Shapes come from the search space: channels 3..64, kernels
 * 1/3/5/7, stride 1/2, dense, grouped and depthwise, batch 2-4, odd sizes. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "kernels/backend.h"
#include "kernels/cpu/backend_cpu.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
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

/* device buffer of dtype dt holding src (rounded to float for F32) */
static void *dev_from(tcet_backend *be, int dt, const double *src, size_t n)
{
    void *p = be->alloc(be, n * tcet_dtype_size(dt));
    assert_non_null(p);
    if (dt == TCET_F64) {
        assert_int_equal(be->upload(be, p, src, n * sizeof(double)), 0);
    } else {
        float *t = malloc(n * sizeof *t);
        for (size_t i = 0; i < n; i++) t[i] = (float)src[i];
        assert_int_equal(be->upload(be, p, t, n * sizeof(float)), 0);
        free(t);
    }
    return p;
}
static void dev_to(tcet_backend *be, int dt, const void *p, size_t n, double *out)
{
    if (dt == TCET_F64) {
        assert_int_equal(be->download(be, out, p, n * sizeof(double)), 0);
    } else {
        float *t = malloc(n * sizeof *t);
        assert_int_equal(be->download(be, t, p, n * sizeof(float)), 0);
        for (size_t i = 0; i < n; i++) out[i] = t[i];
        free(t);
    }
}
/* the values as the device holds them (float-rounded for F32) */
static void round_to(int dt, double *v, size_t n)
{
    if (dt == TCET_F32)
        for (size_t i = 0; i < n; i++) v[i] = (float)v[i];
}
/* max |a - b| / max |b| */
static double relerr(const double *a, const double *b, size_t n)
{
    double e = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > e || isnan(a[i])) e = isnan(a[i]) ? INFINITY : fabs(a[i] - b[i]);
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

/* ---- shapes ------------------------------------------------------------- */

typedef struct { int n, cin, cout, k, stride, pad, groups, h, w; } shape;

static const shape shapes[] = {
    { 2, 3, 8, 3, 1, 1, 1, 9, 9 },      /* stem */
    { 3, 16, 24, 3, 2, 1, 1, 7, 7 },    /* stride 2, odd size */
    { 2, 8, 16, 1, 1, 0, 1, 5, 5 },     /* 1x1 (plain GEMM path) */
    { 4, 16, 8, 1, 2, 0, 1, 9, 9 },     /* 1x1 stride 2 */
    { 4, 64, 48, 1, 1, 0, 1, 8, 8 },    /* 1x1, images tiled into one GEMM */
    { 2, 12, 12, 5, 1, 2, 12, 8, 8 },   /* depthwise k5 */
    { 3, 24, 24, 7, 2, 3, 24, 9, 9 },   /* depthwise k7 stride 2 */
    { 2, 8, 8, 3, 2, 1, 8, 5, 5 },      /* depthwise k3 stride 2, odd */
    { 2, 16, 16, 3, 1, 1, 16, 6, 7 },   /* depthwise, non-square */
    { 2, 16, 32, 3, 1, 1, 4, 6, 6 },    /* groups 4 */
    { 3, 6, 12, 5, 2, 2, 2, 9, 7 },     /* groups 2, stride 2, non-square */
    { 2, 64, 64, 3, 1, 1, 1, 5, 5 },    /* 64 channels */
    { 2, 32, 24, 7, 1, 3, 1, 7, 7 },    /* k7 */
    { 2, 5, 7, 5, 2, 2, 1, 6, 6 },      /* k5 stride 2, even size */
    { 2, 4, 6, 3, 1, 0, 1, 7, 7 },      /* no padding */
    { 2, 4, 8, 1, 1, 0, 1, 32, 32 },    /* 1x1 at 32x32: GEMM straight on x */
    { 2, 3, 4, 3, 1, 1, 1, 32, 32 },    /* 3x3 at 32x32: one image per GEMM */
    { 2, 4, 6, 3, 2, 1, 1, 32, 32 },    /* stride 2 at 32x32 */
    { 2, 4, 4, 3, 1, 1, 4, 33, 33 },    /* depthwise, large odd plane */
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

static tcet_conv_desc desc_of(const shape *s)
{
    tcet_conv_desc d = { .n = s->n, .cin = s->cin, .cout = s->cout, .k = s->k, .stride = s->stride,
                         .pad = s->pad, .groups = s->groups, .h = s->h, .w = s->w };
    d.ho = (s->h + 2 * s->pad - s->k) / s->stride + 1;
    d.wo = (s->w + 2 * s->pad - s->k) / s->stride + 1;
    return d;
}
static size_t nx(const tcet_conv_desc *d) { return (size_t)d->n * d->cin * d->h * d->w; }
static size_t ny(const tcet_conv_desc *d) { return (size_t)d->n * d->cout * d->ho * d->wo; }
static size_t nw(const tcet_conv_desc *d) { return (size_t)d->cout * (d->cin / d->groups) * d->k * d->k; }

/* Naive convolution: visits every (input, weight, output) triple directly.
 * mode 0: y += x w (+ b); 1: dx += w dy; 2: dw += x dy, db += dy. */
static void conv_naive(const tcet_conv_desc *d, int mode, const double *x, const double *w,
                       const double *b, double *y, double *dx, double *dw, double *db)
{
    const int cin_g = d->cin / d->groups, cout_g = d->cout / d->groups, k = d->k;
    if (mode == 0) memset(y, 0, ny(d) * sizeof *y);
    if (mode == 1) memset(dx, 0, nx(d) * sizeof *dx);
    if (mode == 2) {
        memset(dw, 0, nw(d) * sizeof *dw);
        if (db) memset(db, 0, (size_t)d->cout * sizeof *db);
    }
    for (int n = 0; n < d->n; n++)
        for (int co = 0; co < d->cout; co++)
            for (int oh = 0; oh < d->ho; oh++)
                for (int ow = 0; ow < d->wo; ow++) {
                    size_t yi = (((size_t)n * d->cout + co) * d->ho + oh) * d->wo + ow;
                    if (mode == 0 && b) y[yi] += b[co];
                    if (mode == 2 && db) db[co] += y[yi];
                    for (int cl = 0; cl < cin_g; cl++) {
                        int ci = co / cout_g * cin_g + cl;
                        for (int kh = 0; kh < k; kh++)
                            for (int kw = 0; kw < k; kw++) {
                                int ih = oh * d->stride + kh - d->pad, iw = ow * d->stride + kw - d->pad;
                                if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
                                size_t xi = (((size_t)n * d->cin + ci) * d->h + ih) * d->w + iw;
                                size_t wi = (((size_t)co * cin_g + cl) * k + kh) * k + kw;
                                if (mode == 0) y[yi] += x[xi] * w[wi];
                                if (mode == 1) dx[xi] += w[wi] * y[yi];
                                if (mode == 2) dw[wi] += x[xi] * y[yi];
                            }
                    }
                }
}

/* ---- tests -------------------------------------------------------------- */

typedef struct {
    double *x, *w, *b, *dy;
} conv_data;

static conv_data make_data(const tcet_conv_desc *d)
{
    conv_data c = { rand_vec(nx(d)), rand_vec(nw(d)), rand_vec((size_t)d->cout), rand_vec(ny(d)) };
    return c;
}
static void free_data(conv_data *c)
{
    free(c->x);
    free(c->w);
    free(c->b);
    free(c->dy);
}

/* Forward, bwd_data and bwd_filter of every shape, both dtypes, with and
 * without bias, against the naive loops, under a given GEMM tiling. */
static void conv_vs_naive(size_t tile_n, size_t col_max, size_t col_band)
{
    tcet_backend *be = tcet_backend_cpu_create(1);
    tcet_cpu_set_conv_tiling(be, tile_n, col_max, col_band);
    for (int dt = TCET_F32; dt <= TCET_F64; dt++) {
        const double tol = dt == TCET_F32 ? 1e-5 : 1e-12;
        for (int s = 0; s < NSHAPES; s++) {
            tcet_conv_desc d = desc_of(&shapes[s]);
            conv_data c = make_data(&d);
            round_to(dt, c.x, nx(&d));
            round_to(dt, c.w, nw(&d));
            round_to(dt, c.b, (size_t)d.cout);
            round_to(dt, c.dy, ny(&d));
            void *x = dev_from(be, dt, c.x, nx(&d)), *w = dev_from(be, dt, c.w, nw(&d));
            void *b = dev_from(be, dt, c.b, (size_t)d.cout), *dy = dev_from(be, dt, c.dy, ny(&d));
            void *y = be->alloc(be, ny(&d) * 8), *dx = be->alloc(be, nx(&d) * 8);
            void *dw = be->alloc(be, nw(&d) * 8), *db = be->alloc(be, (size_t)d.cout * 8);
            double *got = malloc((ny(&d) + nx(&d) + nw(&d)) * sizeof *got);
            double *ref = malloc((ny(&d) + nx(&d) + nw(&d) + (size_t)d.cout) * sizeof *ref);
            double *refb = ref + ny(&d) + nx(&d) + nw(&d);
            for (int bias = 0; bias < 2; bias++) {
                assert_int_equal(be->conv_fwd(be, dt, &d, x, w, bias ? b : NULL, y), 0);
                dev_to(be, dt, y, ny(&d), got);
                conv_naive(&d, 0, c.x, c.w, bias ? c.b : NULL, ref, NULL, NULL, NULL);
                double e = relerr(got, ref, ny(&d));
                if (e >= tol) print_error("fwd shape %d dt %d bias %d: rel err %.3g\n", s, dt, bias, e);
                assert_true(e < tol);
            }
            assert_int_equal(be->conv_bwd_data(be, dt, &d, w, dy, dx), 0);
            dev_to(be, dt, dx, nx(&d), got);
            conv_naive(&d, 1, NULL, c.w, NULL, c.dy, ref, NULL, NULL);
            double e = relerr(got, ref, nx(&d));
            if (e >= tol) print_error("bwd_data shape %d dt %d: rel err %.3g\n", s, dt, e);
            assert_true(e < tol);

            assert_int_equal(be->conv_bwd_filter(be, dt, &d, x, dy, dw, db), 0);
            dev_to(be, dt, dw, nw(&d), got);
            conv_naive(&d, 2, c.x, NULL, NULL, c.dy, NULL, ref, refb);
            e = relerr(got, ref, nw(&d));
            if (e >= tol) print_error("bwd_filter shape %d dt %d: rel err %.3g\n", s, dt, e);
            assert_true(e < tol);
            dev_to(be, dt, db, (size_t)d.cout, got);
            assert_true(relerr(got, refb, (size_t)d.cout) < tol);
            /* dbias alone (dw NULL) */
            assert_int_equal(be->zero(be, db, (size_t)d.cout * tcet_dtype_size(dt)), 0);
            assert_int_equal(be->conv_bwd_filter(be, dt, &d, x, dy, NULL, db), 0);
            dev_to(be, dt, db, (size_t)d.cout, got);
            assert_true(relerr(got, refb, (size_t)d.cout) < tol);

            free(got);
            free(ref);
            be->release(be, x), be->release(be, w), be->release(be, b), be->release(be, dy);
            be->release(be, y), be->release(be, dx), be->release(be, dw), be->release(be, db);
            free_data(&c);
        }
    }
    be->destroy(be);
}

/* default tiling: whole images, several small images per GEMM, 1x1 direct */
static void test_conv_vs_naive(void **state) { conv_vs_naive(0, 0, 0); }

/* tiny tiles: multi-image tiles with a partial last tile, and one image in
 * bands of a few output rows (tile boundaries inside the kernel footprint) */
static void test_conv_vs_naive_small_tiles(void **state) { conv_vs_naive(40, (size_t)1 << 16, 4096); }

/* one output row per GEMM, one image per tile */
static void test_conv_vs_naive_row_tiles(void **state) { conv_vs_naive(1, 1, 1); }

/* L = Σ r ⊙ conv(x, w, b) in float64 */
static double conv_loss(tcet_backend *be, const tcet_conv_desc *d, const double *x, const double *w,
                        const double *b, const double *r, double *y)
{
    assert_int_equal(be->conv_fwd(be, TCET_F64, d, x, w, b, y), 0);
    return dot(y, r, ny(d));
}

/* ∂L/∂v[i] by central differences for a sample of entries of v. Returns
 * max |fd - an| / max |an| over the sample. */
static double fd_check(tcet_backend *be, const tcet_conv_desc *d, double *x, double *w, double *b,
                       const double *r, double *y, double *v, size_t count, const double *an)
{
    const double h = 1e-5;
    double emax = 0, amax = 0;
    for (int t = 0; t < 16; t++) {
        size_t i = (size_t)((urand() + 1) / 2 * (double)count) % count;
        double v0 = v[i];
        v[i] = v0 + h;
        double lp = conv_loss(be, d, x, w, b, r, y);
        v[i] = v0 - h;
        double lm = conv_loss(be, d, x, w, b, r, y);
        v[i] = v0;
        double fd = (lp - lm) / (2 * h);
        if (fabs(fd - an[i]) > emax) emax = fabs(fd - an[i]);
        if (fabs(an[i]) > amax) amax = fabs(an[i]);
    }
    return emax / (amax > 0 ? amax : 1e-300);
}

/* Finite differences in float64 for dX, dW, dbias; then float32 analytic
 * gradients against the float64 ones. */
static void test_conv_gradients(void **state)
{
    tcet_backend *be = tcet_backend_cpu_create(1);
    for (int s = 0; s < NSHAPES; s++) {
        tcet_conv_desc d = desc_of(&shapes[s]);
        if (nx(&d) > 20000) continue; /* the 32x32 cases are covered above */
        conv_data c = make_data(&d);
        double *y = malloc(ny(&d) * sizeof *y);
        double *dx = malloc(nx(&d) * sizeof *dx), *dw = malloc(nw(&d) * sizeof *dw);
        double *db = malloc((size_t)d.cout * sizeof *db);
        assert_int_equal(be->conv_bwd_data(be, TCET_F64, &d, c.w, c.dy, dx), 0);
        assert_int_equal(be->conv_bwd_filter(be, TCET_F64, &d, c.x, c.dy, dw, db), 0);
        double ex = fd_check(be, &d, c.x, c.w, c.b, c.dy, y, c.x, nx(&d), dx);
        double ew = fd_check(be, &d, c.x, c.w, c.b, c.dy, y, c.w, nw(&d), dw);
        double eb = fd_check(be, &d, c.x, c.w, c.b, c.dy, y, c.b, (size_t)d.cout, db);
        if (ex >= 1e-6 || ew >= 1e-6 || eb >= 1e-6)
            print_error("shape %d: fd rel err dx %.3g dw %.3g db %.3g\n", s, ex, ew, eb);
        assert_true(ex < 1e-6 && ew < 1e-6 && eb < 1e-6);

        /* float32 gradients vs float64 gradients of the same (float) inputs */
        round_to(TCET_F32, c.x, nx(&d));
        round_to(TCET_F32, c.w, nw(&d));
        round_to(TCET_F32, c.dy, ny(&d));
        assert_int_equal(be->conv_bwd_data(be, TCET_F64, &d, c.w, c.dy, dx), 0);
        assert_int_equal(be->conv_bwd_filter(be, TCET_F64, &d, c.x, c.dy, dw, db), 0);
        void *x = dev_from(be, TCET_F32, c.x, nx(&d)), *w = dev_from(be, TCET_F32, c.w, nw(&d));
        void *dy = dev_from(be, TCET_F32, c.dy, ny(&d));
        void *dx32 = be->alloc(be, nx(&d) * 4), *dw32 = be->alloc(be, nw(&d) * 4), *db32 = be->alloc(be, (size_t)d.cout * 4);
        assert_int_equal(be->conv_bwd_data(be, TCET_F32, &d, w, dy, dx32), 0);
        assert_int_equal(be->conv_bwd_filter(be, TCET_F32, &d, x, dy, dw32, db32), 0);
        double *g = malloc((nx(&d) + nw(&d)) * sizeof *g);
        dev_to(be, TCET_F32, dx32, nx(&d), g);
        assert_true(relerr(g, dx, nx(&d)) < 1e-4);
        dev_to(be, TCET_F32, dw32, nw(&d), g);
        assert_true(relerr(g, dw, nw(&d)) < 1e-4);
        dev_to(be, TCET_F32, db32, (size_t)d.cout, g);
        assert_true(relerr(g, db, (size_t)d.cout) < 1e-4);
        free(g);
        be->release(be, x), be->release(be, w), be->release(be, dy);
        be->release(be, dx32), be->release(be, dw32), be->release(be, db32);
        free(y), free(dx), free(dw), free(db);
        free_data(&c);
    }
    be->destroy(be);
}

/* Same inputs, same bits, every call (also after other shapes ran). */
static void test_conv_deterministic(void **state)
{
    tcet_backend *be = tcet_backend_cpu_create(1);
    const int picks[] = { 1, 4, 6, 9 };
    for (int p = 0; p < 4; p++) {
        tcet_conv_desc d = desc_of(&shapes[picks[p]]);
        conv_data c = make_data(&d);
        void *x = dev_from(be, TCET_F32, c.x, nx(&d)), *w = dev_from(be, TCET_F32, c.w, nw(&d));
        void *dy = dev_from(be, TCET_F32, c.dy, ny(&d));
        size_t bytes = (ny(&d) + nx(&d) + nw(&d)) * 4;
        float *r1 = malloc(bytes), *r2 = malloc(bytes);
        for (int rep = 0; rep < 2; rep++) {
            float *r = rep ? r2 : r1;
            assert_int_equal(be->conv_fwd(be, TCET_F32, &d, x, w, NULL, r), 0);
            assert_int_equal(be->conv_bwd_data(be, TCET_F32, &d, w, dy, r + ny(&d)), 0);
            assert_int_equal(be->conv_bwd_filter(be, TCET_F32, &d, x, dy, r + ny(&d) + nx(&d), NULL), 0);
            tcet_conv_desc o = desc_of(&shapes[0]); /* disturb the scratch */
            conv_data oc = make_data(&o);
            double *oy = malloc(ny(&o) * sizeof *oy);
            assert_int_equal(be->conv_fwd(be, TCET_F64, &o, oc.x, oc.w, NULL, oy), 0);
            free(oy);
            free_data(&oc);
        }
        assert_memory_equal(r1, r2, bytes);
        free(r1), free(r2);
        be->release(be, x), be->release(be, w), be->release(be, dy);
        free_data(&c);
    }
    be->destroy(be);
}

/* 1000 varied conv calls after one pass over all shapes: the scratch arena
 * neither grows nor is reallocated. */
static void test_conv_scratch_reused(void **state)
{
    tcet_backend *be = tcet_backend_cpu_create(1);
    size_t maxx = 0, maxy = 0, maxw = 0, maxc = 0;
    for (int s = 0; s < NSHAPES; s++) {
        tcet_conv_desc d = desc_of(&shapes[s]);
        if (nx(&d) > maxx) maxx = nx(&d);
        if (ny(&d) > maxy) maxy = ny(&d);
        if (nw(&d) > maxw) maxw = nw(&d);
        if ((size_t)d.cout > maxc) maxc = (size_t)d.cout;
    }
    double *x = rand_vec(maxx), *w = rand_vec(maxw), *dy = rand_vec(maxy), *b = rand_vec(maxc);
    double *out = malloc((maxx > maxy ? (maxx > maxw ? maxx : maxw) : (maxy > maxw ? maxy : maxw)) * sizeof *out);
    for (int pass = 0; pass < 2; pass++) {
        size_t cap = tcet_cpu_scratch_capacity(be), grows = tcet_cpu_scratch_grows(be);
        int calls = pass ? 1000 : 3 * 2 * NSHAPES;
        for (int i = 0; i < calls; i++) {
            int s = pass ? (int)((urand() + 1) / 2 * NSHAPES) % NSHAPES : i / 6;
            int op = pass ? (int)((urand() + 1) * 1.5) % 3 : i % 3;
            int dt = pass ? (urand() > 0 ? TCET_F64 : TCET_F32) : (i / 3) % 2;
            tcet_conv_desc d = desc_of(&shapes[s]);
            if (pass && urand() > 0) d.n = 1 + (int)((urand() + 1) * 1.5) % d.n; /* smaller batches too */
            int rc = op == 0   ? be->conv_fwd(be, dt, &d, x, w, b, out)
                     : op == 1 ? be->conv_bwd_data(be, dt, &d, w, dy, out)
                               : be->conv_bwd_filter(be, dt, &d, x, dy, out, b);
            assert_int_equal(rc, 0);
        }
        if (pass) {
            assert_int_equal(tcet_cpu_scratch_capacity(be), cap);
            assert_int_equal(tcet_cpu_scratch_grows(be), grows);
        } else {
            assert_true(tcet_cpu_scratch_capacity(be) > 0);
        }
    }
    printf("scratch after 1000 calls: %zu bytes, %zu grows\n", tcet_cpu_scratch_capacity(be),
           tcet_cpu_scratch_grows(be));
    free(x), free(w), free(dy), free(b), free(out);
    be->destroy(be);
}

static void test_conv_rejects_bad_input(void **state)
{
    tcet_backend *be = tcet_backend_cpu_create(1);
    tcet_conv_desc d = desc_of(&shapes[0]);
    double buf[4096];
    assert_int_equal(be->conv_fwd(be, 7, &d, buf, buf, NULL, buf), TCET_ERR_USAGE);
    d.ho++;
    assert_int_equal(be->conv_fwd(be, TCET_F64, &d, buf, buf, NULL, buf), TCET_ERR_USAGE);
    d = desc_of(&shapes[9]);
    d.groups = 3; /* 16 channels not divisible */
    assert_int_equal(be->conv_bwd_data(be, TCET_F32, &d, buf, buf, buf), TCET_ERR_USAGE);
    tcet_error_clear();
    be->destroy(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_vs_naive),
        cmocka_unit_test(test_conv_vs_naive_small_tiles),
        cmocka_unit_test(test_conv_vs_naive_row_tiles),
        cmocka_unit_test(test_conv_gradients),
        cmocka_unit_test(test_conv_deterministic),
        cmocka_unit_test(test_conv_scratch_reused),
        cmocka_unit_test(test_conv_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
