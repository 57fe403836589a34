/* The direct float32 convolution kernels (kernels/cpu/cpu_direct.h), which
 * the default engine uses on the avx2 / avx512 paths for the convs their
 * shapes allow (forward, data and weight gradients):
 *  - against the float64 convolution of the same inputs (the reference
 *    path's im2col in double), with the float32 im2col path's own error
 *    beside it: the direct result must be as accurate as im2col's;
 *  - bit for bit run to run, between two backends (lanes), and for an image
 *    whatever its position in the batch (an image's outputs never depend on
 *    the other images: TE-NAS and ZiCo rely on that);
 *  - which shapes take the direct path, and that TCET_CPU_CONV=im2col
 *    turns it off;
 *  - the fused eval conv + BN + ReLU and its NASWOT codes against the
 *    separate ops and gram_codes, the fused pair of 1x1 convs against two
 *    of those, the fused backward of relu(bn(conv)) against its three
 *    ops, and the train-mode BN + ReLU fused into the 1x1 conv that reads
 *    it (forward and backward) against the separate ops;
 *  - outputs of 8 MiB or more, which the kernels stream past the caches:
 *    bit for bit the ordinary stores' results (each image alone);
 *  - the avx512 paths bit for bit against the avx2 path, where the CPU has
 *    them.
 * Where the CPU has no AVX2 + FMA, only one check runs: the generic path
 * never takes the direct kernels. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/backend_cpu.h"
#include "test_support.h"

static tcet_backend *be, *be2, *ref;

static int setup(void **state)
{
    (void)state;
    unsetenv("TCET_CPU_CONV");
    be = tcet_backend_cpu_create_isa(1, TCET_CPU_ISA_AVX2);
    be2 = tcet_backend_cpu_create_isa(1, TCET_CPU_ISA_AVX2);
    ref = tcet_backend_cpu_create_isa(1, TCET_CPU_ISA_AVX2);
    if (!be || !be2 || !ref) return -1;
    tcet_cpu_set_conv_engine(ref, TCET_CPU_CONV_IM2COL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    be->destroy(be), be2->destroy(be2), ref->destroy(ref);
    return 0;
}

static uint64_t lcg = 0x2545F4914F6CDD1Dull;
static float urand(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(2.0 * ((double)(lcg >> 11) / 9007199254740992.0) - 1.0);
}

static float *fbuf(size_t n, int random)
{
    float *p = calloc(n + 16, sizeof *p);
    assert_non_null(p);
    if (random)
        for (size_t i = 0; i < n; i++) p[i] = urand();
    return p;
}

static double *to_f64(const float *a, size_t n)
{
    double *p = malloc((n + 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = a[i];
    return p;
}

/* max |a - b| / max |b| */
static double err_vs(const float *a, const double *b, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs(b[i]));
    }
    return m > 0 ? d / m : d;
}

typedef struct {
    int n, cin, cout, k, h, w, bias;
    int fwd_direct, bwd_direct, filt_direct; /* which ops the default engine must run directly */
    int stride;
} shape;

/* ZenNet's stride-1 shapes (7x7 / 5x5 / 3x3 at 32, 16, 8; expanding and
 * reducing 1x1 at 32, 16 and 4), the tile edge cases (8-wide rows: two rows
 * per tile; output channels that leave 4 or 2 after the tiles of 6; 48-wide
 * rows), stride 2 (the forward; an odd input height), and shapes the direct
 * kernels refuse (rows of 4 for k > 1, odd output channels, a 1x1 plane of
 * 36 positions, stride-2 output rows of 4). */
static const shape shapes[] = {
    {2, 16, 16, 7, 32, 32, 0, 1, 1, 1, 1},  {2, 24, 24, 5, 16, 16, 0, 1, 1, 1, 1}, {3, 24, 24, 5, 8, 8, 0, 1, 1, 0, 1},
    {2, 40, 40, 3, 8, 8, 1, 1, 1, 0, 1},    {2, 16, 120, 1, 32, 32, 0, 1, 1, 1, 1}, {2, 224, 24, 1, 16, 16, 0, 1, 1, 1, 1},
    {2, 48, 112, 1, 4, 4, 1, 1, 1, 0, 1},   {2, 3, 88, 3, 32, 32, 0, 1, 0, 1, 1},   {2, 10, 14, 3, 16, 16, 1, 1, 1, 0, 1},
    {1, 6, 8, 5, 6, 48, 0, 1, 1, 1, 1},     {2, 12, 12, 3, 4, 4, 0, 0, 0, 0, 1},    {2, 8, 9, 3, 16, 16, 0, 0, 1, 0, 1},
    {2, 8, 10, 1, 6, 6, 0, 0, 0, 0, 1},
    {2, 8, 12, 1, 24, 32, 1, 1, 1, 1, 1}, /* 1x1 on 768 positions: a block of 512 and one of 256 */
    /* stride 2: the forward only, output rows of 16 or 8 */
    {2, 16, 16, 7, 32, 32, 0, 1, 0, 0, 2}, {2, 24, 24, 5, 16, 16, 1, 1, 0, 0, 2}, {2, 40, 40, 3, 8, 8, 0, 0, 0, 0, 2},
    {1, 8, 12, 3, 33, 32, 0, 1, 0, 0, 2},
};

