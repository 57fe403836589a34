/* Runtime CPU dispatch of the CPU backend: every instruction-set path
 * (generic, avx2, avx512, avx512-vpopcntdq) against the reference path, the
 * generic kernels, op by op: one test per dispatched kernel, bit for bit
 * (the variants are the same C code compiled with different flags, without
 * FMA contraction), plus the Gram against a naive count.  A path that this
 * CPU lacks is skipped inside each test with a message; paths the CPU has
 * always run, so on an AVX-512 machine the AVX2 path is tested too.  These
 * comparisons run every backend with its im2col convolutions; the oneDNN
 * convolutions (tcet built with oneDNN, avx2 / avx512 paths) are checked
 * apart: against im2col to rounding, bit for bit run to run and between two
 * backends (lanes), and the shapes that go to oneDNN.  Also: TCET_CPU_ISA
 * selection and refusal, and the choice of OpenBLAS kernels. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "kernels/backend.h"
#include "kernels/cpu/backend_cpu.h"
#include "test_support.h"

static tcet_backend *ref; /* generic */
static tcet_backend *paths[TCET_CPU_ISA_COUNT];
static const char *test_name = "";  /* the running test, for skip messages */

static int setup(void **state)
{
    (void)state;
    unsetenv("TCET_CPU_ISA");
    ref = tcet_backend_cpu_create_isa(1, TCET_CPU_ISA_GENERIC);
    if (!ref) return -1;
    tcet_cpu_set_conv_engine(ref, TCET_CPU_CONV_IM2COL);
    for (int isa = 1; isa < TCET_CPU_ISA_COUNT; isa++) {
        if (!tcet_cpu_isa_supported(isa)) continue; /* each test says it skips it */
        paths[isa] = tcet_backend_cpu_create_isa(1, isa);
        if (!paths[isa]) return -1;
        tcet_cpu_set_conv_engine(paths[isa], TCET_CPU_CONV_IM2COL);
        if (tcet_cpu_isa_of(paths[isa]) != isa) return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ref->destroy(ref);
    for (int isa = 1; isa < TCET_CPU_ISA_COUNT; isa++)
        if (paths[isa]) paths[isa]->destroy(paths[isa]);
    return 0;
}

static uint64_t lcg = 0x9E3779B97F4A7C15ull;
static double urand(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) / 9007199254740992.0;
}

/* n values of dtype dt, uniform in [-1, 1) */
static void *rand_buf(int dt, size_t n)
{
    void *p = malloc(n * tcet_dtype_size(dt) + 64);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        const double v = 2.0 * urand() - 1.0;
        if (dt == TCET_F32) ((float *)p)[i] = (float)v;
        else ((double *)p)[i] = v;
    }
    return p;
}

static void *buf(int dt, size_t n)
{
    void *p = calloc(n + 8, tcet_dtype_size(dt));
    assert_non_null(p);
    return p;
}

/* bytes equal, or name the first differing element */
static void expect_same(const char *what, int isa, int dt, const void *a, const void *b, size_t n)
{
    const size_t es = tcet_dtype_size(dt);
    if (!memcmp(a, b, n * es)) return;
    for (size_t i = 0; i < n; i++)
        if (memcmp((const char *)a + i * es, (const char *)b + i * es, es)) {
            const double va = dt == TCET_F32 ? ((const float *)a)[i] : ((const double *)a)[i];
            const double vb = dt == TCET_F32 ? ((const float *)b)[i] : ((const double *)b)[i];
            fail_msg("%s, path %s, %s: element %zu = %.17g, generic path %.17g", what, tcet_cpu_isa_name(isa),
                     dt == TCET_F32 ? "float32" : "float64", i, va, vb);
        }
}

/* The backend of a path, or NULL with a skip message (once per test and
 * path) when this CPU lacks it. */
static tcet_backend *path_or_skip(int isa, const char *test)
{
    static const char *said[TCET_CPU_ISA_COUNT];
    if (!paths[isa] && said[isa] != test) {
        print_message("[ skip ] %s: path %s is not supported by this CPU\n", test, tcet_cpu_isa_name(isa));
        said[isa] = test;
    }
    return paths[isa];
}

#define FOR_PATHS(isa, be)                                              \
    for (int isa = 1; isa < TCET_CPU_ISA_COUNT; isa++)                  \
        for (tcet_backend *be = path_or_skip(isa, test_name); be; be = NULL)

static int npaths_run(void)
{
    int k = 0;
    for (int isa = 1; isa < TCET_CPU_ISA_COUNT; isa++) k += paths[isa] != NULL;
    return k;
}

/* ---- convolutions ---------------------------------------------------------- */

