/* Public entry points of the CUDA + cuDNN backend (built when TCET_HAVE_CUDA).
 * kernels/backend.c selects it; tests and tools may call these directly. */
#ifndef TCET_BACKEND_CUDA_H
#define TCET_BACKEND_CUDA_H

#include "kernels/backend.h"

/* Usable CUDA devices; 0 (not an error) without a driver or a device. */
int tcet_cuda_device_count(void);
/* Visible devices' UUIDs in device order (tcet_gpu_uuids). */
int tcet_cuda_uuids(char (*uuid)[TCET_GPU_UUID_LEN], int max);
/* The same, with the runtime's reason when it is 0 (the error of
 * cudaGetDeviceCount, e.g. no driver, or no device visible). */
int tcet_cuda_device_count_why(char *why, size_t cap);
/* Backend on device local_rank % tcet_cuda_device_count() (so ranks of a node
 * spread over the GPUs that CUDA_VISIBLE_DEVICES leaves visible).
 * TF32 starts off unless the environment has TCET_TF32=1. */
int tcet_backend_cuda_create(int local_rank, tcet_backend **out);
/* Allow (1) or forbid (0) TF32 tensor-core math for float32 convolutions and
 * GEMMs.  Off by default: TF32 rounds inputs to 10 mantissa bits. */
int tcet_cuda_set_tf32(tcet_backend *be, int on);
/* Steady-state evidence for tests and `tcet bench`: bytes of the grow-only
 * cuDNN workspace and reduction scratch, cudaMalloc calls made for them, and
 * conv descriptor cache misses (a miss = a shape seen for the first time). */
typedef struct {
    size_t workspace_bytes, scratch_bytes;
    long buffer_grows, conv_cache_misses, conv_cache_hits, conv_cache_evictions;
    /* pinned upload ring (0 bytes: disabled), times it wrapped (each a
     * stream synchronisation), uploads too large for it (each synchronous) */
    size_t staging_bytes;
    long staging_wraps, unstaged_uploads;
} tcet_cuda_stats;
int tcet_cuda_get_stats(const tcet_backend *be, tcet_cuda_stats *out);
/* Latency of a forward pass (docs/semantics.md#evolution-loop, docs/semantics.md#latency-measurement: 3 warm-ups, then one timed
 * forward, time / batch): calls forward(ctx) `warmups` times, then once more
 * between two CUDA events on the backend stream, and returns the seconds per
 * image.  forward must enqueue its work on this backend (e.g. a tcet_net
 * forward in eval mode, fp16 or float32).  src/worker/latency.c times the
 * budget network with be->sync + CLOCK_MONOTONIC instead (the same on every
 * backend, as the reference's synchronize + time.time()); this event timer
 * is for tests and tools. */
int tcet_cuda_latency(tcet_backend *be, int (*forward)(void *ctx), void *ctx, int warmups,
                      int batch, double *seconds_per_image);
/* Select be's device in the calling thread (the backend's bind_thread slot). */
int tcet_cuda_bind_thread(tcet_backend *be);
/* 1 when be is a CUDA backend. */
int tcet_backend_is_cuda(const tcet_backend *be);

#endif
