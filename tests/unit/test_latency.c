/* Latency measurement of the budget network (docs/semantics.md#main-loop): positive and
 * bounded by the wall time of the whole call (1 timed forward out of 4,
 * divided by the batch), ordered by work (a network with ~1000x the FLOPs
 * is slower), buffers reused across calls (steady arena), and usage errors
 * reported with the documented exit code. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "test_support.h"

#include "common/arch.h"
#include "common/error.h"
#include "worker/latency.h"

static tcet_backend *be;
static tcet_latency_cache cache;
static int setup(void **s) { (void)s; be = tcet_backend_cpu_create(1); return be ? 0 : -1; }
static int teardown(void **s)
{
    (void)s;
    tcet_latency_release(&cache);
    be->destroy(be);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double measure(const char *s, int batch, int res, double *wall)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
    double lat = -1;
    double t0 = now_s();
    assert_int_equal(tcet_measure_latency(&cache, be, &a, batch, res, 10, 42, &lat), 0);
    if (wall) *wall = now_s() - t0;
    return lat;
}

#define TINY "SuperConvK3BNRELU(3,8,1,1)"
/* residual budget network: 4 k3 convs 64->64 at 32x32 plus projections */
#define BIG "SuperConvK3BNRELU(3,64,1,1)SuperResK3K3(64,64,1,64,2)SuperResK1K3K1(64,96,1,64,1)"

static void test_bounds_and_order(void **s)
{
    (void)s;
    double wall_tiny, wall_big;
    double tiny = measure(TINY, 2, 16, &wall_tiny);
    double big = measure(BIG, 2, 32, &wall_big);
    printf("latency: tiny %.3g s/image (call %.3g s), big %.3g s/image (call %.3g s)\n", tiny,
           wall_tiny, big, wall_big);
    assert_true(tiny > 0 && isfinite(tiny));
    assert_true(big > 0 && isfinite(big));
    /* the timed forward of `batch` images lies inside the call */
    assert_true(tiny * 2 <= wall_tiny);
    assert_true(big * 2 <= wall_big);
    /* one of four equal forwards; init and upload are small next to it */
    assert_true(big * 2 >= wall_big / 50);
    /* ~1000x the multiply-adds */
    assert_true(big > 10 * tiny);
}

static void test_buffers_reused(void **s)
{
    (void)s;
    measure(BIG, 2, 32, NULL);
    size_t bytes = tcet_latency_bytes(&cache);
    assert_true(bytes > 0);
    /* smaller candidates and a repeat of the largest allocate nothing new */
    for (int i = 0; i < 3; i++) {
        measure(TINY, 2, 16, NULL);
        measure("SuperConvK3BNRELU(3,16,2,1)SuperResIDWE2K3(16,24,2,16,1)", 2, 32, NULL);
        measure(BIG, 2, 32, NULL);
        assert_true(tcet_latency_bytes(&cache) == bytes);
    }
}

static void test_usage_errors(void **s)
{
    (void)s;
    tcet_arch a;
    double lat = 0;
    assert_int_equal(tcet_arch_parse(TINY, &a, NULL), 0);
    assert_int_equal(tcet_measure_latency(&cache, be, &a, 0, 16, 10, 1, &lat), TCET_ERR_USAGE);
    tcet_error_clear();
    assert_int_equal(tcet_measure_latency(&cache, be, &a, 2, 0, 10, 1, &lat), TCET_ERR_USAGE);
    tcet_error_clear();
    /* no classes: refused by the plan */
    assert_int_equal(tcet_measure_latency(&cache, be, &a, 2, 16, 0, 1, &lat), TCET_ERR_USAGE);
    tcet_error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_and_order),
        cmocka_unit_test(test_buffers_reused),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