static const tcet_conv_desc conv_shapes[] = {
    /* n cin cout k s p g h w ho wo */
    {2, 3, 8, 3, 1, 1, 1, 9, 9, 9, 9},
    {3, 8, 16, 5, 1, 2, 1, 8, 8, 8, 8},
    {2, 16, 16, 1, 1, 0, 1, 7, 7, 7, 7},
    {2, 8, 8, 3, 2, 1, 8, 9, 9, 5, 5},        /* depthwise, stride 2 */
    {2, 8, 12, 3, 2, 1, 2, 10, 10, 5, 5},     /* grouped */
    {5, 4, 6, 7, 1, 3, 1, 6, 6, 6, 6},        /* 7x7 on small planes: multi-image tiles */
    {1, 16, 16, 3, 1, 1, 1, 64, 64, 64, 64},  /* im2col in bands of rows */
    {2, 6, 10, 1, 2, 0, 1, 9, 9, 5, 5},       /* strided 1x1 */
};

enum { CONV_FWD, CONV_BWD_DATA, CONV_BWD_FILTER };

static void conv_case(int which, int dt, const tcet_conv_desc *d)
{
    const size_t nx = (size_t)d->n * d->cin * d->h * d->w, ny = (size_t)d->n * d->cout * d->ho * d->wo;
    const size_t nw = (size_t)d->cout * (d->cin / d->groups) * d->k * d->k;
    void *x = rand_buf(dt, nx), *w = rand_buf(dt, nw), *bias = rand_buf(dt, (size_t)d->cout), *dy = rand_buf(dt, ny);
    const size_t nout = which == CONV_FWD ? ny : which == CONV_BWD_DATA ? nx : nw;
    void *o_ref = buf(dt, nout), *o = buf(dt, nout), *db_ref = buf(dt, (size_t)d->cout), *db = buf(dt, (size_t)d->cout);
    char what[160];
    snprintf(what, sizeof what, "conv %s n%d c%d->%d k%d s%d g%d %dx%d",
             which == CONV_FWD ? "fwd" : which == CONV_BWD_DATA ? "bwd_data" : "bwd_filter", d->n, d->cin, d->cout,
             d->k, d->stride, d->groups, d->h, d->w);
    int rc = which == CONV_FWD        ? ref->conv_fwd(ref, dt, d, x, w, bias, o_ref)
             : which == CONV_BWD_DATA ? ref->conv_bwd_data(ref, dt, d, w, dy, o_ref)
                                      : ref->conv_bwd_filter(ref, dt, d, x, dy, o_ref, db_ref);
    assert_int_equal(rc, 0);
    FOR_PATHS(isa, be) {
        memset(o, 0x7f, nout * tcet_dtype_size(dt)); /* garbage: the op must overwrite */
        rc = which == CONV_FWD        ? be->conv_fwd(be, dt, d, x, w, bias, o)
             : which == CONV_BWD_DATA ? be->conv_bwd_data(be, dt, d, w, dy, o)
                                      : be->conv_bwd_filter(be, dt, d, x, dy, o, db);
        assert_int_equal(rc, 0);
        expect_same(what, isa, dt, o, o_ref, nout);
        if (which == CONV_BWD_FILTER) expect_same(what, isa, dt, db, db_ref, (size_t)d->cout);
    }
    free(x), free(w), free(bias), free(dy), free(o_ref), free(o), free(db_ref), free(db);
}

static void conv_all(int which)
{
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++) conv_case(which, dt, &conv_shapes[i]);
}

static void test_conv_fwd(void **state)
{
    (void)state;
    test_name = "test_conv_fwd";
    conv_all(CONV_FWD);
}
static void test_conv_bwd_data(void **state)
{
    (void)state;
    test_name = "test_conv_bwd_data";
    conv_all(CONV_BWD_DATA);
}
static void test_conv_bwd_filter(void **state)
{
    (void)state;
    test_name = "test_conv_bwd_filter";
    conv_all(CONV_BWD_FILTER);
}

/* ---- oneDNN convolutions ---------------------------------------------------- */

static const tcet_conv_desc dnnl_shapes[] = {
    /* n cin cout k s p g h w ho wo */
    {2, 16, 24, 5, 1, 2, 1, 16, 16, 16, 16},
    {4, 16, 16, 7, 2, 3, 1, 16, 16, 8, 8},
    {3, 24, 24, 3, 1, 1, 1, 8, 8, 8, 8},
    {2, 64, 64, 3, 1, 1, 1, 8, 8, 8, 8},     /* weight gradient stays on im2col (AUTO) */
    {2, 16, 16, 7, 1, 3, 1, 32, 32, 32, 32},
    {2, 40, 40, 3, 2, 1, 1, 8, 8, 4, 4},
    {2, 24, 96, 1, 1, 0, 1, 16, 16, 16, 16},  /* 1x1: weight gradient only */
};

/* max |a - b| / max |b| */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double md = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - (double)b[i]);
        if (d > md) md = d;
        if (fabs((double)b[i]) > mx) mx = fabs((double)b[i]);
    }
    return md / (mx > 0 ? mx : 1);
}

static int conv_run(tcet_backend *be, int op, const tcet_conv_desc *d, const float *x, const float *w,
                    const float *dy, float *out)
{
    return op == CONV_FWD        ? be->conv_fwd(be, TCET_F32, d, x, w, NULL, out)
           : op == CONV_BWD_DATA ? be->conv_bwd_data(be, TCET_F32, d, w, dy, out)
                                 : be->conv_bwd_filter(be, TCET_F32, d, x, dy, out, NULL);
}

