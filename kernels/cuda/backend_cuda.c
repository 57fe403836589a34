/* CUDA + cuDNN + cuBLAS backend: device binding, memory, error reporting.
 *
 * One backend = one device, one stream, one cuDNN and one cuBLAS handle.
 * Every op is enqueued on the stream in call order; download() and the ops
 * that return host values synchronise it.  Device memory of the network is
 * owned by the caller (tcet_net keeps a grow-only arena); this file only
 * owns the grow-only cuDNN workspace and the reduction scratch, so steady-
 * state scoring does no cudaMalloc at all. */
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_kernels.h"

_Static_assert(TCET_CUK_F32 == TCET_F32 && TCET_CUK_F64 == TCET_F64 && TCET_CUK_F16 == TCET_F16,
               "kernels.cu dtype codes must match tcet_dtype");

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error reporting ---------------------------------------------------- */

static const char *cuda_hint(cudaError_t e)
{
    switch (e) {
    case cudaErrorMemoryAllocation:
        return "the GPU is out of memory: lower --batch-size, score smaller networks, or run "
               "fewer ranks per GPU";
    case cudaErrorInsufficientDriver:
    case cudaErrorNoDevice:
    case cudaErrorInvalidDevice:
    case cudaErrorDevicesUnavailable:
        return "no usable GPU: check the NVIDIA driver (nvidia-smi), CUDA_VISIBLE_DEVICES and "
               "the GPU compute mode; --backend cpu avoids the GPU";
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorInvalidDeviceFunction:
    case cudaErrorUnsupportedPtxVersion:
        return "this tcet has no kernels for this GPU: reconfigure with "
               "-DCMAKE_CUDA_ARCHITECTURES=<sm> (80 A100, 90 H100) and rebuild";
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
        return "a kernel faulted (a tcet bug): rerun with CUDA_LAUNCH_BLOCKING=1 and "
               "compute-sanitizer to find it; the context is unusable now";
    default:
        return "CUDA errors are asynchronous: CUDA_LAUNCH_BLOCKING=1 pins them to the call "
               "that caused them (docs/cuda.md)";
    }
}

int tcet_cuda_fail(cudaError_t e, const char *call, const char *file, int line)
{
    (void)cudaGetLastError();  /* clear a non-sticky error so later calls can proceed */
    return tcet_fail(TCET_ERR_BACKEND, file, line, "CUDA call %s failed: %s (%s); hint: %s", call,
                     cudaGetErrorName(e), cudaGetErrorString(e), cuda_hint(e));
}

int tcet_cudnn_fail(cudnnStatus_t e, const char *call, const char *file, int line)
{
    const char *hint;
    int cls = (int)e / 1000;   /* cuDNN 9 groups its status codes by thousands */
    if (cls == 1)
        hint = "cuDNN could not initialise or load a sub-library: check that libcudnn_*.so.9 "
               "match libcudnn.so.9 and the driver is recent enough";
    else if (cls == 2)
        hint = "cuDNN rejected a parameter (a tcet bug): CUDNN_LOGERR_DBG=1 CUDNN_LOGDEST_DBG=stderr "
               "prints cuDNN's reason";
    else if (cls == 3)
        hint = "cuDNN does not support this shape/dtype/GPU combination: try --backend cpu, and "
               "CUDNN_LOGERR_DBG=1 CUDNN_LOGDEST_DBG=stderr for the reason";
    else
        hint = "cuDNN failed while running: out of GPU memory or a driver problem; "
               "CUDNN_LOGERR_DBG=1 CUDNN_LOGDEST_DBG=stderr prints details";
    return tcet_fail(TCET_ERR_BACKEND, file, line, "cuDNN call %s failed: %s (status %d); hint: %s",
                     call, cudnnGetErrorString(e), (int)e, hint);
}

