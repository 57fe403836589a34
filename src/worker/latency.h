/* Latency of a candidate's budget network (docs/semantics.md#main-loop, docs/semantics.md#latency-measurement, deviations #8).
 *
 * The budget network is the residual network (reslink = 1, projections and
 * BN present), run in eval mode on a random input [batch, 3, R, R]: three
 * warm-up forwards, then one forward timed with CLOCK_MONOTONIC between two
 * be->sync calls (as the reference's synchronize + time.time()).
 * latency = time / batch, in seconds per image.
 *
 * Precision: fp16 where the backend has it (be->has_f16: CUDA), as the
 * reference's model.half() on its GPU — every tensor half, float
 * arithmetic inside cuDNN/cuBLAS/the kernels; float32 elsewhere (the CPU
 * backend has no fp16), so CPU numbers are not comparable to the published
 * GPU budgets at all.  Differences to the reference on a GPU: cuDNN's
 * heuristic algorithm choice instead of cudnn.benchmark autotuning, and
 * tcet's own BN/ReLU/add kernels.  Timings are not deterministic. */
#ifndef TCET_LATENCY_H
#define TCET_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#include "common/arch.h"
#include "kernels/backend.h"
#include "worker/net.h"

/* What a measurement keeps between calls: one per thread that measures
 * (a worker lane), zero-initialised, freed with tcet_latency_release. */
typedef struct {
    tcet_net net;
    tcet_backend *be;       /* the backend net was built on */
    float *x;
    size_t x_cap;
} tcet_latency_cache;

/* Measure the latency of arch on be.  Weights (PyTorch default init) and
 * the input are drawn from (seed, TCET_STREAM_AUX, 0); their values do not
 * matter for timing but keep a run's work reproducible.  The network and the
 * host input buffer are kept in *c between calls (grow-only), so a worker that
 * measures thousands of candidates stops allocating.  Errors: TCET_ERR_USAGE
 * (batch/resolution < 1, structure too small for the resolution), NOMEM,
 * BACKEND. */
int tcet_measure_latency(tcet_latency_cache *c, tcet_backend *be, const tcet_arch *a, int batch, int resolution,
                         int num_classes, uint64_t seed, double *seconds_per_image);

/* Free the buffers kept between calls; call before destroying the backend
 * they were allocated on (a later measurement starts afresh). */
void tcet_latency_release(tcet_latency_cache *c);

/* Device bytes held between calls (the network arena); for memory tests. */
size_t tcet_latency_bytes(const tcet_latency_cache *c);

#endif
