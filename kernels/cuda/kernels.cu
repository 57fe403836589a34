/* Hand-written CUDA kernels of the CUDA backend (everything that is not a
 * convolution or a GEMM).  Each kernel is a template over the storage type
 * (float / double); launchers dispatch on the tcet dtype and are exported
 * with C linkage because the final link is done by the C linker.
 *
 * Determinism: no atomics.  Reductions use fixed block sizes and a fixed
 * tree order in shared memory, so a result does not depend on scheduling,
 * and they accumulate in double whatever the storage type.
 *
 * Batch norm (and the conv bias gradient): every formula comes from
 * kernels/cuda/bn_math.h, shared with the host unit test that proves it
 * bit-identical to the CPU backend; the split reduction's order is defined
 * there too.
 *
 * fp16 (TCET_CUK_F16, eval-mode forward only: ReLU, add, GAP, BN eval and
 * the linear layer's bias rows): half storage, float arithmetic (one
 * rounding to half per output, as PyTorch's half kernels with their float
 * "opmath"); ReLU and add read and write __half2 pairs when the pointers
 * allow it. */
#include "kernels/cuda/cuda_kernels.h"

#include "kernels/cuda/bn_math.h"

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

// ---- batch norm and per-channel sums: split reduction ----------------------
// The arithmetic is kernels/cuda/bn_math.h (shared with the host unit test
// tests/unit/test_cuda_bn_math.c, which proves it bit-identical to the CPU
// backend); the summation order is the split reduction described there:
//   partial kernels: grid (c, S), block (ch, b) writes part[ch * S + b];
//   final kernels:   one thread per channel, tcet_bn_combine in block order,
//                    then the per-channel coefficients (T) into scratch;
//   element kernels: full grid, per-element formula with the channel's
//                    coefficients.
// No atomics; S = tcet_bn_split(n, hw) depends on the shape only.

static_assert(kThreads == TCET_BN_THREADS, "the BN tree order of bn_math.h assumes kThreads threads");

// Walks e = first, first + step, ... over the m = n hw elements of one
// channel: (i, j) = (e / hw, e % hw) is advanced incrementally, so there is
// one 64-bit division per thread and none per element.
struct chan_walk {
    size_t i, j, di, dj, hw;
    __device__ chan_walk(size_t e, size_t step, size_t hw_)
        : i(e / hw_), j(e % hw_), di(step / hw_), dj(step % hw_), hw(hw_) {}
    __device__ size_t index(size_t c, size_t ch) const { return (i * c + ch) * hw + j; }
    __device__ void next()
    {
        i += di;
        j += dj;
        if (j >= hw) {
            j -= hw;
            i++;
        }
    }
};

// Walks k = first, first + step, ... over a whole NCHW tensor keeping the
// channel ch = (k / hw) % c incrementally (same reason).
struct nchw_walk {
    size_t j, ch, dj, dch, hw, c;
    __device__ nchw_walk(size_t k, size_t step, size_t hw_, size_t c_)
        : j(k % hw_), ch((k / hw_) % c_), dj(step % hw_), dch((step / hw_) % c_), hw(hw_), c(c_) {}
    __device__ void next()
    {
        j += dj;
        ch += dch;
        if (j >= hw) {
            j -= hw;
            ch++;
        }
        if (ch >= c) ch -= c;   // ch + dch + 1 <= 2c - 1
    }
};

// Blocks for the element kernels: about 4 elements per thread (the walker's
// divisions are paid once per thread), grid-stride beyond kMaxBlocks.
unsigned elem_blocks(size_t count)
{
    const size_t per_block = (size_t)kThreads * 4;
    size_t b = (count + per_block - 1) / per_block;
    if (b < 1) b = 1;
    return b > kMaxBlocks ? kMaxBlocks : (unsigned)b;
}

// One thread per channel.
unsigned chan_blocks(int c) { return (unsigned)((c + kThreads - 1) / kThreads); }

