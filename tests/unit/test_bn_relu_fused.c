/* The CPU backend's fused bn_relu_fwd (docs/performance.md): y must be exactly what
 * bn_fwd writes (bn_fwd itself is checked against PyTorch in the golden and
 * cpu_ops tests), and y_relu = relu(y) by definition (x < 0 ? 0 : x, NaN
 * kept), in train mode (batch statistics, running update) and eval mode,
 * float32 and float64, with planes of 1, 7, 16 and 64 pixels. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "kernels/backend.h"
#include "test_support.h"

static tcet_backend *be;

static int setup(void **state) { return test_cpu_backend(&be); }
static int teardown(void **state) { return test_cpu_backend_free(&be); }

static double val(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0 * 4.0 - 1.5;
}

static void check(int dt, int train, int n, int c, int hw)
{
    const size_t es = tcet_dtype_size(dt), N = (size_t)n * c * hw;
    char *x = malloc(N * es), *y1 = malloc(N * es), *y2 = malloc(N * es), *r2 = malloc(N * es);
    char *par = malloc(16 * (size_t)c * es);
    assert_non_null(x), assert_non_null(y1), assert_non_null(y2), assert_non_null(r2), assert_non_null(par);
    uint64_t s = 42u + (uint64_t)N;
    for (size_t i = 0; i < N; i++) {
        double v = val(&s);
        if (dt == TCET_F32) ((float *)(void *)x)[i] = (float)v;
        else ((double *)(void *)x)[i] = v;
    }
    if (N > 3) { /* a NaN must survive both outputs */
        if (dt == TCET_F32) ((float *)(void *)x)[3] = NAN;
        else ((double *)(void *)x)[3] = NAN;
    }
    /* gamma, beta, running mean/var twice (one set per call), save mean/invstd twice */
    char *g = par, *b = par + (size_t)c * es, *rm1 = par + 2 * (size_t)c * es, *rv1 = par + 3 * (size_t)c * es;
    char *rm2 = par + 4 * (size_t)c * es, *rv2 = par + 5 * (size_t)c * es;
    char *sm1 = par + 6 * (size_t)c * es, *si1 = par + 7 * (size_t)c * es;
    char *sm2 = par + 8 * (size_t)c * es, *si2 = par + 9 * (size_t)c * es;
    for (int k = 0; k < c; k++) {
        double gv = 0.5 + 0.1 * k, bv = 0.2 - 0.05 * k, m = 0.01 * k, v = 1.0 + 0.2 * k;
        if (dt == TCET_F32) {
            ((float *)(void *)g)[k] = (float)gv, ((float *)(void *)b)[k] = (float)bv;
            ((float *)(void *)rm1)[k] = ((float *)(void *)rm2)[k] = (float)m;
            ((float *)(void *)rv1)[k] = ((float *)(void *)rv2)[k] = (float)v;
        } else {
            ((double *)(void *)g)[k] = gv, ((double *)(void *)b)[k] = bv;
            ((double *)(void *)rm1)[k] = ((double *)(void *)rm2)[k] = m;
            ((double *)(void *)rv1)[k] = ((double *)(void *)rv2)[k] = v;
        }
    }
    assert_int_equal(be->bn_fwd(be, dt, train, n, c, hw, 1e-3, 0.1, x, g, b, rm1, rv1, train, y1, sm1, si1), 0);
    assert_int_equal(be->bn_relu_fwd(be, dt, train, n, c, hw, 1e-3, 0.1, x, g, b, rm2, rv2, train, y2, r2, sm2,
                                     si2), 0);
    assert_memory_equal(y1, y2, N * es);
    assert_memory_equal(rm1, rm2, (size_t)c * es);
    assert_memory_equal(rv1, rv2, (size_t)c * es);
    if (train) {
        assert_memory_equal(sm1, sm2, (size_t)c * es);
        assert_memory_equal(si1, si2, (size_t)c * es);
    }
    for (size_t i = 0; i < N; i++) {
        /* relu by its definition, compared bit for bit (NaN and -0 kept) */
        if (dt == TCET_F32) {
            const float yv = ((float *)(void *)y2)[i], want = yv < 0 ? 0.0f : yv;
            assert_memory_equal(&want, (float *)(void *)r2 + i, sizeof want);
        } else {
            const double yv = ((double *)(void *)y2)[i], want = yv < 0 ? 0.0 : yv;
            assert_memory_equal(&want, (double *)(void *)r2 + i, sizeof want);
        }
    }
    free(x), free(y1), free(y2), free(r2), free(par);
}

static void test_fused_matches(void **state)
{
    (void)state;
    const int hws[] = { 1, 7, 16, 64 };
    for (int dt = 0; dt < 2; dt++)
        for (int train = 0; train < 2; train++)
            for (int h = 0; h < 4; h++) check(dt, train, 5, 3, hws[h]);
    check(TCET_F32, 1, 64, 16, 64);
}

static void test_fused_needs_output(void **state)
{
    (void)state;
    float x[8] = { 0 }, y[8], g[1] = { 1 }, b[1] = { 0 }, rm[1] = { 0 }, rv[1] = { 1 }, sm[1], si[1];
    assert_int_equal(be->bn_relu_fwd(be, TCET_F32, 1, 2, 1, 4, 1e-3, 0.1, x, g, b, rm, rv, 0, y, NULL, sm, si),
                     TCET_ERR_USAGE);
    tcet_error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_matches),
        cmocka_unit_test(test_fused_needs_output),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
