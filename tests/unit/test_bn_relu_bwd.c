/* The CPU backend's fused bn_relu_bwd (docs/performance.md): after a train-mode
 * bn_relu_fwd, bn_relu_bwd(x, dy) must equal relu_bwd(y_relu, dy) followed
 * by bn_bwd (both checked against PyTorch in the golden and cpu_ops tests)
 * bit for bit: dx, dgamma and dbeta, float32 and float64, planes of 1, 7,
 * 16, 64 and 1024 pixels, with values that land exactly on the ReLU edge
 * (bn(x) == 0 where x == mean and beta == 0), a NaN in x and NaN/inf in dy
 * where the mask blocks them.  Also bn_relu_fwd with y = NULL (only the
 * ReLU output written) against the ReLU output of the full call. */
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

static void put(int dt, void *p, size_t i, double v)
{
    if (dt == TCET_F32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

static double get(int dt, const void *p, size_t i)
{
    return dt == TCET_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static void check(int dt, int n, int c, int hw, int specials)
{
    const size_t es = tcet_dtype_size(dt), N = (size_t)n * c * hw;
    char *x = malloc(N * es), *y = malloc(N * es), *r = malloc(N * es), *dy = malloc(N * es);
    char *m1 = malloc(N * es), *dx1 = malloc(N * es), *dx2 = malloc(N * es), *par = malloc(10 * (size_t)c * es);
    assert_non_null(x), assert_non_null(y), assert_non_null(r), assert_non_null(dy);
    assert_non_null(m1), assert_non_null(dx1), assert_non_null(dx2), assert_non_null(par);
    uint64_t s = 7u + N;
    for (size_t i = 0; i < N; i++) put(dt, x, i, val(&s)), put(dt, dy, i, val(&s));
    if (specials && N > 8) {
        /* channel 0 constant (beta 0 there): bn(x) = 0.5 alpha - 0.5 alpha = 0 exactly */
        for (int i = 0; i < n; i++)
            for (int q = 0; q < hw; q++) put(dt, x, (size_t)i * c * hw + (size_t)q, 0.5);
    }
    char *g = par, *b = par + (size_t)c * es, *rm = par + 2 * (size_t)c * es, *rv = par + 3 * (size_t)c * es;
    char *sm = par + 4 * (size_t)c * es, *si = par + 5 * (size_t)c * es;
    char *dg1 = par + 6 * (size_t)c * es, *db1 = par + 7 * (size_t)c * es;
    char *dg2 = par + 8 * (size_t)c * es, *db2 = par + 9 * (size_t)c * es;
    for (int k = 0; k < c; k++) {
        put(dt, g, (size_t)k, 0.5 + 0.1 * k);
        put(dt, b, (size_t)k, k % 2 ? 0.2 - 0.05 * k : 0.0);
        put(dt, rm, (size_t)k, 0.0);
        put(dt, rv, (size_t)k, 1.0);
    }
    assert_int_equal(be->bn_relu_fwd(be, dt, 1, n, c, hw, 1e-3, 0.1, x, g, b, rm, rv, 0, y, r, sm, si), 0);
    if (specials && N > 8) {
        assert_true(get(dt, y, 0) == 0.0); /* the edge is really hit */
        /* blocked by the mask (relu output 0) they must not leak; find two such places */
        int placed = 0;
        for (size_t i = 0; i < N && placed < 2; i++)
            if (!(get(dt, r, i) > 0)) put(dt, dy, i, placed++ ? INFINITY : NAN);
    }
    /* reference: relu_bwd then bn_bwd */
    assert_int_equal(be->relu_bwd(be, dt, N, r, dy, m1), 0);
    assert_int_equal(be->bn_bwd(be, dt, n, c, hw, x, m1, g, sm, si, dx1, dg1, db1), 0);
    assert_non_null(be->bn_relu_bwd);
    assert_int_equal(be->bn_relu_bwd(be, dt, n, c, hw, x, dy, g, b, sm, si, dx2, dg2, db2), 0);
    assert_memory_equal(dx1, dx2, N * es);
    assert_memory_equal(dg1, dg2, (size_t)c * es);
    assert_memory_equal(db1, db2, (size_t)c * es);
    /* bn_relu_fwd without the BN output (tcet_net.skip_bn_out): the same ReLU output */
    memset(dx2, 0x5a, N * es);
    assert_int_equal(be->bn_relu_fwd(be, dt, 1, n, c, hw, 1e-3, 0.1, x, g, b, rm, rv, 0, NULL, dx2, dg2, db2), 0);
    assert_memory_equal(r, dx2, N * es);
    assert_memory_equal(sm, dg2, (size_t)c * es);
    assert_memory_equal(si, db2, (size_t)c * es);
    /* an independent sanity check of the reference itself: finite results */
    for (size_t i = 0; i < N; i++) assert_true(isfinite(get(dt, dx1, i)));
    free(x), free(y), free(r), free(dy), free(m1), free(dx1), free(dx2), free(par);
}

static void test_fused_bwd_matches(void **state)
{
    (void)state;
    const int hws[] = { 1, 7, 16, 64, 1024 };
    for (int dt = 0; dt < 2; dt++)
        for (int h = 0; h < 5; h++) check(dt, 5, 3, hws[h], 0);
    check(TCET_F32, 8, 4, 64, 1);
    check(TCET_F64, 8, 4, 64, 1);
    check(TCET_F32, 64, 16, 256, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_bwd_matches),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