static void test_conv_onednn(void **state)
{
    (void)state;
    test_name = "test_conv_onednn";
    int ran = 0;
    for (int isa = 1; isa < TCET_CPU_ISA_COUNT; isa++) {
        if (!path_or_skip(isa, test_name)) continue;
        tcet_backend *a = tcet_backend_cpu_create_isa(1, isa), *b = tcet_backend_cpu_create_isa(1, isa);
        assert_non_null(a), assert_non_null(b);
        tcet_cpu_set_conv_engine(a, TCET_CPU_CONV_ONEDNN);
        tcet_cpu_set_conv_engine(b, TCET_CPU_CONV_ONEDNN);
        if (!tcet_cpu_uses_dnnl(a)) {
            print_message("[ skip ] %s: tcet is built without oneDNN\n", test_name);
            a->destroy(a), b->destroy(b);
            return;
        }
        assert_non_null(strstr(a->device, "oneDNN"));
        ran = 1;
        for (size_t si = 0; si < sizeof dnnl_shapes / sizeof dnnl_shapes[0]; si++) {
            const tcet_conv_desc *d = &dnnl_shapes[si];
            const size_t nx = (size_t)d->n * d->cin * d->h * d->w, ny = (size_t)d->n * d->cout * d->ho * d->wo;
            const size_t nw = (size_t)d->cout * d->cin * d->k * d->k;
            float *x = rand_buf(TCET_F32, nx), *w = rand_buf(TCET_F32, nw), *dy = rand_buf(TCET_F32, ny);
            for (int op = CONV_FWD; op <= CONV_BWD_FILTER; op++) {
                const size_t n = op == CONV_FWD ? ny : op == CONV_BWD_DATA ? nx : nw;
                float *o_ref = buf(TCET_F32, n), *o1 = buf(TCET_F32, n), *o2 = buf(TCET_F32, n), *o3 = buf(TCET_F32, n);
                assert_int_equal(conv_run(ref, op, d, x, w, dy, o_ref), 0);
                const size_t calls = tcet_cpu_dnnl_calls(a);
                assert_int_equal(conv_run(a, op, d, x, w, dy, o1), 0);
                /* the weight gradient of 3x3 convs with > 48 input channels stays on im2col,
                 * of 1x1 convs only the weight gradient goes to oneDNN */
                const size_t want = calls + (d->k == 1 ? op == CONV_BWD_FILTER
                                                        : !(op == CONV_BWD_FILTER && d->k == 3 && d->cin > 48));
                if (tcet_cpu_dnnl_calls(a) != want)
                    fail_msg("op %d n%d c%d->%d k%d s%d %dx%d: %zu oneDNN calls, expected %zu", op, d->n, d->cin,
                             d->cout, d->k, d->stride, d->h, d->w, tcet_cpu_dnnl_calls(a) - calls, want - calls);
                assert_int_equal(conv_run(a, op, d, x, w, dy, o2), 0);   /* again: cached primitive */
                assert_int_equal(conv_run(b, op, d, x, w, dy, o3), 0);   /* another backend (lane) */
                char what[128];
                snprintf(what, sizeof what, "oneDNN conv op %d n%d c%d->%d k%d s%d %dx%d", op, d->n, d->cin, d->cout,
                         d->k, d->stride, d->h, d->w);
                expect_same(what, isa, TCET_F32, o2, o1, n);
                expect_same(what, isa, TCET_F32, o3, o1, n);
                const double r = rel_diff(o1, o_ref, n);
                if (!(r <= 1e-5)) fail_msg("%s, path %s: max diff %.3g of the largest im2col value", what,
                                           tcet_cpu_isa_name(isa), r);
                free(o_ref), free(o1), free(o2), free(o3);
            }
            free(x), free(w), free(dy);
        }
        /* which ops AUTO sends to oneDNN: the weight gradient, and the data gradient of stride-2
         * convs (bit-identical to ONEDNN's), not the forward (here: stride 2) */
        tcet_cpu_set_conv_engine(b, TCET_CPU_CONV_AUTO);
        const tcet_conv_desc *d = &dnnl_shapes[1];
        const size_t nx = (size_t)d->n * d->cin * d->h * d->w, ny = (size_t)d->n * d->cout * d->ho * d->wo;
        const size_t nw = (size_t)d->cout * d->cin * d->k * d->k;
        float *x = rand_buf(TCET_F32, nx), *w = rand_buf(TCET_F32, nw), *dy = rand_buf(TCET_F32, ny);
        float *p = buf(TCET_F32, nx + ny + nw), *q = buf(TCET_F32, nx + ny + nw);
        const size_t calls = tcet_cpu_dnnl_calls(b);
        assert_int_equal(conv_run(b, CONV_BWD_FILTER, d, x, w, dy, p), 0);
        assert_int_equal(tcet_cpu_dnnl_calls(b), calls + 1);
        assert_int_equal(conv_run(a, CONV_BWD_FILTER, d, x, w, dy, q), 0);
        expect_same("AUTO weight gradient = oneDNN's", isa, TCET_F32, p, q, nw);
        assert_int_equal(conv_run(b, CONV_BWD_DATA, d, x, w, dy, p), 0);
        assert_int_equal(tcet_cpu_dnnl_calls(b), calls + 2);
        assert_int_equal(conv_run(a, CONV_BWD_DATA, d, x, w, dy, q), 0);
        expect_same("AUTO stride-2 data gradient = oneDNN's", isa, TCET_F32, p, q, nx);
        assert_int_equal(conv_run(b, CONV_FWD, d, x, w, dy, p), 0);
        assert_int_equal(tcet_cpu_dnnl_calls(b), calls + 2); /* the forward did not */
        assert_int_equal(conv_run(ref, CONV_FWD, d, x, w, dy, q), 0);
        /* (the forward runs in the direct kernels where the shape allows:
         * im2col's result to rounding, tests/unit/test_conv_direct.c) */
        const double r = rel_diff(p, q, ny);
        if (!(r <= 1e-5)) fail_msg("AUTO forward, path %s: max diff %.3g of the largest im2col value",
                                   tcet_cpu_isa_name(isa), r);
        free(x), free(w), free(dy), free(p), free(q);
        a->destroy(a), b->destroy(b);
    }
    if (!ran) print_message("[ note ] %s: no path with oneDNN on this CPU\n", test_name);
}

