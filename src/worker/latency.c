/* Latency filter measurement (see latency.h). */
#include "worker/latency.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/plan.h"
#include "common/rng.h"
#include "worker/net.h"

#define LATENCY_WARMUP 3

/* Kept between calls: a worker is one single-threaded process, so one
 * cache per process suffices (not thread-safe by design). */
static struct {
    tcet_net net;
    tcet_backend *be;
    float *x;
    size_t x_cap;
} cache;

void tcet_latency_release(void)
{
    if (cache.be) tcet_net_free(&cache.net);
    free(cache.x);
    memset(&cache, 0, sizeof cache);
}

size_t tcet_latency_bytes(void) { return tcet_net_arena_bytes(&cache.net); }

static double now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) tcet_die(__FILE__, __LINE__, "clock_gettime failed");
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int tcet_measure_latency(tcet_backend *be, const tcet_arch *a, int batch, int resolution,
                         int num_classes, uint64_t seed, double *seconds_per_image)
{
    if (batch < 1) return TCET_FAIL(TCET_ERR_USAGE, "latency batch size must be >= 1 (got %d)", batch);
    if (resolution < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "latency resolution must be >= 1 (got %d)", resolution);
    if (cache.be && cache.be != be) tcet_latency_release();
    cache.be = be;

    tcet_plan plan;
    tcet_plan_opts o = {.reslink = 1, .bn = 1, .num_classes = num_classes, .resolution = resolution};
    TCET_TRY(tcet_plan_build(a, &o, &plan));
    int rc = tcet_net_build(&cache.net, be, &plan, TCET_F32, batch);
    tcet_plan_free(&plan);
    if (rc) return tcet_trace(rc, __FILE__, __LINE__, "building the latency network");

    tcet_rng r;
    tcet_rng_seed(&r, seed, TCET_STREAM_AUX, 0);
    TCET_TRY(tcet_net_init_default(&cache.net, &r));
    size_t nx = (size_t)batch * 3 * (size_t)resolution * (size_t)resolution;
    if (nx > cache.x_cap) {
        free(cache.x);
        cache.x = xmalloc(nx * sizeof(float));
        cache.x_cap = nx;
    }
    for (size_t i = 0; i < nx; i++) cache.x[i] = (float)tcet_rng_normal(&r);
    TCET_TRY(tcet_net_set_input(&cache.net, cache.x));

    for (int i = 0; i < LATENCY_WARMUP; i++) TCET_TRY(tcet_net_forward(&cache.net, 0, 0));
    TCET_TRY(be->sync(be));
    double t0 = now_s();
    TCET_TRY(tcet_net_forward(&cache.net, 0, 0));
    TCET_TRY(be->sync(be));
    double t1 = now_s();
    *seconds_per_image = (t1 - t0) / (double)batch;
    return 0;
}
