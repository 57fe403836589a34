/* Latency filter measurement (see latency.h). */
#include "worker/latency.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/plan.h"
#include "common/rng.h"
#include "worker/net.h"

#define LATENCY_WARMUP 3

void tcet_latency_release(tcet_latency_cache *c)
{
    if (c->be) tcet_net_free(&c->net);
    free(c->x);
    memset(c, 0, sizeof *c);
}

size_t tcet_latency_bytes(const tcet_latency_cache *c) { return tcet_net_arena_bytes(&c->net); }

int tcet_measure_latency(tcet_latency_cache *c, tcet_backend *be, const tcet_arch *a, int batch, int resolution,
                         int num_classes, uint64_t seed, double *seconds_per_image)
{
    if (batch < 1) return TCET_FAIL(TCET_ERR_USAGE, "latency batch size must be >= 1 (got %d)", batch);
    if (resolution < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "latency resolution must be >= 1 (got %d)", resolution);
    if (c->be && c->be != be) tcet_latency_release(c);
    c->be = be;

    tcet_plan plan;
    tcet_plan_opts o = {.reslink = 1, .bn = 1, .num_classes = num_classes, .resolution = resolution};
    TCET_TRY(tcet_plan_build(a, &o, &plan));
    /* fp16 as the reference where the backend can (CUDA), else float32 */
    int dtype = be->has_f16 ? TCET_F16 : TCET_F32;
    int rc = tcet_net_build(&c->net, be, &plan, dtype, batch);
    tcet_plan_free(&plan);
    if (rc) return tcet_trace(rc, __FILE__, __LINE__, "building the latency network");

    tcet_rng r;
    tcet_rng_seed(&r, seed, TCET_STREAM_AUX, 0);
    TCET_TRY(tcet_net_init_default(&c->net, &r));
    size_t nx = (size_t)batch * 3 * (size_t)resolution * (size_t)resolution;
    if (nx > c->x_cap) {
        free(c->x);
        c->x = xmalloc(nx * sizeof(float));
        c->x_cap = nx;
    }
    for (size_t i = 0; i < nx; i++) c->x[i] = (float)tcet_rng_normal(&r);
    TCET_TRY(tcet_net_set_input(&c->net, c->x));

    for (int i = 0; i < LATENCY_WARMUP; i++) TCET_TRY(tcet_net_forward(&c->net, 0, 0));
    TCET_TRY(be->sync(be));
    double t0 = tcet_now();
    TCET_TRY(tcet_net_forward(&c->net, 0, 0));
    TCET_TRY(be->sync(be));
    double t1 = tcet_now();
    *seconds_per_image = (t1 - t0) / (double)batch;
    return 0;
}