// Block (ch, b)'s share of channel ch: KIND 0 Σ double(x) (BN mean, conv bias
// gradient); KIND 1 Σ double(T(T(x - mean)²)) with mean = T(Σ / m) from the
// KIND 0 partials `prev` (the same value bn_train_final_k computes).
template <typename T, int KIND>
__global__ void chan_partial_k(int n, int c, int hw, const T *x, const double *prev, double *part)
{
    __shared__ double sh[kThreads];
    __shared__ T mean_sh;
    const int ch = blockIdx.x, S = gridDim.y;
    const size_t m = (size_t)n * hw, step = (size_t)S * kThreads;
    const size_t first = (size_t)blockIdx.y * kThreads + threadIdx.x;
    T mean_t = T(0);
    if (KIND == 1) {
        if (threadIdx.x == 0) mean_sh = tcet_bnm<T>::mean(tcet_bn_combine(prev + (size_t)ch * S, S), m);
        __syncthreads();
        mean_t = mean_sh;
    }
    double s = 0.0;
    if (first < m) {
        chan_walk w(first, step, (size_t)hw);
        for (size_t e = first; e < m; e += step, w.next()) {
            const T v = x[w.index((size_t)c, (size_t)ch)];
            s = __dadd_rn(s, KIND == 0 ? (double)v : tcet_bnm<T>::var_term(v, mean_t));
        }
    }
    s = block_sum(s, sh);
    if (threadIdx.x == 0) part[(size_t)ch * S + blockIdx.y] = s;
}

// Backward partials: Σ double(g) and Σ double(g) (double(x) - mean), g = dy,
// or with RELU the gradient through relu(bn(x)), bn(x) recomputed from the
// saved statistics exactly as the forward computed it.
template <typename T, bool RELU>
__global__ void bn_bwd_partial_k(int n, int c, int hw, const T *x, const T *dy, const T *gamma,
                                 const T *beta, const T *save_mean, const T *save_invstd,
                                 double *part_dy, double *part_dyx)
{
    __shared__ double sh[kThreads];
    const int ch = blockIdx.x, S = gridDim.y;
    const size_t m = (size_t)n * hw, step = (size_t)S * kThreads;
    const size_t first = (size_t)blockIdx.y * kThreads + threadIdx.x;
    const T mu = save_mean[ch];
    const double mean = (double)mu;
    T alpha = T(0), shift = T(0);
    if (RELU)
        tcet_bnm<T>::affine(mu, save_invstd[ch], gamma ? gamma[ch] : T(1), beta ? beta[ch] : T(0),
                            &alpha, &shift);
    double s1 = 0.0, s2 = 0.0;
    if (first < m) {
        chan_walk w(first, step, (size_t)hw);
        for (size_t e = first; e < m; e += step, w.next()) {
            const size_t k = w.index((size_t)c, (size_t)ch);
            const T xv = x[k];
            const T g = RELU ? tcet_bnm<T>::mask(dy[k], xv, alpha, shift) : dy[k];
            s1 = __dadd_rn(s1, (double)g);
            s2 = __dadd_rn(s2, tcet_bnm<T>::dotdev_term(g, xv, mean));
        }
    }
    s1 = block_sum(s1, sh);
    s2 = block_sum(s2, sh);
    if (threadIdx.x == 0) {
        part_dy[(size_t)ch * S + blockIdx.y] = s1;
        part_dyx[(size_t)ch * S + blockIdx.y] = s2;
    }
}

template <typename T>
__global__ void chan_sum_final_k(int c, int S, const double *part, T *out)
{
    const int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    out[ch] = tcet_bnm<T>::narrow(tcet_bn_combine(part + (size_t)ch * S, S));
}

