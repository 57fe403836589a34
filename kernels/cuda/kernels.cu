/* Hand-written CUDA kernels of the CUDA backend (everything that is not a
 * convolution or a GEMM).  Each kernel is a template over the storage type
 * (float / double); launchers dispatch on the tcet dtype and are exported
 * with C linkage because the final link is done by the C linker.
 *
 * Determinism: no atomics.  Reductions use fixed block sizes and a fixed
 * tree order in shared memory, so a result does not depend on scheduling,
 * and they accumulate in double whatever the storage type.
 *
 * fp16 (TCET_CUK_F16, eval-mode forward only: ReLU, add, GAP, BN eval and
 * the linear layer's bias rows): half storage, float arithmetic (one
 * rounding to half per output, as PyTorch's half kernels with their float
 * "opmath"); ReLU and add read and write __half2 pairs when the pointers
 * allow it. */
#include "kernels/cuda/cuda_kernels.h"

#include <math.h>
#include <stdint.h>

#include <cuda_fp16.h>

namespace {

constexpr int kThreads = 256;        // block size of every kernel
constexpr unsigned kMaxBlocks = 8192; // grid-stride loops cover the rest

unsigned blocks_for(size_t count)
{
    size_t b = (count + kThreads - 1) / kThreads;
    if (b < 1) b = 1;
    return b > kMaxBlocks ? kMaxBlocks : (unsigned)b;
}

// Sum of v over the block, in a fixed order; every thread gets the result.
__device__ double block_sum(double v, double *sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
        if ((int)threadIdx.x < stride) sh[threadIdx.x] += sh[threadIdx.x + stride];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();   // sh is reused by the caller's next reduction
    return r;
}

__device__ double block_max(double v, double *sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
        if ((int)threadIdx.x < stride) sh[threadIdx.x] = fmax(sh[threadIdx.x], sh[threadIdx.x + stride]);
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

template <typename T>
__global__ void relu_fwd_k(size_t count, const T *x, T *y)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = x[i] < T(0) ? T(0) : x[i];   // keeps NaN as NaN, like torch.relu
}

template <typename T>
__global__ void relu_bwd_k(size_t count, const T *y, const T *dy, T *dx)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

template <typename T>
__global__ void add_k(size_t count, const T *a, const T *b, T *y)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = a[i] + b[i];
}

// One block per (sample, channel) plane: deterministic block sum in double.
template <typename T>
__global__ void gap_fwd_k(int hw, const T *x, T *y)
{
    __shared__ double sh[kThreads];
    const T *p = x + (size_t)blockIdx.x * hw;
    double s = 0.0;
    for (int i = threadIdx.x; i < hw; i += kThreads) s += (double)p[i];
    s = block_sum(s, sh);
    if (threadIdx.x == 0) y[blockIdx.x] = (T)(s / hw);
}

template <typename T>
__global__ void gap_bwd_k(size_t count, int hw, const T *dy, T *dx)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        dx[i] = dy[i / hw] / (T)hw;   // in T, as the CPU backend
}

template <typename T>
__global__ void fill_rows_k(size_t count, int cols, const T *b, T *y)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = b[i % cols];
}

// One thread per column: the rows are summed in order (deterministic).
template <typename T>
__global__ void col_sum_k(int rows, int cols, const T *x, T *out)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= cols) return;
    double s = 0.0;
    for (int i = 0; i < rows; i++) s += (double)x[(size_t)i * cols + j];
    out[j] = (T)s;
}

// Element e (0 <= e < n*hw) of channel ch in NCHW.
__device__ __forceinline__ size_t chan_index(size_t e, int hw, int c, int ch)
{
    size_t i = e / hw, j = e % hw;
    return (i * c + ch) * hw + j;
}

template <typename T>
__global__ void channel_sum_k(int n, int c, int hw, const T *x, T *out)
{
    __shared__ double sh[kThreads];
    const int ch = blockIdx.x;
    const size_t m = (size_t)n * hw;
    double s = 0.0;
    for (size_t e = threadIdx.x; e < m; e += kThreads) s += (double)x[chan_index(e, hw, c, ch)];
    s = block_sum(s, sh);
    if (threadIdx.x == 0) out[ch] = (T)s;
}

