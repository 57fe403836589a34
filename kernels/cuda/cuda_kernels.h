/* extern "C" launchers of the hand-written CUDA kernels (kernels.cu).
 *
 * Every launcher enqueues on `stream` and returns cudaGetLastError() of the
 * launch, so the C side wraps it in CHECK_CUDA like any runtime call.
 * `dt` is TCET_F32 or TCET_F64 (TCET_F16 too where a comment says so; any
 * other dtype: cudaErrorInvalidValue, nothing launched); pointers are device
 * pointers of that dtype unless the name says otherwise.  Reductions are
 * deterministic: fixed grid and block sizes, fixed summation order, double
 * accumulators. */
#ifndef TCET_CUDA_KERNELS_H
#define TCET_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The tcet_dtype codes of kernels/backend.h, for the .cu side (which does not
 * include it); backend_cuda.c checks that they agree. */
#define TCET_CUK_F32 0
#define TCET_CUK_F64 1
#define TCET_CUK_F16 2

/* Blocks of the fixed-grid reductions (saliency partial sums). */
#define TCET_CUK_REDUCE_BLOCKS 256

/* relu_fwd, add, gap_fwd, fill_rows and bn_eval_fwd also take TCET_F16. */
cudaError_t tcet_cuk_relu_fwd(cudaStream_t s, int dt, size_t count, const void *x, void *y);
cudaError_t tcet_cuk_relu_bwd(cudaStream_t s, int dt, size_t count, const void *y,
                              const void *dy, void *dx);
cudaError_t tcet_cuk_add(cudaStream_t s, int dt, size_t count, const void *a, const void *b,
                         void *y);

cudaError_t tcet_cuk_gap_fwd(cudaStream_t s, int dt, int n, int c, int hw, const void *x, void *y);
cudaError_t tcet_cuk_gap_bwd(cudaStream_t s, int dt, int n, int c, int hw, const void *dy, void *dx);

/* y[i, j] = b[j] for i < rows, j < cols (bias rows before a beta = 1 GEMM). */
cudaError_t tcet_cuk_fill_rows(cudaStream_t s, int dt, int rows, int cols, const void *b, void *y);
/* out[j] = Σ_i x[i, j] (column sums of a row-major rows x cols matrix). */
cudaError_t tcet_cuk_col_sum(cudaStream_t s, int dt, int rows, int cols, const void *x, void *out);

/* Per-channel reductions and batch norm (split reduction, see
 * kernels/cuda/bn_math.h, whose functions do all the BN arithmetic): each
 * takes `scratch`, device memory of at least tcet_bn_scratch_bytes(n, c, hw)
 * bytes that nothing else uses until the launches have run (stream order).
 * Shapes must be positive (else cudaErrorInvalidValue, nothing launched). */

/* out[ch] = T(Σ over n and hw of double(x[n, ch, hw])) (NCHW): the conv bias
 * gradient. */
cudaError_t tcet_cuk_channel_sum(cudaStream_t s, int dt, int n, int c, int hw, const void *x,
                                 void *out, double *scratch);

/* Batch norm, training mode, bit for bit the CPU backend's arithmetic (see
 * bn_math.h for the one place where the summation order can matter).
 * gamma/beta may be NULL (1 / 0); save_mean / save_invstd may be NULL; when
 * update_running, running stats get the unbiased variance.  Outputs: y (may
 * alias x) and/or y_relu = relu(y) (the fused bn_relu_fwd); either may be
 * NULL. */
cudaError_t tcet_cuk_bn_train_fwd(cudaStream_t s, int dt, int n, int c, int hw, double eps,
                                  double momentum, const void *x, const void *gamma,
                                  const void *beta, void *running_mean, void *running_var,
                                  int update_running, void *y, void *y_relu, void *save_mean,
                                  void *save_invstd, double *scratch);
/* Eval mode (also TCET_F16: float arithmetic, its per-channel coefficients
 * computed once into scratch, 16 c bytes at the base);
 * y and/or y_relu as above. */
cudaError_t tcet_cuk_bn_eval_fwd(cudaStream_t s, int dt, int n, int c, int hw, double eps,
                                 const void *x, const void *gamma, const void *beta,
                                 const void *running_mean, const void *running_var, void *y,
                                 void *y_relu, double *scratch);
/* Backward through the batch statistics; relu = 1: of relu(bn(x)) (the
 * fused bn_relu_bwd, mask bn(x) > 0 recomputed from x, gamma, beta and the
 * saved statistics exactly as the forward computed bn(x)); beta is read only
 * then.  dx (may alias dy), dgamma, dbeta may be NULL. */
cudaError_t tcet_cuk_bn_bwd(cudaStream_t s, int dt, int n, int c, int hw, const void *x,
                            const void *dy, const void *gamma, const void *beta, int relu,
                            const void *save_mean, const void *save_invstd, void *dx,
                            void *dgamma, void *dbeta, double *scratch);

/* Softmax cross-entropy rows: loss_rows[i] (double) = -log softmax(x_i)[label_i],
 * or -1 when label_i is outside [0, classes); dlogits = (softmax - onehot) / n. */
cudaError_t tcet_cuk_softmax_xent(cudaStream_t s, int n, int classes, const float *logits,
                                  const int32_t *labels, double *loss_rows, float *dlogits);

/* codes[i, j] = x[i, c0 + j] > 0 ? 1 : 0 for i < n, j < cd; x is [n, d]. */
cudaError_t tcet_cuk_sign_codes(cudaStream_t s, int n, size_t d, size_t c0, size_t cd,
                                const float *x, float *codes);

/* partial[b] (double, TCET_CUK_REDUCE_BLOCKS entries): block b's share of
 * Σ (|w g| - center)^power over count elements, power 1 or 2. */
cudaError_t tcet_cuk_saliency_partial(cudaStream_t s, int dt, size_t count, const void *w,
                                      const void *g, double center, int power, double *partial);

#ifdef __cplusplus
}
#endif

#endif