/* ---- batch norm -------------------------------------------------------------- */

static void bn_fwd_case(int fused, int train, int dt, int n, int c, int hw)
{
    const size_t nx = (size_t)n * c * hw;
    void *x = rand_buf(dt, nx), *g = rand_buf(dt, (size_t)c), *b = rand_buf(dt, (size_t)c);
    void *rm0 = rand_buf(dt, (size_t)c), *rv0 = rand_buf(dt, (size_t)c);
    for (int i = 0; i < c; i++) { /* positive running variances */
        if (dt == TCET_F32) ((float *)rv0)[i] = fabsf(((float *)rv0)[i]) + 0.5f;
        else ((double *)rv0)[i] = fabs(((double *)rv0)[i]) + 0.5;
    }
    const size_t cb = (size_t)c * tcet_dtype_size(dt);
    void *y[2], *yr[2], *rm[2], *rv[2], *sm[2], *si[2];
    for (int k = 0; k < 2; k++) {
        y[k] = buf(dt, nx), yr[k] = buf(dt, nx), sm[k] = buf(dt, (size_t)c), si[k] = buf(dt, (size_t)c);
        rm[k] = buf(dt, (size_t)c), rv[k] = buf(dt, (size_t)c);
    }
    const char *what = fused ? (train ? "bn_relu_fwd train" : "bn_relu_fwd eval") : (train ? "bn_fwd train" : "bn_fwd eval");
    for (int k = 0; k < 2; k++) {
        memcpy(rm[k], rm0, cb), memcpy(rv[k], rv0, cb);
    }
    tcet_backend *r = ref;
    int rc = fused ? r->bn_relu_fwd(r, dt, train, n, c, hw, 1e-5, 0.1, x, g, b, rm[0], rv[0], train, y[0], yr[0], sm[0], si[0])
                   : r->bn_fwd(r, dt, train, n, c, hw, 1e-5, 0.1, x, g, b, rm[0], rv[0], train, y[0], sm[0], si[0]);
    assert_int_equal(rc, 0);
    FOR_PATHS(isa, be) {
        memcpy(rm[1], rm0, cb), memcpy(rv[1], rv0, cb);
        rc = fused ? be->bn_relu_fwd(be, dt, train, n, c, hw, 1e-5, 0.1, x, g, b, rm[1], rv[1], train, y[1], yr[1], sm[1], si[1])
                   : be->bn_fwd(be, dt, train, n, c, hw, 1e-5, 0.1, x, g, b, rm[1], rv[1], train, y[1], sm[1], si[1]);
        assert_int_equal(rc, 0);
        expect_same(what, isa, dt, y[1], y[0], nx);
        if (fused) expect_same(what, isa, dt, yr[1], yr[0], nx);
        expect_same(what, isa, dt, rm[1], rm[0], (size_t)c);
        expect_same(what, isa, dt, rv[1], rv[0], (size_t)c);
        if (train) {
            expect_same(what, isa, dt, sm[1], sm[0], (size_t)c);
            expect_same(what, isa, dt, si[1], si[0], (size_t)c);
        }
    }
    free(x), free(g), free(b), free(rm0), free(rv0);
    for (int k = 0; k < 2; k++) free(y[k]), free(yr[k]), free(sm[k]), free(si[k]), free(rm[k]), free(rv[k]);
}

static const int bn_shapes[][3] = {{4, 3, 25}, {2, 16, 64}, {3, 5, 1}, {8, 24, 256}, {1, 7, 33}};