int tcet_cublas_fail(cublasStatus_t e, const char *call, const char *file, int line)
{
    const char *hint;
    switch (e) {
    case CUBLAS_STATUS_ALLOC_FAILED:
        hint = "the GPU is out of memory: lower --batch-size";
        break;
    case CUBLAS_STATUS_NOT_INITIALIZED:
        hint = "cuBLAS could not start: check the driver and that libcublas.so.13 is found";
        break;
    case CUBLAS_STATUS_INVALID_VALUE:
        hint = "bad GEMM arguments (a tcet bug)";
        break;
    default:
        hint = "CUBLAS_LOGINFO_DBG=1 CUBLAS_LOGDEST_DBG=stderr prints cuBLAS's log";
        break;
    }
    return tcet_fail(TCET_ERR_BACKEND, file, line, "cuBLAS call %s failed: %s (status %d); hint: %s",
                     call, cublasGetStatusString(e), (int)e, hint);
}

int tcet_cuda_check_dtype(int dt, int f16_ok, const char *op)
{
    if (dt == TCET_F32 || dt == TCET_F64 || (dt == TCET_F16 && f16_ok)) return 0;
    if (dt == TCET_F16)
        return TCET_FAIL(TCET_ERR_BACKEND, "CUDA backend: %s has no fp16 (TCET_F16) version; fp16 "
                         "is for eval-mode forwards only (kernels/backend.h)", op);
    return TCET_FAIL(TCET_ERR_USAGE, "CUDA backend: %s: unknown dtype %d", op, dt);
}

/* ---- grow-only buffers -------------------------------------------------- */

/* Round up to 1 MiB so that slowly growing requests do not reallocate often. */
static size_t round_mib(size_t bytes) { return (bytes + (1u << 20) - 1) & ~(size_t)((1u << 20) - 1); }

static int grow(tcet_cuda *cu, void **p, size_t *cap, size_t bytes)
{
    if (bytes <= *cap) return 0;
    size_t want = round_mib(bytes);
    if (*p) {
        /* Work queued on the stream may still use the old buffer. */
        TCET_TRY(tcet_cuda_stream_sync(cu));
        CHECK_CUDA(cudaFree(*p));
        *p = NULL;
        *cap = 0;
    }
    CHECK_CUDA(cudaMalloc(p, want));
    *cap = want;
    cu->buffer_grows++;
    return 0;
}

int tcet_cuda_workspace(tcet_cuda *cu, size_t bytes, void **out)
{
    TCET_TRY(grow(cu, &cu->ws, &cu->ws_cap, bytes));
    *out = bytes ? cu->ws : NULL;
    return 0;
}

int tcet_cuda_scratch(tcet_cuda *cu, size_t bytes, void **out)
{
    TCET_TRY(grow(cu, &cu->scratch, &cu->scratch_cap, bytes));
    *out = cu->scratch;
    return 0;
}

void *tcet_cuda_host_scratch(tcet_cuda *cu, size_t bytes)
{
    if (bytes > cu->host_cap) {
        cu->host = xrealloc(cu->host, bytes);
        cu->host_cap = bytes;
    }
    return cu->host;
}

/* ---- memory ops --------------------------------------------------------- */

int tcet_cuda_stream_sync(tcet_cuda *cu)
{
    CHECK_CUDA(cudaStreamSynchronize(cu->stream));
    cu->stage_head = 0;
    return 0;
}

static int cuda_mem_info(tcet_backend *be, size_t *free_bytes, size_t *total_bytes)
{
    /* the calling thread's current device is the backend's (set at creation) */
    CHECK_CUDA(cudaMemGetInfo(free_bytes, total_bytes));
    return 0;
}

static void *cuda_alloc(tcet_backend *be, size_t bytes)
{
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        TCET_FAIL(TCET_ERR_NOMEM, "out of memory: cudaMalloc of %.3g GB failed on the GPU (hint: lower "
                  "--batch-size or --lanes)", (double)bytes / 1e9);
        return NULL;
    }
    if (e != cudaSuccess) {
        char what[96];
        snprintf(what, sizeof what, "cudaMalloc(%zu bytes)", bytes);
        tcet_cuda_fail(e, what, __FILE__, __LINE__);
        return NULL;
    }
    return p;
}