// Train-mode statistics, running update and alpha/shift of each channel.
template <typename T>
__global__ void bn_train_final_k(int c, int S, size_t m, double eps, double momentum,
                                 const double *part1, const double *part2, const T *gamma,
                                 const T *beta, T *rmean, T *rvar, int update, T *save_mean,
                                 T *save_invstd, T *alpha, T *shift)
{
    const int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    const T mean_t = tcet_bnm<T>::mean(tcet_bn_combine(part1 + (size_t)ch * S, S), m);
    const T var_sum = tcet_bnm<T>::narrow(tcet_bn_combine(part2 + (size_t)ch * S, S));
    const T invstd_t = tcet_bnm<T>::train_invstd(var_sum, m, eps);
    if (save_mean) save_mean[ch] = mean_t;
    if (save_invstd) save_invstd[ch] = invstd_t;
    if (update) {
        T r_m = rmean[ch], r_v = rvar[ch];
        tcet_bnm<T>::running(mean_t, var_sum, m, momentum, &r_m, &r_v);
        rmean[ch] = r_m;
        rvar[ch] = r_v;
    }
    T a, sh;
    tcet_bnm<T>::affine(mean_t, invstd_t, gamma ? gamma[ch] : T(1), beta ? beta[ch] : T(0), &a, &sh);
    alpha[ch] = a;
    shift[ch] = sh;
}

template <typename T>
__global__ void bn_eval_coef_k(int c, double eps, const T *gamma, const T *beta, const T *rmean,
                               const T *rvar, T *alpha, T *shift)
{
    const int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    T a, sh;
    tcet_bnm<T>::affine(rmean[ch], tcet_bnm<T>::eval_invstd(rvar[ch], eps), gamma ? gamma[ch] : T(1),
                        beta ? beta[ch] : T(0), &a, &sh);
    alpha[ch] = a;
    shift[ch] = sh;
}

// dgamma, dbeta and the dx coefficients coef[4 ch ..] = a, mdy, kx, mu; with
// RELU also the forward's alpha/shift (aff[2 ch ..]) for the mask.
template <typename T, bool RELU>
__global__ void bn_bwd_final_k(int c, int S, size_t m, const double *part_dy, const double *part_dyx,
                               const T *gamma, const T *beta, const T *save_mean,
                               const T *save_invstd, T *dgamma, T *dbeta, T *coef, T *aff)
{
    const int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    const double sdy = tcet_bn_combine(part_dy + (size_t)ch * S, S);
    const double sdyx = tcet_bn_combine(part_dyx + (size_t)ch * S, S);
    const T g = gamma ? gamma[ch] : T(1);
    T dg, db;
    tcet_bnm<T>::bwd_coef(sdy, sdyx, save_mean[ch], save_invstd[ch], g, m, &dg, &db, coef + 4 * (size_t)ch);
    if (RELU) {
        T a, sh;
        tcet_bnm<T>::affine(save_mean[ch], save_invstd[ch], g, beta ? beta[ch] : T(0), &a, &sh);
        aff[2 * (size_t)ch] = a;
        aff[2 * (size_t)ch + 1] = sh;
    }
    if (dgamma) dgamma[ch] = dg;
    if (dbeta) dbeta[ch] = db;
}

// y = bn_apply(x) (y may alias x) and/or y_relu = relu(y); either may be NULL.
template <typename T>
__global__ void bn_apply_k(size_t count, int c, int hw, const T *x, const T *alpha, const T *shift,
                           T *y, T *y_relu)
{
    const size_t step = (size_t)gridDim.x * blockDim.x;
    size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (k >= count) return;
    nchw_walk w(k, step, (size_t)hw, (size_t)c);
    for (; k < count; k += step, w.next()) {
        const T v = tcet_bnm<T>::apply(x[k], alpha[w.ch], shift[w.ch]);
        if (y) y[k] = v;
        if (y_relu) y_relu[k] = tcet_bnm<T>::relu(v);
    }
}