static void test_bn_fwd(void **state)
{
    (void)state;
    test_name = "test_bn_fwd";
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t i = 0; i < sizeof bn_shapes / sizeof bn_shapes[0]; i++)
            for (int train = 0; train <= 1; train++) bn_fwd_case(0, train, dt, bn_shapes[i][0], bn_shapes[i][1], bn_shapes[i][2]);
}

static void test_bn_relu_fwd(void **state)
{
    (void)state;
    test_name = "test_bn_relu_fwd";
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t i = 0; i < sizeof bn_shapes / sizeof bn_shapes[0]; i++)
            for (int train = 0; train <= 1; train++) bn_fwd_case(1, train, dt, bn_shapes[i][0], bn_shapes[i][1], bn_shapes[i][2]);
}

/* The train-mode forward of a ZenNet-sized activation with only the ReLU
 * output kept (tcet_net.skip_bn_out): channels in blocks that stay in L2
 * (one channel per block here), and an output of 10 MiB that the AVX2 paths
 * stream to memory; bit for bit the generic path, which does neither
 * streaming nor anything ISA-specific (and, eval mode, the same). */
static void test_bn_relu_fwd_large(void **state)
{
    (void)state;
    test_name = "test_bn_relu_fwd_large";
    const int n = 64, c = 40, hw = 1024;
    const size_t nx = (size_t)n * c * hw;
    float *x = rand_buf(TCET_F32, nx), *g = rand_buf(TCET_F32, (size_t)c), *b = rand_buf(TCET_F32, (size_t)c);
    float *rm = rand_buf(TCET_F32, (size_t)c), *rv = rand_buf(TCET_F32, (size_t)c);
    for (int i = 0; i < c; i++) rv[i] = fabsf(rv[i]) + 0.5f;
    /* r1 aligned as the backend's own memory is (streaming needs whole aligned vectors) */
    float *r0 = buf(TCET_F32, nx), *r1 = aligned_alloc(64, nx * sizeof *r1);
    float *sm = buf(TCET_F32, (size_t)c), *si = buf(TCET_F32, (size_t)c);
    assert_non_null(r1);
    float *sm1 = buf(TCET_F32, (size_t)c), *si1 = buf(TCET_F32, (size_t)c);
    for (int train = 0; train <= 1; train++) {
        assert_int_equal(ref->bn_relu_fwd(ref, TCET_F32, train, n, c, hw, 1e-3, 0.1, x, g, b, rm, rv, 0, NULL, r0, sm, si), 0);
        FOR_PATHS(isa, be) {
            memset(r1, 0xff, nx * sizeof *r1);
            assert_int_equal(be->bn_relu_fwd(be, TCET_F32, train, n, c, hw, 1e-3, 0.1, x, g, b, rm, rv, 0, NULL, r1, sm1,
                                             si1), 0);
            expect_same(train ? "bn_relu_fwd train, ReLU only" : "bn_relu_fwd eval, ReLU only", isa, TCET_F32, r1, r0, nx);
            if (train) {
                expect_same("bn_relu_fwd train (mean)", isa, TCET_F32, sm1, sm, (size_t)c);
                expect_same("bn_relu_fwd train (invstd)", isa, TCET_F32, si1, si, (size_t)c);
            }
        }
    }
    free(x), free(g), free(b), free(rm), free(rv), free(r0), free(r1), free(sm), free(si), free(sm1), free(si1);
}

static void bn_bwd_case(int fused, int dt, int n, int c, int hw)
{
    const size_t nx = (size_t)n * c * hw;
    void *x = rand_buf(dt, nx), *dy = rand_buf(dt, nx), *g = rand_buf(dt, (size_t)c), *b = rand_buf(dt, (size_t)c);
    void *y = buf(dt, nx), *sm = buf(dt, (size_t)c), *si = buf(dt, (size_t)c);
    assert_int_equal(ref->bn_fwd(ref, dt, 1, n, c, hw, 1e-5, 0.1, x, g, b, NULL, NULL, 0, y, sm, si), 0);
    void *dx[2], *dg[2], *db[2];
    for (int k = 0; k < 2; k++) dx[k] = buf(dt, nx), dg[k] = buf(dt, (size_t)c), db[k] = buf(dt, (size_t)c);
    const char *what = fused ? "bn_relu_bwd" : "bn_bwd";
    int rc = fused ? ref->bn_relu_bwd(ref, dt, n, c, hw, x, dy, g, b, sm, si, dx[0], dg[0], db[0])
                   : ref->bn_bwd(ref, dt, n, c, hw, x, dy, g, sm, si, dx[0], dg[0], db[0]);
    assert_int_equal(rc, 0);
    FOR_PATHS(isa, be) {
        rc = fused ? be->bn_relu_bwd(be, dt, n, c, hw, x, dy, g, b, sm, si, dx[1], dg[1], db[1])
                   : be->bn_bwd(be, dt, n, c, hw, x, dy, g, sm, si, dx[1], dg[1], db[1]);
        assert_int_equal(rc, 0);
        expect_same(what, isa, dt, dx[1], dx[0], nx);
        expect_same(what, isa, dt, dg[1], dg[0], (size_t)c);
        expect_same(what, isa, dt, db[1], db[0], (size_t)c);
    }
    free(x), free(dy), free(g), free(b), free(y), free(sm), free(si);
    for (int k = 0; k < 2; k++) free(dx[k]), free(dg[k]), free(db[k]);
}