/* The descriptor of a table shape; sizes of x, y and w. */
static tcet_conv_desc shape_desc(const shape *s, size_t *nx, size_t *ny, size_t *nw)
{
    const int p = s->k / 2, st = s->stride;
    const int ho = (s->h + 2 * p - s->k) / st + 1, wo = (s->w + 2 * p - s->k) / st + 1;
    *nx = (size_t)s->n * s->cin * s->h * s->w;
    *ny = (size_t)s->n * s->cout * ho * wo;
    *nw = (size_t)s->cout * s->cin * s->k * s->k;
    return (tcet_conv_desc){.n = s->n, .cin = s->cin, .cout = s->cout, .k = s->k, .stride = st, .pad = p,
                            .groups = 1, .h = s->h, .w = s->w, .ho = ho, .wo = wo};
}

static void conv(tcet_backend *b, int dt, int op, const tcet_conv_desc *d, const void *x, const void *w,
                 const void *bias, const void *dy, void *out)
{
    if (op == 0) assert_int_equal(b->conv_fwd(b, dt, d, x, w, bias, out), 0);
    else if (op == 1) assert_int_equal(b->conv_bwd_data(b, dt, d, w, dy, out), 0);
    else assert_int_equal(b->conv_bwd_filter(b, dt, d, x, dy, out, NULL), 0);
}

static void test_against_float64(void **state)
{
    (void)state;
    double worst_direct = 0, worst_im2col = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        size_t nx, ny, nw;
        tcet_conv_desc d = shape_desc(s, &nx, &ny, &nw);
        const int st = d.stride;
        float *x = fbuf(nx, 1), *w = fbuf(nw, 1), *bias = s->bias ? fbuf((size_t)s->cout, 1) : NULL,
              *dy = fbuf(ny, 1);
        double *x64 = to_f64(x, nx), *w64 = to_f64(w, nw), *b64 = bias ? to_f64(bias, (size_t)s->cout) : NULL,
               *dy64 = to_f64(dy, ny);
        for (int op = 0; op < 3; op++) {
            const size_t n = op == 0 ? ny : op == 1 ? nx : nw;
            float *o = fbuf(n, 0), *o2 = fbuf(n, 0), *o3 = fbuf(n, 0), *oi = fbuf(n, 0);
            double *o64 = malloc(n * sizeof *o64);
            const size_t calls = tcet_cpu_direct_calls(be);
            conv(be, TCET_F32, op, &d, x, w, bias, dy, o);
            const int want = op == 0 ? s->fwd_direct : op == 1 ? s->bwd_direct : s->filt_direct;
            static const char *opname[] = {"fwd", "bwd_data", "bwd_filt"};
            if (tcet_cpu_direct_calls(be) != calls + (size_t)want)
                fail_msg("%s n%d %d->%d k%d %dx%d: direct path %s, expected %s", opname[op], s->n,
                         s->cin, s->cout, s->k, s->h, s->w, tcet_cpu_direct_calls(be) > calls ? "taken" : "not taken",
                         want ? "taken" : "not taken");
            conv(be, TCET_F32, op, &d, x, w, bias, dy, o2);  /* again */
            conv(be2, TCET_F32, op, &d, x, w, bias, dy, o3); /* another backend (lane) */
            assert_memory_equal(o, o2, n * sizeof *o);
            assert_memory_equal(o, o3, n * sizeof *o);
            conv(ref, TCET_F32, op, &d, x, w, bias, dy, oi);
            conv(ref, TCET_F64, op, &d, x64, w64, b64, dy64, o64);
            const double ed = err_vs(o, o64, n), ei = err_vs(oi, o64, n);
            print_message("%-8s n%d %3d->%-3d k%d s%d %2dx%-2d %s: error vs float64 %.2g (im2col %.2g)\n",
                          opname[op], s->n, s->cin, s->cout, s->k, st, s->h, s->w,
                          want ? "direct" : "other ", ed, ei);
            if (want) {
                worst_direct = fmax(worst_direct, ed);
                worst_im2col = fmax(worst_im2col, ei);
            }
            /* Measured on these shapes: direct 1.4e-7 - 1.0e-6 of the largest
             * output, im2col 1.2e-7 - 5.1e-7 (its GEMM sums K in blocks, and
             * its data gradient sums k*k partial products in col2im, shorter
             * chains than the direct kernel's one chain over all of K).  2e-6
             * is 2x the largest direct error and far below what an indexing
             * or padding mistake gives (errors of order 1). */
            if (!(ed <= 2e-6)) fail_msg("error %.3g vs float64 > 2e-6", ed);
            free(o), free(o2), free(o3), free(oi), free(o64);
        }
        free(x), free(w), free(bias), free(dy), free(x64), free(w64), free(b64), free(dy64);
    }
    print_message("largest error vs float64 on the direct shapes: direct %.2g, im2col %.2g\n", worst_direct,
                  worst_im2col);
}