// dx (may alias dy) from the coefficients; with RELU dy is masked first.
template <typename T, bool RELU>
__global__ void bn_dx_k(size_t count, int c, int hw, const T *x, const T *dy, const T *coef,
                        const T *aff, T *dx)
{
    const size_t step = (size_t)gridDim.x * blockDim.x;
    size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (k >= count) return;
    nchw_walk w(k, step, (size_t)hw, (size_t)c);
    for (; k < count; k += step, w.next()) {
        const T *cf = coef + 4 * w.ch;
        const T xv = x[k];
        const T g = RELU ? tcet_bnm<T>::mask(dy[k], xv, aff[2 * w.ch], aff[2 * w.ch + 1]) : dy[k];
        dx[k] = tcet_bnm<T>::dx(g, xv, cf[0], cf[1], cf[2], cf[3]);
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
// (PyTorch's half BN kernel computes in float the same way), every step
// rounded explicitly (no fma contraction), one rounding to half; y_relu (the
// fused bn_relu_fwd) = relu of that half value, as relu_fwd_h would give.
// Either output may be NULL.
// fp16 eval BN, per channel once: {mean, invstd, gamma, beta} in float, with
// the same roundings the element kernel used to repeat per element.
__global__ void bn_eval_coef_h(int c, float eps, const __half *gamma, const __half *beta,
                               const __half *rmean, const __half *rvar, float4 *coef)
{
    const int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    coef[ch] = make_float4(__half2float(rmean[ch]),
                           __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(__half2float(rvar[ch]), eps))),
                           gamma ? __half2float(gamma[ch]) : 1.0f, beta ? __half2float(beta[ch]) : 0.0f);
}

__global__ void bn_eval_fwd_h(size_t count, int c, int hw, const __half *x, const float4 *coef, __half *y,
                              __half *y_relu)
{
    const size_t step = (size_t)gridDim.x * blockDim.x;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= count) return;
    nchw_walk w(i, step, (size_t)hw, (size_t)c);
    for (; i < count; i += step, w.next()) {
        const float4 k = coef[w.ch];  // mean, invstd, gamma, beta
        const float d = __fsub_rn(__half2float(x[i]), k.x);
        const __half h = __float2half_rn(__fadd_rn(__fmul_rn(__fmul_rn(d, k.y), k.z), k.w));
        if (y) y[i] = h;
        if (y_relu) y_relu[i] = __float2half_rn(relu_f(__half2float(h)));
    }
}

// __half2 access needs 4-byte alignment of every pointer.
bool pair_aligned(const void *a, const void *b, const void *c)
{
    return (((uintptr_t)a | (uintptr_t)b | (uintptr_t)c) & 3u) == 0;
}

}  // namespace

// Return the launch error, if any, at once (nothing more is queued then).
#define TCET_CUK_TRY(call)                      \
    do {                                        \
        cudaError_t tcet_cuk_e_ = (call);       \
        if (tcet_cuk_e_ != cudaSuccess) return tcet_cuk_e_; \
    } while (0)