static void test_bn_bwd(void **state)
{
    (void)state;
    test_name = "test_bn_bwd";
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t i = 0; i < sizeof bn_shapes / sizeof bn_shapes[0]; i++)
            bn_bwd_case(0, dt, bn_shapes[i][0], bn_shapes[i][1], bn_shapes[i][2]);
}

static void test_bn_relu_bwd(void **state)
{
    (void)state;
    test_name = "test_bn_relu_bwd";
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t i = 0; i < sizeof bn_shapes / sizeof bn_shapes[0]; i++)
            bn_bwd_case(1, dt, bn_shapes[i][0], bn_shapes[i][1], bn_shapes[i][2]);
}

/* ---- element-wise, pooling, linear, loss, saliency ------------------------ */

static void test_relu_add(void **state)
{
    (void)state;
    test_name = "test_relu_add";
    const size_t counts[] = {1, 7, 64, 1003};
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t ci = 0; ci < 4; ci++) {
            const size_t n = counts[ci];
            void *a = rand_buf(dt, n), *b = rand_buf(dt, n), *r0 = buf(dt, n), *r1 = buf(dt, n);
            void *s0 = buf(dt, n), *s1 = buf(dt, n), *d0 = buf(dt, n), *d1 = buf(dt, n);
            assert_int_equal(ref->relu_fwd(ref, dt, n, a, r0), 0);
            assert_int_equal(ref->relu_bwd(ref, dt, n, r0, b, d0), 0);
            assert_int_equal(ref->add(ref, dt, n, a, b, s0), 0);
            FOR_PATHS(isa, be) {
                assert_int_equal(be->relu_fwd(be, dt, n, a, r1), 0);
                assert_int_equal(be->relu_bwd(be, dt, n, r0, b, d1), 0);
                assert_int_equal(be->add(be, dt, n, a, b, s1), 0);
                expect_same("relu_fwd", isa, dt, r1, r0, n);
                expect_same("relu_bwd", isa, dt, d1, d0, n);
                expect_same("add", isa, dt, s1, s0, n);
            }
            free(a), free(b), free(r0), free(r1), free(s0), free(s1), free(d0), free(d1);
        }
}

static void test_gap(void **state)
{
    (void)state;
    test_name = "test_gap";
    const int n = 3, c = 5, hw = 49;
    for (int dt = TCET_F32; dt <= TCET_F64; dt++) {
        const size_t nx = (size_t)n * c * hw, ny = (size_t)n * c;
        void *x = rand_buf(dt, nx), *dy = rand_buf(dt, ny), *y0 = buf(dt, ny), *y1 = buf(dt, ny);
        void *dx0 = buf(dt, nx), *dx1 = buf(dt, nx);
        assert_int_equal(ref->gap_fwd(ref, dt, n, c, hw, x, y0), 0);
        assert_int_equal(ref->gap_bwd(ref, dt, n, c, hw, dy, dx0), 0);
        FOR_PATHS(isa, be) {
            assert_int_equal(be->gap_fwd(be, dt, n, c, hw, x, y1), 0);
            assert_int_equal(be->gap_bwd(be, dt, n, c, hw, dy, dx1), 0);
            expect_same("gap_fwd", isa, dt, y1, y0, ny);
            expect_same("gap_bwd", isa, dt, dx1, dx0, nx);
        }
        free(x), free(dy), free(y0), free(y1), free(dx0), free(dx1);
    }
}

static void test_linear(void **state)
{
    (void)state;
    test_name = "test_linear";
    const int n = 6, in = 37, out = 11;
    for (int dt = TCET_F32; dt <= TCET_F64; dt++) {
        void *x = rand_buf(dt, (size_t)n * in), *w = rand_buf(dt, (size_t)out * in), *b = rand_buf(dt, (size_t)out);
        void *dy = rand_buf(dt, (size_t)n * out);
        void *y[2], *dx[2], *dw[2], *db[2];
        for (int k = 0; k < 2; k++)
            y[k] = buf(dt, (size_t)n * out), dx[k] = buf(dt, (size_t)n * in), dw[k] = buf(dt, (size_t)out * in),
            db[k] = buf(dt, (size_t)out);
        assert_int_equal(ref->linear_fwd(ref, dt, n, in, out, x, w, b, y[0]), 0);
        assert_int_equal(ref->linear_bwd(ref, dt, n, in, out, x, w, dy, dx[0], dw[0], db[0]), 0);
        FOR_PATHS(isa, be) {
            assert_int_equal(be->linear_fwd(be, dt, n, in, out, x, w, b, y[1]), 0);
            assert_int_equal(be->linear_bwd(be, dt, n, in, out, x, w, dy, dx[1], dw[1], db[1]), 0);
            expect_same("linear_fwd", isa, dt, y[1], y[0], (size_t)n * out);
            expect_same("linear_bwd dx", isa, dt, dx[1], dx[0], (size_t)n * in);
            expect_same("linear_bwd dw", isa, dt, dw[1], dw[0], (size_t)out * in);
            expect_same("linear_bwd db", isa, dt, db[1], db[0], (size_t)out);
        }
        free(x), free(w), free(b), free(dy);
        for (int k = 0; k < 2; k++) free(y[k]), free(dx[k]), free(dw[k]), free(db[k]);
    }
}