/* An image's outputs do not depend on the rest of the batch: image i of a
 * batch of 3 equals the same image scored alone, bit for bit. */
static void test_batch_position(void **state)
{
    (void)state;
    const int n = 3, c = 16, k = 5, h = 16;
    tcet_conv_desc d = {.n = n, .cin = c, .cout = c, .k = k, .stride = 1, .pad = k / 2, .groups = 1,
                        .h = h, .w = h, .ho = h, .wo = h};
    tcet_conv_desc one = d;
    one.n = 1;
    const size_t img = (size_t)c * h * h;
    float *x = fbuf(n * img, 1), *w = fbuf((size_t)c * c * k * k, 1), *y = fbuf(n * img, 0), *y1 = fbuf(img, 0);
    for (int op = 0; op < 2; op++) {
        conv(be, TCET_F32, op, &d, x, w, NULL, x, y);
        for (int i = 0; i < n; i++) {
            conv(be, TCET_F32, op, &one, x + i * img, w, NULL, x + i * img, y1);
            assert_memory_equal(y1, y + i * img, img * sizeof *y);
        }
    }
    free(x), free(w), free(y), free(y1);
}

static float *abuf(size_t n, int random) /* 64-byte aligned, as the networks' arenas */
{
    float *p = aligned_alloc(64, (n * sizeof *p + 63) / 64 * 64);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = random ? urand() : 0.0f;
    return p;
}

/* Outputs of >= 8 MiB are written with streaming stores (forward, data
 * gradient and the fused eval op; 1x1 and k x k): the same bits as the
 * ordinary stores, which the same op on each image alone (0.5 MiB) uses. */
static void test_streaming_stores(void **state)
{
    (void)state;
    const int n = 16, h = 32;
    const struct {
        int cin, cout, k, op;
    } cases[] = {{16, 128, 1, 0}, {16, 128, 3, 0}, {128, 16, 1, 1}, {128, 16, 3, 1}, {16, 128, 1, 2}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const int cin = cases[ci].cin, cout = cases[ci].cout, k = cases[ci].k, op = cases[ci].op;
        tcet_conv_desc d = {.n = n, .cin = cin, .cout = cout, .k = k, .stride = 1, .pad = k / 2, .groups = 1,
                            .h = h, .w = h, .ho = h, .wo = h};
        tcet_conv_desc one = d;
        one.n = 1;
        const size_t xi = (size_t)cin * h * h, yi = (size_t)cout * h * h, oi = op == 1 ? xi : yi;
        float *x = abuf(n * xi, 1), *w = abuf((size_t)cout * cin * k * k, 1), *dy = abuf(n * yi, 1);
        float *out = abuf(n * oi, 0), *r = abuf(n * oi, 0), *o1 = abuf(oi, 0), *r1 = abuf(oi, 0);
        float *g = abuf((size_t)cout, 1), *b = abuf((size_t)cout, 1), *rm = abuf((size_t)cout, 1);
        float *rv = abuf((size_t)cout, 1);
        for (int c = 0; c < cout; c++) rv[c] = 0.25f + rv[c] * rv[c];
        assert_true(n * oi * sizeof(float) >= ((size_t)8 << 20) && oi * sizeof(float) < ((size_t)8 << 20));
        const size_t streamed = tcet_cpu_direct_stream_calls(be), calls = tcet_cpu_direct_calls(be);
        int done = 0;
        if (op == 2) /* the fused eval op: y and y_relu streamed */
            assert_int_equal(be->conv_bn_relu_eval(be, TCET_F32, &d, x, w, NULL, 1e-3, g, b, rm, rv, out, r, NULL,
                                                   &done), 0);
        else conv(be, TCET_F32, op, &d, x, w, NULL, dy, out);
        assert_int_equal(tcet_cpu_direct_calls(be), calls + 1);
        assert_int_equal(tcet_cpu_direct_stream_calls(be), streamed + 1);
        for (int i = 0; i < n; i++) {
            if (op == 2)
                assert_int_equal(be->conv_bn_relu_eval(be, TCET_F32, &one, x + i * xi, w, NULL, 1e-3, g, b, rm, rv,
                                                       o1, r1, NULL, &done), 0);
            else conv(be, TCET_F32, op, &one, x + i * xi, w, NULL, dy + i * yi, o1);
            assert_memory_equal(o1, out + i * oi, oi * sizeof *o1);
            if (op == 2) assert_memory_equal(r1, r + i * oi, oi * sizeof *r1);
        }
        assert_int_equal(tcet_cpu_direct_stream_calls(be), streamed + 1); /* single images: ordinary stores */
        free(x), free(w), free(dy), free(out), free(r), free(o1), free(r1), free(g), free(b), free(rm), free(rv);
    }
}