static void cuda_release(tcet_backend *be, void *p)
{
    if (!p) return;
    /* cudaFree only "may" synchronise (CUDA runtime API): work queued on our
     * non-blocking stream may still read or write p.  Releases are rare (arena
     * regrowth, teardown), so the wait costs nothing in steady state. */
    cudaError_t s = cudaStreamSynchronize(tcet_cuda_of(be)->stream);
    if (s != cudaSuccess)
        fprintf(stderr, "tcet: warning: stream synchronisation before cudaFree failed: %s\n",
                cudaGetErrorString(s));
    cudaError_t e = cudaFree(p);
    if (e != cudaSuccess)  /* nothing to propagate; report once, keep going */
        fprintf(stderr, "tcet: warning: cudaFree failed: %s\n", cudaGetErrorString(e));
}

static int cuda_upload(tcet_backend *be, void *dst, const void *host_src, size_t bytes)
{
    if (!bytes) return 0;
    tcet_cuda *cu = tcet_cuda_of(be);
    const size_t need = (bytes + 255) & ~(size_t)255; /* keep every region 256-byte aligned */
    if (need > cu->stage_cap) {
        /* Unstaged: the caller may reuse host_src at once, and an async copy
         * from pageable memory is not guaranteed to have read it on return. */
        cu->unstaged_uploads++;
        CHECK_CUDA(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, cu->stream));
        TCET_TRY(tcet_cuda_stream_sync(cu));
        return 0;
    }
    if (cu->stage_head + need > cu->stage_cap) {
        /* Wrap: every copy queued from the ring must have completed. */
        TCET_TRY(tcet_cuda_stream_sync(cu));
        cu->stage_wraps++;
    }
    unsigned char *slot = cu->stage + cu->stage_head;
    memcpy(slot, host_src, bytes);
    CHECK_CUDA(cudaMemcpyAsync(dst, slot, bytes, cudaMemcpyHostToDevice, cu->stream));
    cu->stage_head += need;
    return 0;
}

static int cuda_download(tcet_backend *be, void *host_dst, const void *src, size_t bytes)
{
    if (!bytes) return 0;
    tcet_cuda *cu = tcet_cuda_of(be);
    CHECK_CUDA(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, cu->stream));
    TCET_TRY(tcet_cuda_stream_sync(cu));
    return 0;
}

static int cuda_zero(tcet_backend *be, void *p, size_t bytes)
{
    if (!bytes) return 0;
    CHECK_CUDA(cudaMemsetAsync(p, 0, bytes, tcet_cuda_of(be)->stream));
    return 0;
}

static int cuda_sync(tcet_backend *be)
{
    return tcet_cuda_stream_sync(tcet_cuda_of(be));
}

static void cuda_destroy(tcet_backend *be)
{
    if (!be) return;
    tcet_cuda *cu = tcet_cuda_of(be);
    if (cu) {
        /* Best effort: errors here cannot be acted on. */
        if (cu->stream) (void)cudaStreamSynchronize(cu->stream);
        tcet_cuda_conv_cache_clear(cu);
        free(cu->cache);
        if (cu->ws) (void)cudaFree(cu->ws);
        if (cu->scratch) (void)cudaFree(cu->scratch);
        if (cu->cublas) (void)cublasDestroy(cu->cublas);
        if (cu->cudnn) (void)cudnnDestroy(cu->cudnn);
        if (cu->stream) (void)cudaStreamDestroy(cu->stream);
        if (cu->stage) (void)cudaFreeHost(cu->stage);
        free(cu->host);
        free(cu);
    }
    free(be);
}

/* ---- binding ------------------------------------------------------------ */

int tcet_cuda_device_count(void)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        /* No driver (cudaErrorInsufficientDriver) or no device: not an error,
         * the caller falls back to the CPU. */
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

int tcet_cuda_device_count_why(char *why, size_t cap)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        snprintf(why, cap, "cudaGetDeviceCount: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        (void)cudaGetLastError();
        return 0;
    }
    if (n <= 0) {
        const char *vis = getenv("CUDA_VISIBLE_DEVICES");
        snprintf(why, cap, "cudaGetDeviceCount found no device (CUDA_VISIBLE_DEVICES=%s)", vis ? vis : "unset");
    }
    return n;
}