static void test_softmax_xent(void **state)
{
    (void)state;
    test_name = "test_softmax_xent";
    const int n = 9, classes = 100;
    float *l = rand_buf(TCET_F32, (size_t)n * classes), *g0 = buf(TCET_F32, (size_t)n * classes),
          *g1 = buf(TCET_F32, (size_t)n * classes);
    int32_t labels[9];
    for (int i = 0; i < n; i++) labels[i] = (i * 37) % classes;
    double loss0, loss1;
    assert_int_equal(ref->softmax_xent(ref, n, classes, l, labels, &loss0, g0), 0);
    FOR_PATHS(isa, be) {
        assert_int_equal(be->softmax_xent(be, n, classes, l, labels, &loss1, g1), 0);
        expect_same("softmax_xent loss", isa, TCET_F64, &loss1, &loss0, 1);
        expect_same("softmax_xent dlogits", isa, TCET_F32, g1, g0, (size_t)n * classes);
    }
    free(l), free(g0), free(g1);
}

static void test_saliency_stats(void **state)
{
    (void)state;
    test_name = "test_saliency_stats";
    const size_t counts[] = {1, 2, 15, 4099};
    for (int dt = TCET_F32; dt <= TCET_F64; dt++)
        for (size_t ci = 0; ci < 4; ci++) {
            void *w = rand_buf(dt, counts[ci]), *g = rand_buf(dt, counts[ci]);
            double s0, d0, s1, d1;
            assert_int_equal(ref->saliency_stats(ref, dt, counts[ci], w, g, &s0, &d0), 0);
            FOR_PATHS(isa, be) {
                assert_int_equal(be->saliency_stats(be, dt, counts[ci], w, g, &s1, &d1), 0);
                expect_same("saliency sum", isa, TCET_F64, &s1, &s0, 1);
                if (!(isnan(d0) && isnan(d1))) expect_same("saliency std", isa, TCET_F64, &d1, &d0, 1);
            }
            free(w), free(g);
        }
}

/* ---- Gram: every path, including the generic one, against a naive count ---- */

static void test_gram_codes(void **state)
{
    (void)state;
    test_name = "test_gram_codes";
    const int n = 64;
    /* around the 64-bit word, the 16-vector Harley-Seal step (64 words) and
     * the 256-word chunk */
    const size_t ds[] = {1, 63, 64, 65, 255, 4096, 4097, 4160, 16384 + 70, 64 * 300 + 5};
    for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
        const size_t d = ds[di];
        float *x = malloc((size_t)n * d * sizeof *x);
        unsigned char *c = malloc((size_t)n * d);
        double *K = malloc((size_t)n * n * sizeof *K);
        int64_t *pos = malloc((size_t)n * sizeof *pos), *naive_pos = malloc((size_t)n * sizeof *naive_pos);
        double *naive = malloc((size_t)n * n * sizeof *naive);
        assert_non_null(x), assert_non_null(c), assert_non_null(K), assert_non_null(pos);
        assert_non_null(naive), assert_non_null(naive_pos);
        for (size_t i = 0; i < (size_t)n * d; i++) {
            const double u = urand();
            x[i] = u < 0.05 ? NAN : u < 0.1 ? -0.0f : u < 0.15 ? 1e-41f : (float)(u - 0.55);
            c[i] = x[i] > 0.0f;
        }
        for (int i = 0; i < n; i++) {
            int64_t p = 0;
            for (size_t u = 0; u < d; u++) p += c[(size_t)i * d + u];
            naive_pos[i] = p;
            for (int j = 0; j < n; j++) {
                int64_t agree = 0;
                for (size_t u = 0; u < d; u++) agree += c[(size_t)i * d + u] == c[(size_t)j * d + u];
                naive[(size_t)i * n + j] = (double)agree;
            }
        }
        for (int isa = 0; isa < TCET_CPU_ISA_COUNT; isa++) {
            tcet_backend *be = isa ? path_or_skip(isa, test_name) : ref;
            if (!be) continue;
            assert_int_equal(be->gram_codes(be, n, d, x, K, pos), 0);
            for (int i = 0; i < n; i++) {
                if (pos[i] != naive_pos[i])
                    fail_msg("gram path %s d=%zu: positives[%d] = %lld, naive %lld", tcet_cpu_isa_name(isa), d, i,
                             (long long)pos[i], (long long)naive_pos[i]);
                for (int j = 0; j < n; j++)
                    if (K[(size_t)i * n + j] != naive[(size_t)i * n + j])
                        fail_msg("gram path %s d=%zu: K[%d][%d] = %.17g, naive %.17g", tcet_cpu_isa_name(isa), d, i,
                                 j, K[(size_t)i * n + j], naive[(size_t)i * n + j]);
            }
        }
        free(x), free(c), free(K), free(pos), free(naive), free(naive_pos);
    }
}