/* TCET_CPU_CONV=im2col: no direct kernel runs (the reference path). */
static void test_im2col_engine(void **state)
{
    (void)state;
    setenv("TCET_CPU_CONV", "im2col", 1);
    tcet_backend *b = tcet_backend_cpu_create_isa(1, TCET_CPU_ISA_AVX2);
    unsetenv("TCET_CPU_CONV");
    assert_non_null(b);
    tcet_conv_desc d = {.n = 1, .cin = 16, .cout = 16, .k = 3, .stride = 1, .pad = 1, .groups = 1,
                        .h = 16, .w = 16, .ho = 16, .wo = 16};
    float *x = fbuf(16 * 256, 1), *w = fbuf(16 * 16 * 9, 1), *y = fbuf(16 * 256, 0), *yr = fbuf(16 * 256, 0);
    conv(b, TCET_F32, 0, &d, x, w, NULL, x, y);
    conv(b, TCET_F32, 1, &d, x, w, NULL, x, y);
    assert_int_equal(tcet_cpu_direct_calls(b), 0);
    conv(b, TCET_F32, 0, &d, x, w, NULL, x, y);
    conv(ref, TCET_F32, 0, &d, x, w, NULL, x, yr);
    assert_memory_equal(y, yr, 16 * 256 * sizeof *y);
    free(x), free(w), free(y), free(yr);
    b->destroy(b);
}

/* The fused eval-mode conv + BN + ReLU (be->conv_bn_relu_eval) equals
 * conv_fwd then bn_relu_fwd (train = 0, no BN output) bit for bit, on every
 * shape of the table (direct or not: then it composes the two ops), with
 * BN statistics away from 0/1 and some BN outputs exactly 0 or negative. */
static void test_fused_bn_relu(void **state)
{
    (void)state;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        size_t nx, ny, nw;
        tcet_conv_desc d = shape_desc(s, &nx, &ny, &nw);
        const int ho = d.ho, wo = d.wo;
        const size_t c = (size_t)s->cout;
        float *x = fbuf(nx, 1), *w = fbuf(nw, 1), *bias = s->bias ? fbuf(c, 1) : NULL;
        float *g = fbuf(c, 1), *b = fbuf(c, 1), *rm = fbuf(c, 1), *rv = fbuf(c, 1);
        for (size_t i = 0; i < c; i++) rv[i] = 0.25f + rv[i] * rv[i];
        rm[0] = 0, g[0] = 0, b[0] = 0; /* channel 0: BN output exactly 0 everywhere */
        float *y1 = fbuf(ny, 0), *r1 = fbuf(ny, 0), *y2 = fbuf(ny, 0), *r2 = fbuf(ny, 0);
        const size_t calls = tcet_cpu_direct_calls(be);
        const size_t units = c * ho * wo, nwords = (units + 63) / 64;
        uint64_t *codes = calloc((size_t)s->n * nwords + 1, sizeof *codes), *packed = calloc((size_t)s->n * nwords + 1, 8);
        int cdone = -1;
        assert_int_equal(be->conv_bn_relu_eval(be, TCET_F32, &d, x, w, bias, 1e-3, g, b, rm, rv, y1, r1, codes,
                                               &cdone), 0);
        assert_int_equal(tcet_cpu_direct_calls(be), calls + (size_t)s->fwd_direct);
        assert_int_equal(cdone, s->fwd_direct);
        /* with the codes, y is not written: the reference y2 (computed below) stands in */
        if (cdone) {
            assert_int_equal(be->conv_fwd(be, TCET_F32, &d, x, w, bias, y1), 0);
            assert_int_equal(be->conv_bn_relu_eval(be, TCET_F32, &d, x, w, bias, 1e-3, g, b, rm, rv, y1, r1, NULL,
                                                   &cdone), 0);
            float *y3 = fbuf(ny, 0), *r3 = fbuf(ny, 0);
            memset(y3, 0x7f, ny * sizeof *y3);
            assert_int_equal(be->conv_bn_relu_eval(be, TCET_F32, &d, x, w, bias, 1e-3, g, b, rm, rv, y3, r3, codes,
                                                   &cdone), 0);
            for (size_t i = 0; i < ny; i++) assert_true(((unsigned char *)y3)[4 * i] == 0x7f); /* untouched */
            assert_memory_equal(r3, r1, ny * sizeof *r1);
            free(y3), free(r3);
            cdone = 1;
        }
        if (cdone) { /* the codes: bit u of image i = y[i][u] > 0, rows of whole words */
            for (int i = 0; i < s->n; i++)
                for (size_t u = 0; u < units; u++)
                    if (y1[(size_t)i * units + u] > 0.0f) packed[(size_t)i * nwords + u / 64] |= (uint64_t)1 << (u % 64);
            assert_memory_equal(codes, packed, (size_t)s->n * nwords * sizeof *codes);
            /* and gram_bits on them = gram_codes on y */
            double *K1 = malloc((size_t)s->n * s->n * sizeof *K1), *K2 = malloc((size_t)s->n * s->n * sizeof *K2);
            int64_t p1[4], p2[4];
            assert_int_equal(be->gram_bits(be, s->n, units, codes, K1, p1), 0);
            assert_int_equal(be->gram_codes(be, s->n, units, y1, K2, p2), 0);
            assert_memory_equal(K1, K2, (size_t)s->n * s->n * sizeof *K1);
            assert_memory_equal(p1, p2, (size_t)s->n * sizeof *p1);
            free(K1), free(K2);
        }
        free(codes), free(packed);
        assert_int_equal(be->conv_fwd(be, TCET_F32, &d, x, w, bias, y2), 0);
        assert_int_equal(be->bn_relu_fwd(be, TCET_F32, 0, s->n, s->cout, ho * wo, 1e-3, 0.1, y2, g, b, rm, rv, 0,
                                         NULL, r2, NULL, NULL), 0);
        assert_memory_equal(y1, y2, ny * sizeof *y1);
        assert_memory_equal(r1, r2, ny * sizeof *r1);
        free(x), free(w), free(bias), free(g), free(b), free(rm), free(rv), free(y1), free(r1), free(y2), free(r2);
    }
}

