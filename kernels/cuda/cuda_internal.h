/* Private state and error macros of the CUDA backend (the C files of kernels/cuda). */
#ifndef TCET_CUDA_INTERNAL_H
#define TCET_CUDA_INTERNAL_H

#include <stddef.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "common/error.h"
#include "kernels/backend.h"
#include "kernels/cuda/backend_cuda.h"

/* ---- error checking -------------------------------------------------------
 * Every CUDA / cuDNN / cuBLAS call goes through one of these.  A failure
 * records "<library> call <expr> failed: <name> (<string>); hint: ..." at the
 * call site (TCET_FAIL keeps file and line) and returns TCET_ERR_BACKEND. */
int tcet_cuda_fail(cudaError_t e, const char *call, const char *file, int line);
int tcet_cudnn_fail(cudnnStatus_t e, const char *call, const char *file, int line);
int tcet_cublas_fail(cublasStatus_t e, const char *call, const char *file, int line);

#define CHECK_CUDA(call)                                                          \
    do {                                                                          \
        cudaError_t tcet_ce_ = (call);                                            \
        if (tcet_ce_ != cudaSuccess) return tcet_cuda_fail(tcet_ce_, #call, __FILE__, __LINE__); \
    } while (0)
#define CHECK_CUDNN(call)                                                         \
    do {                                                                          \
        cudnnStatus_t tcet_ds_ = (call);                                          \
        if (tcet_ds_ != CUDNN_STATUS_SUCCESS)                                     \
            return tcet_cudnn_fail(tcet_ds_, #call, __FILE__, __LINE__);          \
    } while (0)
#define CHECK_CUBLAS(call)                                                        \
    do {                                                                          \
        cublasStatus_t tcet_bs_ = (call);                                         \
        if (tcet_bs_ != CUBLAS_STATUS_SUCCESS)                                    \
            return tcet_cublas_fail(tcet_bs_, #call, __FILE__, __LINE__);         \
    } while (0)
/* Variants for functions with cleanup: set rc and jump to label. */
#define CHECK_CUDA_GOTO(call, rc, label)                                          \
    do {                                                                          \
        cudaError_t tcet_ce_ = (call);                                            \
        if (tcet_ce_ != cudaSuccess) {                                            \
            (rc) = tcet_cuda_fail(tcet_ce_, #call, __FILE__, __LINE__);           \
            goto label;                                                           \
        }                                                                         \
    } while (0)
#define CHECK_CUDNN_GOTO(call, rc, label)                                         \
    do {                                                                          \
        cudnnStatus_t tcet_ds_ = (call);                                          \
        if (tcet_ds_ != CUDNN_STATUS_SUCCESS) {                                   \
            (rc) = tcet_cudnn_fail(tcet_ds_, #call, __FILE__, __LINE__);          \
            goto label;                                                           \
        }                                                                         \
    } while (0)
#define CHECK_CUBLAS_GOTO(call, rc, label)                                        \
    do {                                                                          \
        cublasStatus_t tcet_bs_ = (call);                                         \
        if (tcet_bs_ != CUBLAS_STATUS_SUCCESS) {                                  \
            (rc) = tcet_cublas_fail(tcet_bs_, #call, __FILE__, __LINE__);         \
            goto label;                                                           \
        }                                                                         \
    } while (0)

/* ---- convolution descriptor cache (conv_cuda.c) --------------------------- */
#define TCET_CONV_KEY_INTS 13
#define TCET_CONV_CACHE_SLOTS 512   /* power of two */
#define TCET_CONV_CACHE_PROBE 8

typedef struct {
    int used;
    int key[TCET_CONV_KEY_INTS];    /* dtype, tf32, n, cin, cout, k, stride, pad, groups, h, w, ho, wo */
    cudnnTensorDescriptor_t x, y, bias;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    /* algorithms are chosen lazily, the first time each direction runs */
    int have_fwd, have_bwd_data, have_bwd_filter;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t bwd_data;
    cudnnConvolutionBwdFilterAlgo_t bwd_filter;
    cudnnMathType_t fwd_math, bwd_data_math, bwd_filter_math;
    size_t fwd_ws, bwd_data_ws, bwd_filter_ws;
} tcet_conv_entry;

typedef struct {
    int device;                     /* CUDA device ordinal */
    cudaStream_t stream;            /* every op of this backend runs on it, in order */
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    int tf32;                       /* 1: TF32 tensor-core math allowed for float32 */
    size_t ws_limit;                /* largest cuDNN workspace an algorithm may ask for */
    void *ws;                       /* cuDNN workspace, grow-only */
    size_t ws_cap;
    void *scratch;                  /* reductions, sign codes, Gram (grow-only) */
    size_t scratch_cap;
    void *host;                     /* host scratch, grow-only */
    size_t host_cap;
    /* Upload staging: pinned ring (cudaMallocHost, TCET_CUDA_STAGING_MB,
     * default 32; 0 or a failed allocation: unstaged uploads).  An upload is
     * copied into [stage_head, +bytes) and its DMA enqueued without a wait;
     * the ring wraps only after a stream synchronisation, so no queued copy
     * ever reads a region being rewritten. */
    unsigned char *stage;
    size_t stage_cap, stage_head;
    long stage_wraps, unstaged_uploads;
    tcet_conv_entry *cache;         /* TCET_CONV_CACHE_SLOTS entries */
    long cache_hits, cache_misses, cache_evictions;
    long buffer_grows;              /* cudaMalloc calls for ws / scratch */
} tcet_cuda;

static inline tcet_cuda *tcet_cuda_of(tcet_backend *be) { return (tcet_cuda *)be->impl; }

/* Every op checks its dtype first: TCET_F32 / TCET_F64 always; TCET_F16 only
 * when f16_ok (the eval-forward ops, kernels/backend.h), else
 * TCET_ERR_BACKEND naming op; any other value TCET_ERR_USAGE.  (The
 * launchers of kernels.cu would otherwise read a half tensor as float.) */
int tcet_cuda_check_dtype(int dt, int f16_ok, const char *op);

/* Wait for everything queued on the backend's stream.  After it no queued
 * copy reads the upload staging ring, so the ring restarts at its beginning
 * (every wait does this: the ring then seldom has to wait on its own). */
int tcet_cuda_stream_sync(tcet_cuda *cu);

/* Grow-only device buffers (contents are not preserved on growth). */
int tcet_cuda_workspace(tcet_cuda *cu, size_t bytes, void **out);
int tcet_cuda_scratch(tcet_cuda *cu, size_t bytes, void **out);
void *tcet_cuda_host_scratch(tcet_cuda *cu, size_t bytes);

/* conv_cuda.c */
int tcet_cuda_conv_fwd(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x,
                       const void *w, const void *bias, void *y);
int tcet_cuda_conv_bwd_data(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *w,
                            const void *dy, void *dx);
int tcet_cuda_conv_bwd_filter(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x,
                              const void *dy, void *dw, void *dbias);
void tcet_cuda_conv_cache_clear(tcet_cuda *cu);

/* blas_cuda.c */
int tcet_cuda_linear_fwd(tcet_backend *be, int dt, int n, int in, int out, const void *x,
                         const void *w, const void *b, void *y);
int tcet_cuda_linear_bwd(tcet_backend *be, int dt, int n, int in, int out, const void *x,
                         const void *w, const void *dy, void *dx, void *dw, void *db);
int tcet_cuda_gram_codes(tcet_backend *be, int n, size_t d, const float *x, double *K_host,
                         int64_t *positives_host);

/* ops_cuda.c */
void tcet_cuda_bind_ops(tcet_backend *be);

#endif