/* ---- selection --------------------------------------------------------------- */

static void test_select(void **state)
{
    (void)state;
    test_name = "test_select";
    int isa = -1;
    /* the default is the best path the CPU has */
    unsetenv("TCET_CPU_ISA");
    assert_int_equal(tcet_cpu_isa_select(&isa), 0);
    for (int k = isa + 1; k < TCET_CPU_ISA_COUNT; k++) assert_false(tcet_cpu_isa_supported(k));
    assert_true(tcet_cpu_isa_supported(isa));
    setenv("TCET_CPU_ISA", "auto", 1);
    int isa2 = -1;
    assert_int_equal(tcet_cpu_isa_select(&isa2), 0);
    assert_int_equal(isa2, isa);
    /* every path by name: granted when supported, refused (backend failure) when not */
    for (int k = 0; k < TCET_CPU_ISA_COUNT; k++) {
        setenv("TCET_CPU_ISA", tcet_cpu_isa_name(k), 1);
        tcet_backend *be = tcet_backend_cpu_create(1);
        if (tcet_cpu_isa_supported(k)) {
            assert_non_null(be);
            assert_int_equal(tcet_cpu_isa_of(be), k);
            assert_non_null(strstr(be->device, tcet_cpu_isa_name(k)));
            be->destroy(be);
        } else {
            assert_null(be);
            assert_int_equal(tcet_error_code(), TCET_ERR_BACKEND);
            assert_non_null(strstr(tcet_error_message(), "TCET_CPU_ISA"));
            print_message("[ note ] TCET_CPU_ISA=%s refused as expected: %s\n", tcet_cpu_isa_name(k),
                          tcet_error_message());
            tcet_error_clear();
        }
    }
    setenv("TCET_CPU_ISA", "avx3000", 1);
    assert_null(tcet_backend_cpu_create(1));
    assert_int_equal(tcet_error_code(), TCET_ERR_USAGE);
    tcet_error_clear();
    /* the generic path exists everywhere */
    assert_true(tcet_cpu_isa_supported(TCET_CPU_ISA_GENERIC));
    unsetenv("TCET_CPU_ISA");
    if (!npaths_run()) print_message("[ note ] only the generic path runs on this CPU\n");
}

/* OpenBLAS's kernel choice: tcet forces AVX2/AVX-512 GEMM kernels only when a
 * DYNAMIC_ARCH OpenBLAS fell back to a pre-AVX2 core on a CPU that has AVX2,
 * and never over the user's OPENBLAS_CORETYPE. */
static void test_blas_core_choice(void **state)
{
    (void)state;
    const char *dyn = "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64";
    assert_string_equal(tcet_cpu_blas_core_choose(NULL, dyn, "Prescott", 1, 1), "SkylakeX");
    assert_string_equal(tcet_cpu_blas_core_choose("", dyn, "prescott", 1, 0), "Haswell");
    assert_string_equal(tcet_cpu_blas_core_choose(NULL, dyn, "Sandybridge", 1, 0), "Haswell");
    assert_null(tcet_cpu_blas_core_choose("Prescott", dyn, "Prescott", 1, 1)); /* the user's choice */
    assert_null(tcet_cpu_blas_core_choose(NULL, dyn, "Prescott", 0, 0));       /* a CPU without AVX2 */
    assert_null(tcet_cpu_blas_core_choose(NULL, "OpenBLAS 0.3.21 NO_AFFINITY Haswell", "Prescott", 1, 1));
    assert_null(tcet_cpu_blas_core_choose(NULL, dyn, "Zen", 1, 0));
    assert_null(tcet_cpu_blas_core_choose(NULL, dyn, "SkylakeX", 1, 1));
    assert_null(tcet_cpu_blas_core_choose(NULL, dyn, "Haswell", 1, 1));
    assert_null(tcet_cpu_blas_core_choose(NULL, dyn, NULL, 1, 1));
    /* this test process keeps OpenBLAS's own pick (only the tcet executable runs itself again) */
    char now[128];
    tcet_cpu_blas_core_describe(now, sizeof now);
    print_message("[ note ] OpenBLAS kernels here: %s\n", now);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select),          cmocka_unit_test(test_conv_fwd),
        cmocka_unit_test(test_conv_bwd_data),   cmocka_unit_test(test_conv_bwd_filter),
        cmocka_unit_test(test_conv_onednn),
        cmocka_unit_test(test_bn_fwd),          cmocka_unit_test(test_bn_relu_fwd),
        cmocka_unit_test(test_bn_relu_fwd_large),
        cmocka_unit_test(test_bn_bwd),          cmocka_unit_test(test_bn_relu_bwd),
        cmocka_unit_test(test_relu_add),        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_linear),          cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_saliency_stats),  cmocka_unit_test(test_gram_codes),
        cmocka_unit_test(test_blas_core_choice),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