/* The fused pair of 1x1 convs (be->conv_pair_eval) equals two
 * conv_bn_relu_eval calls bit for bit: the second ReLU output and both
 * conv outputs' codes, on every ISA path this CPU has; shapes with a wide
 * tensor split into several position blocks (and a partial last one), tile
 * remainders of 2 and 4 channels, biases or none, BN channels whose output
 * is exactly 0.  The generic path declines (*done = 0), as does a 3x3 conv
 * in the pair. */
static void test_pair(void **state)
{
    (void)state;
    static const struct { int n, ci, cm, co, h, bias; } ps[] = {
        {3, 16, 120, 16, 32, 0}, /* 1024 positions, blocks of 272 */
        {2, 24, 224, 24, 16, 1}, /* blocks of 144 (partial last) */
        {4, 20, 22, 8, 4, 1},    /* remainders of 4 and 2; one block */
        {2, 40, 168, 40, 8, 0},
    };
    for (int isa = TCET_CPU_ISA_GENERIC; isa < TCET_CPU_ISA_COUNT; isa++) {
        if (!tcet_cpu_isa_supported(isa)) continue;
        tcet_backend *b = tcet_backend_cpu_create_isa(1, isa);
        assert_non_null(b);
        for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
            const int n = ps[k].n, ci = ps[k].ci, cm = ps[k].cm, co = ps[k].co, hw = ps[k].h * ps[k].h;
            const tcet_conv_desc d1 = {.n = n, .cin = ci, .cout = cm, .k = 1, .stride = 1, .pad = 0, .groups = 1,
                                       .h = ps[k].h, .w = ps[k].h, .ho = ps[k].h, .wo = ps[k].h};
            tcet_conv_desc d2 = d1;
            d2.cin = cm, d2.cout = co;
            float *x = fbuf((size_t)n * ci * hw, 1), *w1 = fbuf((size_t)ci * cm, 1), *w2 = fbuf((size_t)cm * co, 1);
            float *b1 = ps[k].bias ? fbuf((size_t)cm, 1) : NULL, *b2 = ps[k].bias ? fbuf((size_t)co, 1) : NULL;
            float *p1 = fbuf(4 * (size_t)cm, 1), *p2 = fbuf(4 * (size_t)co, 1);
            for (int c = 0; c < cm; c++) p1[3 * cm + c] = 0.25f + p1[3 * cm + c] * p1[3 * cm + c];
            for (int c = 0; c < co; c++) p2[3 * co + c] = 0.25f + p2[3 * co + c] * p2[3 * co + c];
            p1[0] = p1[cm] = p1[2 * cm] = 0; /* channel 0 of the wide tensor: BN output 0 */
            const tcet_bn_eval e1 = {p1, p1 + cm, p1 + 2 * cm, p1 + 3 * cm}, e2 = {p2, p2 + co, p2 + 2 * co, p2 + 3 * co};
            const size_t w1n = ((size_t)cm * hw + 63) / 64, w2n = ((size_t)co * hw + 63) / 64;
            const size_t ym = (size_t)n * cm * hw, yo = (size_t)n * co * hw;
            /* reference: two conv_bn_relu_eval with codes */
            float *ya = fbuf(ym, 0), *ra = fbuf(ym, 0), *yb = fbuf(yo, 0), *rb = fbuf(yo, 0), *rp = fbuf(yo, 0);
            uint64_t *ca = calloc((size_t)n * w1n + 1, 8), *cb = calloc((size_t)n * w2n + 1, 8);
            uint64_t *pa = calloc((size_t)n * w1n + 1, 8), *pb = calloc((size_t)n * w2n + 1, 8);
            int da = -1, db = -1, dp = -1;
            assert_int_equal(b->conv_bn_relu_eval(b, TCET_F32, &d1, x, w1, b1, 1e-3, e1.gamma, e1.beta, e1.running_mean,
                                                  e1.running_var, ya, ra, ca, &da), 0);
            assert_int_equal(b->conv_bn_relu_eval(b, TCET_F32, &d2, ra, w2, b2, 1e-3, e2.gamma, e2.beta, e2.running_mean,
                                                  e2.running_var, yb, rb, cb, &db), 0);
            assert_int_equal(b->conv_pair_eval(b, TCET_F32, &d1, &d2, x, w1, b1, w2, b2, 1e-3, &e1, &e2, rp, pa, pb,
                                               &dp), 0);
            const int direct = isa != TCET_CPU_ISA_GENERIC;
            assert_int_equal(dp, direct);
            assert_int_equal(da, direct);
            if (dp) {
                assert_memory_equal(rp, rb, yo * sizeof *rp);
                assert_memory_equal(pa, ca, (size_t)n * w1n * 8);
                assert_memory_equal(pb, cb, (size_t)n * w2n * 8);
                size_t zeros = 0; /* the zero BN channel reached the second conv as zeros */
                for (int i = 0; i < n; i++)
                    for (int q = 0; q < hw; q++) zeros += ra[(size_t)i * cm * hw + q] == 0.0f;
                assert_int_equal(zeros, (size_t)n * hw);
                /* a 3x3 first conv is not a pair */
                tcet_conv_desc d3 = d1;
                d3.k = 3, d3.pad = 1;
                float *w3 = fbuf((size_t)ci * cm * 9, 1);
                assert_int_equal(b->conv_pair_eval(b, TCET_F32, &d3, &d2, x, w3, NULL, w2, NULL, 1e-3, &e1, &e2, rp,
                                                   pa, pb, &dp), 0);
                assert_int_equal(dp, 0);
                free(w3);
            }
            free(x), free(w1), free(w2), free(b1), free(b2), free(p1), free(p2), free(ya), free(ra), free(yb), free(rb);
            free(rp), free(ca), free(cb), free(pa), free(pb);
        }
        b->destroy(b);
    }
}