namespace {

// ---- BN / channel-sum launch sequences (scratch: tcet_bn_scratch_bytes) ----

template <typename T>
cudaError_t channel_sum_t(cudaStream_t s, int n, int c, int hw, const T *x, T *out, double *scratch)
{
    const int S = tcet_bn_split(n, hw);
    chan_partial_k<T, 0><<<dim3((unsigned)c, (unsigned)S), kThreads, 0, s>>>(n, c, hw, x, nullptr, scratch);
    TCET_CUK_TRY(cudaGetLastError());
    chan_sum_final_k<T><<<chan_blocks(c), kThreads, 0, s>>>(c, S, scratch, out);
    return cudaGetLastError();
}

template <typename T>
cudaError_t bn_train_fwd_t(cudaStream_t s, int n, int c, int hw, double eps, double momentum,
                           const T *x, const T *gamma, const T *beta, T *rmean, T *rvar, int update,
                           T *y, T *y_relu, T *save_mean, T *save_invstd, double *scratch)
{
    const int S = tcet_bn_split(n, hw);
    const size_t m = (size_t)n * hw, count = m * (size_t)c, cs = (size_t)c * S;
    double *part1 = scratch, *part2 = scratch + cs;
    T *alpha = (T *)(void *)(part2 + cs), *shift = alpha + c;
    const dim3 grid((unsigned)c, (unsigned)S);
    chan_partial_k<T, 0><<<grid, kThreads, 0, s>>>(n, c, hw, x, nullptr, part1);
    TCET_CUK_TRY(cudaGetLastError());
    chan_partial_k<T, 1><<<grid, kThreads, 0, s>>>(n, c, hw, x, part1, part2);
    TCET_CUK_TRY(cudaGetLastError());
    bn_train_final_k<T><<<chan_blocks(c), kThreads, 0, s>>>(c, S, m, eps, momentum, part1, part2, gamma,
                                                           beta, rmean, rvar, update, save_mean,
                                                           save_invstd, alpha, shift);
    TCET_CUK_TRY(cudaGetLastError());
    bn_apply_k<T><<<elem_blocks(count), kThreads, 0, s>>>(count, c, hw, x, alpha, shift, y, y_relu);
    return cudaGetLastError();
}

template <typename T>
cudaError_t bn_eval_fwd_t(cudaStream_t s, int n, int c, int hw, double eps, const T *x,
                          const T *gamma, const T *beta, const T *rmean, const T *rvar, T *y,
                          T *y_relu, double *scratch)
{
    const size_t count = (size_t)n * c * hw;
    T *alpha = (T *)(void *)scratch, *shift = alpha + c;
    bn_eval_coef_k<T><<<chan_blocks(c), kThreads, 0, s>>>(c, eps, gamma, beta, rmean, rvar, alpha, shift);
    TCET_CUK_TRY(cudaGetLastError());
    bn_apply_k<T><<<elem_blocks(count), kThreads, 0, s>>>(count, c, hw, x, alpha, shift, y, y_relu);
    return cudaGetLastError();
}

template <typename T, bool RELU>
cudaError_t bn_bwd_relu_t(cudaStream_t s, int n, int c, int hw, const T *x, const T *dy,
                          const T *gamma, const T *beta, const T *save_mean, const T *save_invstd,
                          T *dx, T *dgamma, T *dbeta, double *scratch)
{
    const int S = tcet_bn_split(n, hw);
    const size_t m = (size_t)n * hw, count = m * (size_t)c, cs = (size_t)c * S;
    double *part_dy = scratch, *part_dyx = scratch + cs;
    T *coef = (T *)(void *)(part_dyx + cs), *aff = coef + 4 * (size_t)c;
    bn_bwd_partial_k<T, RELU><<<dim3((unsigned)c, (unsigned)S), kThreads, 0, s>>>(
        n, c, hw, x, dy, gamma, beta, save_mean, save_invstd, part_dy, part_dyx);
    TCET_CUK_TRY(cudaGetLastError());
    bn_bwd_final_k<T, RELU><<<chan_blocks(c), kThreads, 0, s>>>(c, S, m, part_dy, part_dyx, gamma, beta,
                                                              save_mean, save_invstd, dgamma, dbeta,
                                                              coef, aff);
    TCET_CUK_TRY(cudaGetLastError());
    if (!dx) return cudaSuccess;
    bn_dx_k<T, RELU><<<elem_blocks(count), kThreads, 0, s>>>(count, c, hw, x, dy, coef, aff, dx);
    return cudaGetLastError();
}

template <typename T>
cudaError_t bn_bwd_t(cudaStream_t s, int n, int c, int hw, const T *x, const T *dy, const T *gamma,
                     const T *beta, int relu, const T *save_mean, const T *save_invstd, T *dx,
                     T *dgamma, T *dbeta, double *scratch)
{
    if (relu)
        return bn_bwd_relu_t<T, true>(s, n, c, hw, x, dy, gamma, beta, save_mean, save_invstd, dx,
                                      dgamma, dbeta, scratch);
    return bn_bwd_relu_t<T, false>(s, n, c, hw, x, dy, gamma, beta, save_mean, save_invstd, dx,
                                   dgamma, dbeta, scratch);
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
                                 void *out, double *scratch)
{
    if (n <= 0 || c <= 0 || hw <= 0) return cudaErrorInvalidValue;
    TCET_DISPATCH(dt,
                  TCET_CUK_TRY((channel_sum_t<float>(s, n, c, hw, (const float *)x, (float *)out,
                                                     scratch))),
                  TCET_CUK_TRY((channel_sum_t<double>(s, n, c, hw, (const double *)x, (double *)out,
                                                      scratch))));
    return cudaSuccess;
}

cudaError_t tcet_cuk_bn_train_fwd(cudaStream_t s, int dt, int n, int c, int hw, double eps,
                                  double momentum, const void *x, const void *gamma,
                                  const void *beta, void *running_mean, void *running_var,
                                  int update_running, void *y, void *y_relu, void *save_mean,
                                  void *save_invstd, double *scratch)
{
    if (n <= 0 || c <= 0 || hw <= 0) return cudaErrorInvalidValue;
    TCET_DISPATCH(dt,
                  TCET_CUK_TRY((bn_train_fwd_t<float>(
                      s, n, c, hw, eps, momentum, (const float *)x, (const float *)gamma,
                      (const float *)beta, (float *)running_mean, (float *)running_var,
                      update_running, (float *)y, (float *)y_relu, (float *)save_mean,
                      (float *)save_invstd, scratch))),
                  TCET_CUK_TRY((bn_train_fwd_t<double>(
                      s, n, c, hw, eps, momentum, (const double *)x, (const double *)gamma,
                      (const double *)beta, (double *)running_mean, (double *)running_var,
                      update_running, (double *)y, (double *)y_relu, (double *)save_mean,
                      (double *)save_invstd, scratch))));
    return cudaSuccess;
}

cudaError_t tcet_cuk_bn_eval_fwd(cudaStream_t s, int dt, int n, int c, int hw, double eps,
                                 const void *x, const void *gamma, const void *beta,
                                 const void *running_mean, const void *running_var, void *y,
                                 void *y_relu, double *scratch)
{
    if (n <= 0 || c <= 0 || hw <= 0) return cudaErrorInvalidValue;
    const size_t count = (size_t)n * c * hw;
    if (dt == TCET_CUK_F16) {
        // scratch: 16 c bytes of float4 coefficients (<= tcet_bn_scratch_bytes; the
        // cudaMalloc'd base is 256-byte aligned)
        float4 *coef = (float4 *)(void *)scratch;
        bn_eval_coef_h<<<chan_blocks(c), kThreads, 0, s>>>(c, (float)eps, (const __half *)gamma,
                                                           (const __half *)beta, (const __half *)running_mean,
                                                           (const __half *)running_var, coef);
        TCET_CUK_TRY(cudaGetLastError());
        bn_eval_fwd_h<<<elem_blocks(count), kThreads, 0, s>>>(count, c, hw, (const __half *)x, coef,
                                                             (__half *)y, (__half *)y_relu);
        return cudaGetLastError();
    }
    TCET_DISPATCH(dt,
                  TCET_CUK_TRY((bn_eval_fwd_t<float>(s, n, c, hw, eps, (const float *)x,
                                                     (const float *)gamma, (const float *)beta,
                                                     (const float *)running_mean,
                                                     (const float *)running_var, (float *)y,
                                                     (float *)y_relu, scratch))),
                  TCET_CUK_TRY((bn_eval_fwd_t<double>(s, n, c, hw, eps, (const double *)x,
                                                      (const double *)gamma, (const double *)beta,
                                                      (const double *)running_mean,
                                                      (const double *)running_var, (double *)y,
                                                      (double *)y_relu, scratch))));
    return cudaSuccess;
}

cudaError_t tcet_cuk_bn_bwd(cudaStream_t s, int dt, int n, int c, int hw, const void *x,
                            const void *dy, const void *gamma, const void *beta, int relu,
                            const void *save_mean, const void *save_invstd, void *dx,
                            void *dgamma, void *dbeta, double *scratch)
{
    if (n <= 0 || c <= 0 || hw <= 0) return cudaErrorInvalidValue;
    TCET_DISPATCH(dt,
                  TCET_CUK_TRY((bn_bwd_t<float>(s, n, c, hw, (const float *)x, (const float *)dy,
                                                (const float *)gamma, (const float *)beta, relu,
                                                (const float *)save_mean,
                                                (const float *)save_invstd, (float *)dx,
                                                (float *)dgamma, (float *)dbeta, scratch))),
                  TCET_CUK_TRY((bn_bwd_t<double>(s, n, c, hw, (const double *)x, (const double *)dy,
                                                 (const double *)gamma, (const double *)beta, relu,
                                                 (const double *)save_mean,
                                                 (const double *)save_invstd, (double *)dx,
                                                 (double *)dgamma, (double *)dbeta, scratch))));
    return cudaSuccess;
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