template <typename T>
__global__ void bn_train_fwd_k(int n, int c, int hw, double eps, double momentum, const T *x,
                               const T *gamma, const T *beta, T *rmean, T *rvar, int update,
                               T *y, T *save_mean, T *save_invstd)
{
    __shared__ double sh[kThreads];
    const int ch = blockIdx.x;
    const size_t m = (size_t)n * hw;
    double s = 0.0;
    for (size_t e = threadIdx.x; e < m; e += kThreads) s += (double)x[chan_index(e, hw, c, ch)];
    const double mean = block_sum(s, sh) / (double)m;
    double q = 0.0;
    for (size_t e = threadIdx.x; e < m; e += kThreads) {
        double d = (double)x[chan_index(e, hw, c, ch)] - mean;
        q += d * d;
    }
    const double var = block_sum(q, sh) / (double)m;   // biased: used to normalise
    const double invstd = 1.0 / sqrt(var + eps);
    const double g = gamma ? (double)gamma[ch] : 1.0;
    const double b = beta ? (double)beta[ch] : 0.0;
    for (size_t e = threadIdx.x; e < m; e += kThreads) {
        size_t k = chan_index(e, hw, c, ch);
        y[k] = (T)(((double)x[k] - mean) * invstd * g + b);
    }
    if (threadIdx.x == 0) {
        if (save_mean) save_mean[ch] = (T)mean;
        if (save_invstd) save_invstd[ch] = (T)invstd;
        if (update) {
            // PyTorch: the running variance takes the unbiased batch variance.
            double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
            rmean[ch] = (T)((1.0 - momentum) * (double)rmean[ch] + momentum * mean);
            rvar[ch] = (T)((1.0 - momentum) * (double)rvar[ch] + momentum * unbiased);
        }
    }
}

template <typename T>
__global__ void bn_eval_fwd_k(size_t count, int c, int hw, double eps, const T *x, const T *gamma,
                              const T *beta, const T *rmean, const T *rvar, T *y)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)((i / hw) % c);
        double g = gamma ? (double)gamma[ch] : 1.0;
        double b = beta ? (double)beta[ch] : 0.0;
        double invstd = 1.0 / sqrt((double)rvar[ch] + eps);
        y[i] = (T)(((double)x[i] - (double)rmean[ch]) * invstd * g + b);
    }
}

// dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy.
template <typename T>
__global__ void bn_bwd_k(int n, int c, int hw, const T *x, const T *dy, const T *gamma,
                         const T *save_mean, const T *save_invstd, T *dx, T *dgamma, T *dbeta)
{
    __shared__ double sh[kThreads];
    const int ch = blockIdx.x;
    const size_t m = (size_t)n * hw;
    const double mean = (double)save_mean[ch];
    const double invstd = (double)save_invstd[ch];
    double sd = 0.0, sdx = 0.0;
    for (size_t e = threadIdx.x; e < m; e += kThreads) {
        size_t k = chan_index(e, hw, c, ch);
        double g = (double)dy[k];
        sd += g;
        sdx += g * ((double)x[k] - mean) * invstd;
    }
    sd = block_sum(sd, sh);
    sdx = block_sum(sdx, sh);
    const double gm = gamma ? (double)gamma[ch] : 1.0;
    if (dx) {
        const double mean_dy = sd / (double)m, mean_dyx = sdx / (double)m;
        for (size_t e = threadIdx.x; e < m; e += kThreads) {
            size_t k = chan_index(e, hw, c, ch);
            double xhat = ((double)x[k] - mean) * invstd;
            dx[k] = (T)(gm * invstd * ((double)dy[k] - mean_dy - xhat * mean_dyx));
        }
    }
    if (threadIdx.x == 0) {
        if (dgamma) dgamma[ch] = (T)sdx;
        if (dbeta) dbeta[ch] = (T)sd;
    }
}