/* The fused backward of relu(bn(conv)) (be->conv_bn_relu_bwd) equals
 * bn_relu_bwd, conv_bwd_filter and conv_bwd_data bit for bit (dgamma,
 * dbeta, dw, dx), with and without dx, on every ISA path this CPU has, for
 * 1x1 and k x k convs (ZenNet's first 3x3 conv with 3 input channels
 * among them, without dx); it declines (*done = 0) on the generic path and
 * where the direct kernels do not take a gradient it is asked for (22
 * output channels; an 8x8 plane; that first conv's data gradient). */
static void test_bn_relu_bwd(void **state)
{
    (void)state;
    /* direct: with dx / without (the first conv: 3 input channels, whose
     * data gradient the direct kernels do not take and nobody needs) */
    static const struct { int n, ci, co, h, k, direct, direct_nodx; } cs[] = {
        {3, 16, 120, 32, 1, 1, 1}, {2, 24, 224, 16, 1, 1, 1}, {4, 40, 168, 16, 1, 1, 1}, {2, 20, 22, 16, 1, 0, 0},
        {2, 16, 16, 16, 7, 1, 1},  {3, 24, 24, 16, 5, 1, 1},  {2, 3, 88, 32, 3, 0, 1},   {2, 16, 16, 8, 3, 0, 0},
    };
    for (int isa = TCET_CPU_ISA_GENERIC; isa < TCET_CPU_ISA_COUNT; isa++) {
        if (!tcet_cpu_isa_supported(isa)) continue;
        tcet_backend *b = tcet_backend_cpu_create_isa(1, isa);
        assert_non_null(b);
        for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
            const int n = cs[k].n, ci = cs[k].ci, co = cs[k].co, hw = cs[k].h * cs[k].h, kk = cs[k].k;
            const tcet_conv_desc d = {.n = n, .cin = ci, .cout = co, .k = kk, .stride = 1, .pad = kk / 2, .groups = 1,
                                      .h = cs[k].h, .w = cs[k].h, .ho = cs[k].h, .wo = cs[k].h};
            const size_t nx = (size_t)n * ci * hw, ny = (size_t)n * co * hw, nw = (size_t)co * ci * kk * kk;
            float *x = fbuf(nx, 1), *w = fbuf(nw, 1), *y = fbuf(ny, 1), *dy = fbuf(ny, 1), *p = fbuf(4 * (size_t)co, 1);
            float *gamma = p, *beta = p + co, *mean = p + 2 * co, *invstd = p + 3 * co;
            for (int c = 0; c < co; c++) invstd[c] = 0.5f + invstd[c] * invstd[c];
            /* reference: the three ops */
            float *g = fbuf(ny, 0), *dg1 = fbuf((size_t)co, 0), *db1 = fbuf((size_t)co, 0), *dw1 = fbuf(nw, 0);
            float *dx1 = fbuf(nx, 0), *dg2 = fbuf((size_t)co, 0), *db2 = fbuf((size_t)co, 0), *dw2 = fbuf(nw, 0);
            float *dx2 = fbuf(nx, 0);
            assert_int_equal(b->bn_relu_bwd(b, TCET_F32, n, co, hw, y, dy, gamma, beta, mean, invstd, g, dg1, db1), 0);
            assert_int_equal(b->conv_bwd_filter(b, TCET_F32, &d, x, g, dw1, NULL), 0);
            assert_int_equal(b->conv_bwd_data(b, TCET_F32, &d, w, g, dx1), 0);
            for (int with_dx = 1; with_dx >= 0; with_dx--) {
                const int want = (with_dx ? cs[k].direct : cs[k].direct_nodx) && isa != TCET_CPU_ISA_GENERIC;
                int done = -1;
                assert_int_equal(b->conv_bn_relu_bwd(b, TCET_F32, &d, x, w, y, dy, gamma, beta, mean, invstd, dg2, db2,
                                                     dw2, with_dx ? dx2 : NULL, NULL, &done), 0);
                assert_int_equal(done, want);
                if (!done) continue;
                assert_memory_equal(dg1, dg2, (size_t)co * sizeof *dg1);
                assert_memory_equal(db1, db2, (size_t)co * sizeof *db1);
                assert_memory_equal(dw1, dw2, nw * sizeof *dw1);
                if (with_dx) assert_memory_equal(dx1, dx2, nx * sizeof *dx1);
            }
            free(x), free(w), free(y), free(dy), free(p), free(g), free(dg1), free(db1), free(dw1), free(dx1);
            free(dg2), free(db2), free(dw2), free(dx2);
        }
        b->destroy(b);
    }
}