int tcet_cuda_get_stats(const tcet_backend *be, tcet_cuda_stats *out)
{
    if (!tcet_backend_is_cuda(be))
        return TCET_FAIL(TCET_ERR_USAGE, "tcet_cuda_get_stats: not a CUDA backend");
    const tcet_cuda *cu = (const tcet_cuda *)be->impl;
    out->workspace_bytes = cu->ws_cap;
    out->scratch_bytes = cu->scratch_cap;
    out->buffer_grows = cu->buffer_grows;
    out->conv_cache_misses = cu->cache_misses;
    out->conv_cache_hits = cu->cache_hits;
    out->conv_cache_evictions = cu->cache_evictions;
    out->staging_bytes = cu->stage_cap;
    out->staging_wraps = cu->stage_wraps;
    out->unstaged_uploads = cu->unstaged_uploads;
    return 0;
}

int tcet_cuda_latency(tcet_backend *be, int (*forward)(void *ctx), void *ctx, int warmups,
                      int batch, double *seconds_per_image)
{
    if (!tcet_backend_is_cuda(be) || !forward || warmups < 0 || batch < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "tcet_cuda_latency: needs a CUDA backend, a forward "
                                         "function, warmups >= 0 and batch >= 1");
    tcet_cuda *cu = tcet_cuda_of(be);
    for (int i = 0; i < warmups; i++) TCET_TRY(forward(ctx));
    cudaEvent_t start = NULL, stop = NULL;
    float ms = 0.0f;
    int rc = 0;
    CHECK_CUDA_GOTO(cudaEventCreate(&start), rc, out);
    CHECK_CUDA_GOTO(cudaEventCreate(&stop), rc, out);
    CHECK_CUDA_GOTO(cudaEventRecord(start, cu->stream), rc, out);
    rc = forward(ctx);
    if (rc) goto out;
    CHECK_CUDA_GOTO(cudaEventRecord(stop, cu->stream), rc, out);
    CHECK_CUDA_GOTO(cudaEventSynchronize(stop), rc, out);
    CHECK_CUDA_GOTO(cudaEventElapsedTime(&ms, start, stop), rc, out);
    *seconds_per_image = (double)ms / 1000.0 / (double)batch;
out:
    if (start) (void)cudaEventDestroy(start);
    if (stop) (void)cudaEventDestroy(stop);
    return rc;
}

int tcet_backend_is_cuda(const tcet_backend *be)
{
    return be && be->name && !strcmp(be->name, "cuda");
}

static int apply_math(tcet_cuda *cu)
{
    /* cuBLAS DEFAULT math never uses TF32 for cublasSgemm (that needs
     * CUBLAS_TF32_TENSOR_OP_MATH); gram_codes relies on exact FP32 sums. */
    CHECK_CUBLAS(cublasSetMathMode(cu->cublas, cu->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                        : CUBLAS_DEFAULT_MATH));
    return 0;
}

int tcet_cuda_set_tf32(tcet_backend *be, int on)
{
    if (!tcet_backend_is_cuda(be))
        return TCET_FAIL(TCET_ERR_USAGE, "tcet_cuda_set_tf32: not a CUDA backend");
    tcet_cuda *cu = tcet_cuda_of(be);
    cu->tf32 = on ? 1 : 0;
    /* The algorithm cache is keyed by the TF32 flag, so it stays valid. */
    return apply_math(cu);
}

static size_t env_size_mib(const char *name, size_t dflt_mib)
{
    const char *s = getenv(name);
    if (!s || !*s) return dflt_mib << 20;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v == 0) {
        fprintf(stderr, "tcet: warning: ignoring %s='%s' (expected a positive number of MiB)\n",
                name, s);
        return dflt_mib << 20;
    }
    return (size_t)v << 20;
}