// One block per row.
__global__ void softmax_xent_k(int n, int classes, const float *logits, const int32_t *labels,
                               double *loss_rows, float *dlogits)
{
    __shared__ double sh[kThreads];
    const int row = blockIdx.x;
    const float *z = logits + (size_t)row * classes;
    float *dz = dlogits ? dlogits + (size_t)row * classes : nullptr;
    double mx = -INFINITY;
    for (int j = threadIdx.x; j < classes; j += kThreads) mx = fmax(mx, (double)z[j]);
    mx = block_max(mx, sh);
    double se = 0.0;
    for (int j = threadIdx.x; j < classes; j += kThreads) se += exp((double)z[j] - mx);
    se = block_sum(se, sh);
    const int label = labels[row];
    const bool ok = label >= 0 && label < classes;
    if (dlogits)
        for (int j = threadIdx.x; j < classes; j += kThreads) {
            double p = exp((double)z[j] - mx) / se;
            dz[j] = (float)((p - (j == label ? 1.0 : 0.0)) / n);
        }
    if (threadIdx.x == 0) loss_rows[row] = ok ? log(se) + mx - (double)z[label] : -1.0;
}

__global__ void sign_codes_k(int n, size_t d, size_t c0, size_t cd, const float *x, float *codes)
{
    const size_t total = (size_t)n * cd;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        size_t i = e / cd, j = e % cd;
        codes[e] = x[i * d + c0 + j] > 0.0f ? 1.0f : 0.0f;
    }
}

// Fixed grid of TCET_CUK_REDUCE_BLOCKS blocks: each thread visits a fixed
// strided subset in order, then a fixed tree sums the block.
template <typename T>
__global__ void saliency_partial_k(size_t count, const T *w, const T *g, double center, int power,
                                   double *partial)
{
    __shared__ double sh[kThreads];
    double s = 0.0;
    for (size_t i = blockIdx.x * (size_t)kThreads + threadIdx.x; i < count;
         i += (size_t)TCET_CUK_REDUCE_BLOCKS * kThreads) {
        // the product in T, as the reference takes float32 saliencies for SNIP
        T prod = w[i] * g[i];
        double v = fabs((double)prod) - center;
        s += power == 2 ? v * v : v;
    }
    s = block_sum(s, sh);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// ---- fp16 (eval forward) ------------------------------------------------
// Grid-stride loops as above.  The pair kernels cover count / 2 __half2
// pairs; thread 0 of block 0 also does the last element of an odd count.

__device__ __forceinline__ float relu_f(float v) { return v < 0.0f ? 0.0f : v; }   // NaN stays NaN

__global__ void relu_fwd_h(size_t count, const __half *x, __half *y)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = __float2half_rn(relu_f(__half2float(x[i])));
}

__global__ void relu_fwd_h2(size_t count, const __half2 *x, __half2 *y)
{
    const size_t pairs = count / 2;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < pairs;
         i += (size_t)gridDim.x * blockDim.x) {
        float2 v = __half22float2(x[i]);
        y[i] = __floats2half2_rn(relu_f(v.x), relu_f(v.y));
    }
    if ((count & 1) && blockIdx.x == 0 && threadIdx.x == 0) {
        const __half *xs = reinterpret_cast<const __half *>(x);
        __half *ys = reinterpret_cast<__half *>(y);
        ys[count - 1] = __float2half_rn(relu_f(__half2float(xs[count - 1])));
    }
}

__global__ void add_h(size_t count, const __half *a, const __half *b, __half *y)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = __float2half_rn(__half2float(a[i]) + __half2float(b[i]));
}

__global__ void add_h2(size_t count, const __half2 *a, const __half2 *b, __half2 *y)
{
    const size_t pairs = count / 2;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < pairs;
         i += (size_t)gridDim.x * blockDim.x) {
        float2 u = __half22float2(a[i]), v = __half22float2(b[i]);
        y[i] = __floats2half2_rn(u.x + v.x, u.y + v.y);
    }
    if ((count & 1) && blockIdx.x == 0 && threadIdx.x == 0) {
        const __half *as = reinterpret_cast<const __half *>(a);
        const __half *bs = reinterpret_cast<const __half *>(b);
        __half *ys = reinterpret_cast<__half *>(y);
        ys[count - 1] = __float2half_rn(__half2float(as[count - 1]) + __half2float(bs[count - 1]));
    }
}