/* A train-mode BN + ReLU whose output only a 1x1 conv reads
 * (be->bn_relu_conv_train): the conv's output, the BN's saved and running
 * statistics bit for bit bn_relu_fwd + conv_fwd; and conv_bn_relu_bwd given
 * that conv's input as relu(bn(z)) (xin) bit for bit the same op given the
 * stored ReLU output: 1x1 convs at 32x32 and 16x16 (blocks of 512 and 256
 * positions), on every ISA path this CPU has (the generic one declines). */
static void test_bn_relu_conv_train(void **state)
{
    (void)state;
    static const struct { int n, c, co, h; } cs[] = {{3, 120, 16, 32}, {2, 224, 24, 16}, {2, 40, 8, 8}};
    for (int isa = TCET_CPU_ISA_GENERIC; isa < TCET_CPU_ISA_COUNT; isa++) {
        if (!tcet_cpu_isa_supported(isa)) continue;
        tcet_backend *b = tcet_backend_cpu_create_isa(1, isa);
        assert_non_null(b);
        for (size_t t = 0; t < sizeof cs / sizeof cs[0]; t++) {
            const int n = cs[t].n, c = cs[t].c, co = cs[t].co, hw = cs[t].h * cs[t].h;
            const tcet_conv_desc d = {.n = n, .cin = c, .cout = co, .k = 1, .stride = 1, .pad = 0, .groups = 1,
                                      .h = cs[t].h, .w = cs[t].h, .ho = cs[t].h, .wo = cs[t].h};
            const size_t nz = (size_t)n * c * hw, ny = (size_t)n * co * hw;
            float *z = fbuf(nz, 1), *w = fbuf((size_t)co * c, 1), *p = fbuf(2 * (size_t)c, 1);
            float *r1 = fbuf(4 * (size_t)c, 0), *r2 = fbuf(4 * (size_t)c, 0); /* rm, rv, save mean, invstd */
            for (int k = 0; k < c; k++) r1[c + k] = r2[c + k] = 1.0f, r1[k] = r2[k] = 0.0f;
            float *relu = fbuf(nz, 0), *y1 = fbuf(ny, 0), *y2 = fbuf(ny, 0);
            assert_int_equal(b->bn_relu_fwd(b, TCET_F32, 1, n, c, hw, 1e-3, 0.1, z, p, p + c, r1, r1 + c, 1, NULL, relu,
                                            r1 + 2 * c, r1 + 3 * c), 0);
            assert_int_equal(b->conv_fwd(b, TCET_F32, &d, relu, w, NULL, y1), 0);
            int done = -1;
            assert_int_equal(b->bn_relu_conv_train(b, TCET_F32, n, c, hw, 1e-3, 0.1, z, p, p + c, r2, r2 + c, 1,
                                                   r2 + 2 * c, r2 + 3 * c, &d, w, NULL, y2, &done), 0);
            const int direct = isa != TCET_CPU_ISA_GENERIC && hw >= 128;
            assert_int_equal(done, direct);
            if (!done) {
                free(z), free(w), free(p), free(r1), free(r2), free(relu), free(y1), free(y2);
                continue;
            }
            assert_memory_equal(y1, y2, ny * sizeof *y1);
            assert_memory_equal(r1, r2, 4 * (size_t)c * sizeof *r1);
            /* the backward of relu(bn(conv)) after it, the conv's input stored or recomputed */
            float *yR = fbuf(ny, 1), *dy = fbuf(ny, 1), *q = fbuf(4 * (size_t)co, 1);
            for (int k = 0; k < co; k++) q[3 * co + k] = 0.5f + q[3 * co + k] * q[3 * co + k];
            float *o1 = fbuf(2 * (size_t)co + (size_t)co * c + nz, 0), *o2 = fbuf(2 * (size_t)co + (size_t)co * c + nz, 0);
            const tcet_bn_relu_in xin = {z, p, p + c, r2 + 2 * c, r2 + 3 * c};
            for (int pass = 0; pass < 2; pass++) {
                float *o = pass ? o2 : o1;
                assert_int_equal(b->conv_bn_relu_bwd(b, TCET_F32, &d, pass ? NULL : relu, w, yR, dy, q, q + co, q + 2 * co,
                                                     q + 3 * co, o, o + co, o + 2 * co, o + 2 * co + (size_t)co * c,
                                                     pass ? &xin : NULL, &done), 0);
                assert_int_equal(done, 1);
            }
            assert_memory_equal(o1, o2, (2 * (size_t)co + (size_t)co * c + nz) * sizeof *o1);
            free(z), free(w), free(p), free(r1), free(r2), free(relu), free(y1), free(y2), free(yR), free(dy), free(q);
            free(o1), free(o2);
        }
        b->destroy(b);
    }
}