static int create_on(tcet_backend *be, tcet_cuda *cu, int device)
{
    struct cudaDeviceProp prop;
    CHECK_CUDA(cudaSetDevice(device));
    CHECK_CUDA(cudaGetDeviceProperties(&prop, device));
    CHECK_CUDA(cudaStreamCreateWithFlags(&cu->stream, cudaStreamNonBlocking));
    CHECK_CUDNN(cudnnCreate(&cu->cudnn));
    CHECK_CUDNN(cudnnSetStream(cu->cudnn, cu->stream));
    CHECK_CUBLAS(cublasCreate(&cu->cublas));
    CHECK_CUBLAS(cublasSetStream(cu->cublas, cu->stream));
    CHECK_CUBLAS(cublasSetPointerMode(cu->cublas, CUBLAS_POINTER_MODE_HOST));
    TCET_TRY(apply_math(cu));
    if (cu->stage_cap) {
        void *p = NULL;
        cudaError_t e = cudaMallocHost(&p, cu->stage_cap);
        if (e != cudaSuccess) { /* pinned memory is a speed-up, not a requirement */
            (void)cudaGetLastError();
            fprintf(stderr, "tcet: notice: no %zu MiB of pinned memory for upload staging (%s); uploads "
                            "wait for each copy instead\n", cu->stage_cap >> 20, cudaGetErrorString(e));
            cu->stage_cap = 0;
        } else {
            cu->stage = p;
        }
    }
    snprintf(be->device, sizeof be->device, "CUDA device %d: %.60s (sm_%d%d, %.0f GiB, cuDNN %zu)",
             device, prop.name, prop.major, prop.minor,
             (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), cudnnGetVersion());
    return 0;
}

int tcet_cuda_uuids(char (*uuid)[TCET_GPU_UUID_LEN], int max)
{
    int n = tcet_cuda_device_count(), k = 0;
    for (int d = 0; d < n && k < max; d++) {
        struct cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, d) != cudaSuccess) { /* keep the numbering: entry k is device k */
            (void)cudaGetLastError();
            snprintf(uuid[k++], TCET_GPU_UUID_LEN, "GPU-unreadable-%d", d);
            continue;
        }
        const unsigned char *b = (const unsigned char *)p.uuid.bytes;
        snprintf(uuid[k++], TCET_GPU_UUID_LEN,
                 "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    }
    return k;
}

int tcet_backend_cuda_create(int local_rank, tcet_backend **out)
{
    *out = NULL;
    int count = tcet_cuda_device_count();
    if (count <= 0)
        return TCET_FAIL(TCET_ERR_BACKEND, "no usable CUDA device (hint: check nvidia-smi and "
                                           "CUDA_VISIBLE_DEVICES, or use --backend cpu)");
    if (local_rank < 0) local_rank = 0;
    tcet_backend *be = xcalloc(1, sizeof *be);
    tcet_cuda *cu = xcalloc(1, sizeof *cu);
    be->name = "cuda";
    be->impl = cu;
    be->has_f16 = 1;   /* fp16 eval forward: conv, BN eval, ReLU, add, GAP, linear */
    cu->device = local_rank % count;
    const char *tf = getenv("TCET_TF32");
    cu->tf32 = tf && !strcmp(tf, "1");
    cu->ws_limit = env_size_mib("TCET_CUDNN_WORKSPACE_MB", 1024);
    const char *st = getenv("TCET_CUDA_STAGING_MB");
    cu->stage_cap = st && !strcmp(st, "0") ? 0 : env_size_mib("TCET_CUDA_STAGING_MB", 32);
    cu->cache = xcalloc(TCET_CONV_CACHE_SLOTS, sizeof *cu->cache);

    int rc = create_on(be, cu, cu->device);
    if (rc) {
        cuda_destroy(be);
        return tcet_trace(rc, __FILE__, __LINE__, "tcet_backend_cuda_create");
    }
    be->alloc = cuda_alloc;
    be->mem_info = cuda_mem_info;
    be->bind_thread = tcet_cuda_bind_thread;
    be->release = cuda_release;
    be->upload = cuda_upload;
    be->download = cuda_download;
    be->zero = cuda_zero;
    be->sync = cuda_sync;
    be->destroy = cuda_destroy;
    be->conv_fwd = tcet_cuda_conv_fwd;
    be->conv_bwd_data = tcet_cuda_conv_bwd_data;
    be->conv_bwd_filter = tcet_cuda_conv_bwd_filter;
    be->linear_fwd = tcet_cuda_linear_fwd;
    be->linear_bwd = tcet_cuda_linear_bwd;
    be->gram_codes = tcet_cuda_gram_codes;
    tcet_cuda_bind_ops(be);
    *out = be;
    return 0;
}