// One block per (sample, channel) plane; float partial sums per thread, the
// block's fixed tree in double, one rounding of the mean to half.
__global__ void gap_fwd_h(int hw, const __half *x, __half *y)
{
    __shared__ double sh[kThreads];
    const __half *p = x + (size_t)blockIdx.x * hw;
    float s = 0.0f;
    for (int i = threadIdx.x; i < hw; i += kThreads) s += __half2float(p[i]);
    double t = block_sum((double)s, sh);
    if (threadIdx.x == 0) y[blockIdx.x] = __float2half_rn((float)(t / hw));
}

// Eval-mode BN: y = (x - mean) / sqrt(var + eps) * gamma + beta in float
// (PyTorch's half BN kernel computes in float the same way).
__global__ void bn_eval_fwd_h(size_t count, int c, int hw, float eps, const __half *x,
                              const __half *gamma, const __half *beta, const __half *rmean,
                              const __half *rvar, __half *y)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)((i / hw) % c);
        float g = gamma ? __half2float(gamma[ch]) : 1.0f;
        float b = beta ? __half2float(beta[ch]) : 0.0f;
        float invstd = 1.0f / sqrtf(__half2float(rvar[ch]) + eps);
        y[i] = __float2half_rn((__half2float(x[i]) - __half2float(rmean[ch])) * invstd * g + b);
    }
}

// __half2 access needs 4-byte alignment of every pointer.
bool pair_aligned(const void *a, const void *b, const void *c)
{
    return (((uintptr_t)a | (uintptr_t)b | (uintptr_t)c) & 3u) == 0;
}

}  // namespace

// dt: TCET_CUK_F32 or TCET_CUK_F64 (anything else is refused: a half tensor
// must never be read as float).  Used inside launchers returning cudaError_t.
#define TCET_DISPATCH(dt, KERNEL_CALL_F32, KERNEL_CALL_F64)          \
    do {                                                            \
        if ((dt) == TCET_CUK_F64) {                                 \
            KERNEL_CALL_F64;                                        \
        } else if ((dt) == TCET_CUK_F32) {                          \
            KERNEL_CALL_F32;                                        \
        } else {                                                    \
            return cudaErrorInvalidValue;                           \
        }                                                           \
    } while (0)