/* The avx512 paths compile the same AVX2 intrinsics with other flags: every
 * op of every table shape, and the fused op with its codes, bit for bit the
 * avx2 path's (a path this CPU lacks is skipped with a note). */
static void test_other_paths(void **state)
{
    (void)state;
    for (int isa = TCET_CPU_ISA_AVX512; isa < TCET_CPU_ISA_COUNT; isa++) {
        if (!tcet_cpu_isa_supported(isa)) {
            print_message("[ skip ] %s: this CPU does not support it\n", tcet_cpu_isa_name(isa));
            continue;
        }
        tcet_backend *b = tcet_backend_cpu_create_isa(1, isa);
        assert_non_null(b);
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            size_t nx, ny, nw;
            const tcet_conv_desc d = shape_desc(&shapes[si], &nx, &ny, &nw);
            const size_t c = (size_t)d.cout, nwords = (size_t)d.n * ((c * d.ho * d.wo + 63) / 64);
            float *x = fbuf(nx, 1), *w = fbuf(nw, 1), *dy = fbuf(ny, 1), *g = fbuf(c, 1), *bt = fbuf(c, 1);
            float *rm = fbuf(c, 1), *rv = fbuf(c, 1);
            for (size_t i = 0; i < c; i++) rv[i] = 0.5f + rv[i] * rv[i];
            for (int op = 0; op < 3; op++) {
                const size_t n = op == 0 ? ny : op == 1 ? nx : nw;
                float *o1 = fbuf(n, 0), *o2 = fbuf(n, 0);
                conv(be, TCET_F32, op, &d, x, w, NULL, dy, o1);
                conv(b, TCET_F32, op, &d, x, w, NULL, dy, o2);
                assert_memory_equal(o1, o2, n * sizeof *o1);
                free(o1), free(o2);
            }
            float *y1 = fbuf(ny, 0), *r1 = fbuf(ny, 0), *y2 = fbuf(ny, 0), *r2 = fbuf(ny, 0);
            uint64_t *c1 = calloc(nwords + 1, 8), *c2 = calloc(nwords + 1, 8);
            int k1 = -1, k2 = -1;
            assert_int_equal(be->conv_bn_relu_eval(be, TCET_F32, &d, x, w, NULL, 1e-3, g, bt, rm, rv, y1, r1, c1, &k1), 0);
            assert_int_equal(b->conv_bn_relu_eval(b, TCET_F32, &d, x, w, NULL, 1e-3, g, bt, rm, rv, y2, r2, c2, &k2), 0);
            assert_int_equal(k1, k2);
            assert_memory_equal(r1, r2, ny * sizeof *r1);
            if (k1) assert_memory_equal(c1, c2, nwords * sizeof *c1);
            free(x), free(w), free(dy), free(g), free(bt), free(rm), free(rv), free(y1), free(r1), free(y2), free(r2);
            free(c1), free(c2);
        }
        b->destroy(b);
    }
}

/* Without AVX2 + FMA: the generic path has no direct kernels. */
static void test_generic_has_none(void **state)
{
    (void)state;
    tcet_backend *b = tcet_backend_cpu_create_isa(1, TCET_CPU_ISA_GENERIC);
    assert_non_null(b);
    tcet_conv_desc d = {.n = 1, .cin = 16, .cout = 16, .k = 3, .stride = 1, .pad = 1, .groups = 1,
                        .h = 16, .w = 16, .ho = 16, .wo = 16};
    float *x = fbuf(16 * 256, 1), *w = fbuf(16 * 16 * 9, 1), *y = fbuf(16 * 256, 0);
    conv(b, TCET_F32, 0, &d, x, w, NULL, x, y);
    assert_int_equal(tcet_cpu_direct_calls(b), 0);
    free(x), free(w), free(y);
    b->destroy(b);
}

int main(void)
{
    if (!tcet_cpu_isa_supported(TCET_CPU_ISA_AVX2)) {
        printf("[ note ] no AVX2 + FMA on this CPU: only the generic path is checked\n");
        const struct CMUnitTest generic[] = {cmocka_unit_test(test_generic_has_none)};
        return cmocka_run_group_tests(generic, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_float64),
        cmocka_unit_test(test_batch_position),
        cmocka_unit_test(test_streaming_stores),
        cmocka_unit_test(test_im2col_engine),
        cmocka_unit_test(test_fused_bn_relu),
        cmocka_unit_test(test_pair),
        cmocka_unit_test(test_bn_relu_bwd),
        cmocka_unit_test(test_bn_relu_conv_train),
        cmocka_unit_test(test_other_paths),
        cmocka_unit_test(test_generic_has_none),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