extern "C" {

cudaError_t tcet_cuk_relu_fwd(cudaStream_t s, int dt, size_t count, const void *x, void *y)
{
    if (count == 0) return cudaSuccess;
    if (dt == TCET_CUK_F16) {
        if (pair_aligned(x, y, y))
            relu_fwd_h2<<<blocks_for(count / 2 + 1), kThreads, 0, s>>>(
                count, (const __half2 *)x, (__half2 *)y);
        else
            relu_fwd_h<<<blocks_for(count), kThreads, 0, s>>>(count, (const __half *)x, (__half *)y);
        return cudaGetLastError();
    }
    unsigned g = blocks_for(count);
    TCET_DISPATCH(dt, (relu_fwd_k<float><<<g, kThreads, 0, s>>>(count, (const float *)x, (float *)y)),
                  (relu_fwd_k<double><<<g, kThreads, 0, s>>>(count, (const double *)x, (double *)y)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_relu_bwd(cudaStream_t s, int dt, size_t count, const void *y, const void *dy,
                              void *dx)
{
    if (count == 0) return cudaSuccess;
    unsigned g = blocks_for(count);
    TCET_DISPATCH(dt,
                  (relu_bwd_k<float><<<g, kThreads, 0, s>>>(count, (const float *)y, (const float *)dy,
                                                            (float *)dx)),
                  (relu_bwd_k<double><<<g, kThreads, 0, s>>>(count, (const double *)y,
                                                             (const double *)dy, (double *)dx)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_add(cudaStream_t s, int dt, size_t count, const void *a, const void *b, void *y)
{
    if (count == 0) return cudaSuccess;
    if (dt == TCET_CUK_F16) {
        if (pair_aligned(a, b, y))
            add_h2<<<blocks_for(count / 2 + 1), kThreads, 0, s>>>(
                count, (const __half2 *)a, (const __half2 *)b, (__half2 *)y);
        else
            add_h<<<blocks_for(count), kThreads, 0, s>>>(count, (const __half *)a, (const __half *)b,
                                                         (__half *)y);
        return cudaGetLastError();
    }
    unsigned g = blocks_for(count);
    TCET_DISPATCH(dt,
                  (add_k<float><<<g, kThreads, 0, s>>>(count, (const float *)a, (const float *)b,
                                                       (float *)y)),
                  (add_k<double><<<g, kThreads, 0, s>>>(count, (const double *)a, (const double *)b,
                                                        (double *)y)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_gap_fwd(cudaStream_t s, int dt, int n, int c, int hw, const void *x, void *y)
{
    size_t planes = (size_t)n * c;
    if (planes == 0) return cudaSuccess;
    if (planes > 0x7fffffffu) return cudaErrorInvalidValue;
    if (dt == TCET_CUK_F16) {
        gap_fwd_h<<<(unsigned)planes, kThreads, 0, s>>>(hw, (const __half *)x, (__half *)y);
        return cudaGetLastError();
    }
    TCET_DISPATCH(dt, (gap_fwd_k<float><<<(unsigned)planes, kThreads, 0, s>>>(hw, (const float *)x, (float *)y)),
                  (gap_fwd_k<double><<<(unsigned)planes, kThreads, 0, s>>>(hw, (const double *)x, (double *)y)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_gap_bwd(cudaStream_t s, int dt, int n, int c, int hw, const void *dy, void *dx)
{
    size_t count = (size_t)n * c * hw;
    if (count == 0) return cudaSuccess;
    unsigned g = blocks_for(count);
    TCET_DISPATCH(dt, (gap_bwd_k<float><<<g, kThreads, 0, s>>>(count, hw, (const float *)dy, (float *)dx)),
                  (gap_bwd_k<double><<<g, kThreads, 0, s>>>(count, hw, (const double *)dy, (double *)dx)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_fill_rows(cudaStream_t s, int dt, int rows, int cols, const void *b, void *y)
{
    size_t count = (size_t)rows * cols;
    if (count == 0) return cudaSuccess;
    unsigned g = blocks_for(count);
    if (dt == TCET_CUK_F16) {
        fill_rows_k<__half><<<g, kThreads, 0, s>>>(count, cols, (const __half *)b, (__half *)y);
        return cudaGetLastError();
    }
    TCET_DISPATCH(dt, (fill_rows_k<float><<<g, kThreads, 0, s>>>(count, cols, (const float *)b, (float *)y)),
                  (fill_rows_k<double><<<g, kThreads, 0, s>>>(count, cols, (const double *)b, (double *)y)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_col_sum(cudaStream_t s, int dt, int rows, int cols, const void *x, void *out)
{
    if (cols <= 0) return cudaSuccess;
    unsigned g = (unsigned)((cols + kThreads - 1) / kThreads);
    TCET_DISPATCH(dt, (col_sum_k<float><<<g, kThreads, 0, s>>>(rows, cols, (const float *)x, (float *)out)),
                  (col_sum_k<double><<<g, kThreads, 0, s>>>(rows, cols, (const double *)x, (double *)out)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_channel_sum(cudaStream_t s, int dt, int n, int c, int hw, const void *x,
                                 void *out)
{
    if (c <= 0) return cudaSuccess;
    TCET_DISPATCH(dt,
                  (channel_sum_k<float><<<c, kThreads, 0, s>>>(n, c, hw, (const float *)x, (float *)out)),
                  (channel_sum_k<double><<<c, kThreads, 0, s>>>(n, c, hw, (const double *)x, (double *)out)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_bn_train_fwd(cudaStream_t s, int dt, int n, int c, int hw, double eps,
                                  double momentum, const void *x, const void *gamma,
                                  const void *beta, void *running_mean, void *running_var,
                                  int update_running, void *y, void *save_mean, void *save_invstd)
{
    if (c <= 0) return cudaSuccess;
    TCET_DISPATCH(dt,
                  (bn_train_fwd_k<float><<<c, kThreads, 0, s>>>(
                      n, c, hw, eps, momentum, (const float *)x, (const float *)gamma,
                      (const float *)beta, (float *)running_mean, (float *)running_var,
                      update_running, (float *)y, (float *)save_mean, (float *)save_invstd)),
                  (bn_train_fwd_k<double><<<c, kThreads, 0, s>>>(
                      n, c, hw, eps, momentum, (const double *)x, (const double *)gamma,
                      (const double *)beta, (double *)running_mean, (double *)running_var,
                      update_running, (double *)y, (double *)save_mean, (double *)save_invstd)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_bn_eval_fwd(cudaStream_t s, int dt, int n, int c, int hw, double eps,
                                 const void *x, const void *gamma, const void *beta,
                                 const void *running_mean, const void *running_var, void *y)
{
    size_t count = (size_t)n * c * hw;
    if (count == 0) return cudaSuccess;
    unsigned g = blocks_for(count);
    if (dt == TCET_CUK_F16) {
        bn_eval_fwd_h<<<g, kThreads, 0, s>>>(count, c, hw, (float)eps, (const __half *)x,
                                             (const __half *)gamma, (const __half *)beta,
                                             (const __half *)running_mean,
                                             (const __half *)running_var, (__half *)y);
        return cudaGetLastError();
    }
    TCET_DISPATCH(dt,
                  (bn_eval_fwd_k<float><<<g, kThreads, 0, s>>>(
                      count, c, hw, eps, (const float *)x, (const float *)gamma, (const float *)beta,
                      (const float *)running_mean, (const float *)running_var, (float *)y)),
                  (bn_eval_fwd_k<double><<<g, kThreads, 0, s>>>(
                      count, c, hw, eps, (const double *)x, (const double *)gamma,
                      (const double *)beta, (const double *)running_mean,
                      (const double *)running_var, (double *)y)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_bn_bwd(cudaStream_t s, int dt, int n, int c, int hw, const void *x,
                            const void *dy, const void *gamma, const void *save_mean,
                            const void *save_invstd, void *dx, void *dgamma, void *dbeta)
{
    if (c <= 0) return cudaSuccess;
    TCET_DISPATCH(dt,
                  (bn_bwd_k<float><<<c, kThreads, 0, s>>>(
                      n, c, hw, (const float *)x, (const float *)dy, (const float *)gamma,
                      (const float *)save_mean, (const float *)save_invstd, (float *)dx,
                      (float *)dgamma, (float *)dbeta)),
                  (bn_bwd_k<double><<<c, kThreads, 0, s>>>(
                      n, c, hw, (const double *)x, (const double *)dy, (const double *)gamma,
                      (const double *)save_mean, (const double *)save_invstd, (double *)dx,
                      (double *)dgamma, (double *)dbeta)));
    return cudaGetLastError();
}

cudaError_t tcet_cuk_softmax_xent(cudaStream_t s, int n, int classes, const float *logits,
                                  const int32_t *labels, double *loss_rows, float *dlogits)
{
    if (n <= 0) return cudaSuccess;
    softmax_xent_k<<<n, kThreads, 0, s>>>(n, classes, logits, labels, loss_rows, dlogits);
    return cudaGetLastError();
}

cudaError_t tcet_cuk_sign_codes(cudaStream_t s, int n, size_t d, size_t c0, size_t cd,
                                const float *x, float *codes)
{
    size_t total = (size_t)n * cd;
    if (total == 0) return cudaSuccess;
    sign_codes_k<<<blocks_for(total), kThreads, 0, s>>>(n, d, c0, cd, x, codes);
    return cudaGetLastError();
}

cudaError_t tcet_cuk_saliency_partial(cudaStream_t s, int dt, size_t count, const void *w,
                                      const void *g, double center, int power, double *partial)
{
    TCET_DISPATCH(dt,
                  (saliency_partial_k<float><<<TCET_CUK_REDUCE_BLOCKS, kThreads, 0, s>>>(
                      count, (const float *)w, (const float *)g, center, power, partial)),
                  (saliency_partial_k<double><<<TCET_CUK_REDUCE_BLOCKS, kThreads, 0, s>>>(
                      count, (const double *)w, (const double *)g, center, power, partial)));
    return cudaGetLastError();
}

}  // extern "C"
