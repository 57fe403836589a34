/* One compute-backend interface, implemented by kernels/cpu (always built,
 * the reference) and kernels/cuda (when the toolkit is present).
 *
 * All tensors are NCHW (activations) / OIHW (conv weights) / [out,in]
 * (linear weights), contiguous, in device memory of the backend, and of the
 * dtype passed to the op (TCET_F32, or TCET_F64 for Synflow).  Ops return 0 or
 * a tcet_status code with the error recorded (TCET_FAIL).  Ops never allocate
 * per call in steady state: scratch space is grown once and kept.
 *
 * TCET_F16 (IEEE binary16, for the fp16 eval-mode latency forward of the
 * budget network, docs/semantics.md#main-loop, docs/semantics.md#latency-measurement) exists only where be->has_f16 = 1, and
 * only for the ops of an eval-mode forward: conv_fwd (bias included),
 * bn_fwd / bn_relu_fwd with train = 0, relu_fwd, add, gap_fwd, linear_fwd.
 * Every tensor of such a call is half, parameters and running statistics
 * included (as PyTorch's module.half()); arithmetic is float inside (cuDNN /
 * cuBLAS with a float compute type, float in the hand-written kernels), only
 * storage is half.  Every other op, train-mode BN, and every op of a backend
 * with has_f16 = 0 refuses TCET_F16 with TCET_ERR_BACKEND. */
#ifndef TCET_BACKEND_H
#define TCET_BACKEND_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TCET_F32 = 0, TCET_F64 = 1, TCET_F16 = 2 } tcet_dtype;
static inline size_t tcet_dtype_size(int dt) { return dt == TCET_F64 ? 8 : dt == TCET_F16 ? 2 : 4; }

typedef struct {
    int n;                    /* batch */
    int cin, cout, k, stride, pad, groups;
    int h, w;                 /* input spatial size */
    int ho, wo;               /* output spatial size: (h + 2 pad - k) / stride + 1 */
} tcet_conv_desc;

typedef struct tcet_backend tcet_backend;
/* The ops' signatures, one type each: the backend table below and the CPU
 * backend's per-instruction-set kernel tables (kernels/cpu/cpu_internal.h)
 * hold pointers of these types.  What each op computes is said at its slot
 * in struct tcet_backend. */
typedef int tcet_op_conv_fwd_fn(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x,
                                const void *w, const void *bias, void *y);
typedef int tcet_op_conv_bwd_data_fn(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *w,
                                     const void *dy, void *dx);
typedef int tcet_op_conv_bwd_filter_fn(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x,
                                       const void *dy, void *dw, void *dbias);
typedef int tcet_op_bn_fwd_fn(tcet_backend *be, int dt, int train, int n, int c, int hw, double eps,
                              double momentum, const void *x, const void *gamma, const void *beta,
                              void *running_mean, void *running_var, int update_running, void *y,
                              void *save_mean, void *save_invstd);
typedef int tcet_op_bn_bwd_fn(tcet_backend *be, int dt, int n, int c, int hw, const void *x, const void *dy,
                              const void *gamma, const void *save_mean, const void *save_invstd, void *dx,
                              void *dgamma, void *dbeta);
typedef int tcet_op_relu_fwd_fn(tcet_backend *be, int dt, size_t count, const void *x, void *y);
typedef int tcet_op_relu_bwd_fn(tcet_backend *be, int dt, size_t count, const void *y, const void *dy,
                                void *dx);
typedef int tcet_op_add_fn(tcet_backend *be, int dt, size_t count, const void *a, const void *b, void *y);
typedef int tcet_op_gap_fwd_fn(tcet_backend *be, int dt, int n, int c, int hw, const void *x, void *y);
typedef int tcet_op_gap_bwd_fn(tcet_backend *be, int dt, int n, int c, int hw, const void *dy, void *dx);
typedef int tcet_op_linear_fwd_fn(tcet_backend *be, int dt, int n, int in, int out, const void *x,
                                  const void *w, const void *b, void *y);
typedef int tcet_op_linear_bwd_fn(tcet_backend *be, int dt, int n, int in, int out, const void *x,
                                  const void *w, const void *dy, void *dx, void *dw, void *db);
typedef int tcet_op_softmax_xent_fn(tcet_backend *be, int n, int classes, const float *logits,
                                    const int32_t *labels, double *loss, float *dlogits);
typedef int tcet_op_gram_codes_fn(tcet_backend *be, int n, size_t d, const float *x, double *K_host,
                                  int64_t *positives_host);
typedef int tcet_op_saliency_stats_fn(tcet_backend *be, int dt, size_t count, const void *w, const void *g,
                                      double *sum, double *std);
typedef int tcet_op_bn_relu_fwd_fn(tcet_backend *be, int dt, int train, int n, int c, int hw, double eps,
                                   double momentum, const void *x, const void *gamma, const void *beta,
                                   void *running_mean, void *running_var, int update_running, void *y,
                                   void *y_relu, void *save_mean, void *save_invstd);
typedef int tcet_op_conv_bn_relu_eval_fn(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x,
                                         const void *w, const void *bias, double eps, const void *gamma,
                                         const void *beta, const void *running_mean, const void *running_var,
                                         void *y, void *y_relu, void *codes, int *codes_done);
/* The parameters of one eval-mode BN: gamma, beta nullable (1, 0). */
typedef struct {
    const void *gamma, *beta, *running_mean, *running_var;
} tcet_bn_eval;
typedef int tcet_op_conv_pair_eval_fn(tcet_backend *be, int dt, const tcet_conv_desc *d1,
                                      const tcet_conv_desc *d2, const void *x, const void *w1, const void *b1,
                                      const void *w2, const void *b2, double eps, const tcet_bn_eval *bn1,
                                      const tcet_bn_eval *bn2, void *y2_relu, void *codes1, void *codes2,
                                      int *done);
/* A conv input given as relu(bn(x)) of a train-mode BN (its input x, gamma,
 * beta nullable, saved statistics) rather than stored: bn_relu_conv_train. */
typedef struct {
    const void *x, *gamma, *beta, *save_mean, *save_invstd;
} tcet_bn_relu_in;
typedef int tcet_op_conv_bn_relu_bwd_fn(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x,
                                        const void *w, const void *y, const void *dy, const void *gamma,
                                        const void *beta, const void *save_mean, const void *save_invstd,
                                        void *dgamma, void *dbeta, void *dw, void *dx, const tcet_bn_relu_in *xin,
                                        int *done);
typedef int tcet_op_bn_relu_conv_train_fn(tcet_backend *be, int dt, int n, int c, int hw, double eps,
                                          double momentum, const void *x, const void *gamma, const void *beta,
                                          void *running_mean, void *running_var, int update_running,
                                          void *save_mean, void *save_invstd, const tcet_conv_desc *d,
                                          const void *w, const void *bias, void *y, int *done);
typedef int tcet_op_gram_bits_fn(tcet_backend *be, int n, size_t d, const void *bits, double *K_host,
                                 int64_t *positives_host);
typedef int tcet_op_bn_relu_bwd_fn(tcet_backend *be, int dt, int n, int c, int hw, const void *x,
                                   const void *dy, const void *gamma, const void *beta, const void *save_mean,
                                   const void *save_invstd, void *dx, void *dgamma, void *dbeta);

struct tcet_backend {
    const char *name;         /* "cpu" or "cuda" */
    char device[128];         /* human description, e.g. "CPU (OpenBLAS, 1 thread)" */
    void *impl;
    int has_f16;              /* 1: the eval-mode forward ops accept TCET_F16 (see above) */

    /* memory: alloc returns NULL only after recording an error */
    void *(*alloc)(tcet_backend *be, size_t bytes);
    void (*release)(tcet_backend *be, void *p);
    int (*upload)(tcet_backend *be, void *dst, const void *host_src, size_t bytes);
    int (*download)(tcet_backend *be, void *host_dst, const void *src, size_t bytes);
    int (*zero)(tcet_backend *be, void *p, size_t bytes);
    int (*sync)(tcet_backend *be);
    void (*destroy)(tcet_backend *be);

    /* convolution (groups 1 or depthwise/grouped), padding d->pad, optional bias */
    tcet_op_conv_fwd_fn *conv_fwd;
    /* dx = conv_transpose(dy, w) (overwrites dx) */
    tcet_op_conv_bwd_data_fn *conv_bwd_data;
    /* dw = ∂/∂w (overwrites dw); dbias (nullable) = Σ dy over n, h, w */
    tcet_op_conv_bwd_filter_fn *conv_bwd_filter;

    /* batch norm over (n, hw) per channel.
     * train = 1: normalise with the batch mean and biased variance; write
     *   save_mean / save_invstd (1/sqrt(var + eps)) for the backward; when
     *   update_running, running = (1 - momentum) running + momentum batch with the
     *   unbiased batch variance (PyTorch semantics).
     * train = 0: normalise with running_mean / running_var. */
    tcet_op_bn_fwd_fn *bn_fwd;
    /* training-mode backward through the batch statistics; dgamma/dbeta overwrite */
    tcet_op_bn_bwd_fn *bn_bwd;

    tcet_op_relu_fwd_fn *relu_fwd;
    /* dx = dy where y > 0, else 0 (y = the ReLU output) */
    tcet_op_relu_bwd_fn *relu_bwd;
    /* y = a + b (residual sum) */
    tcet_op_add_fn *add;

    /* global average pooling [n,c,hw] -> [n,c] and its backward */
    tcet_op_gap_fwd_fn *gap_fwd;
    tcet_op_gap_bwd_fn *gap_bwd;

    /* y[n,out] = x[n,in] w[out,in]^T + b (b nullable) */
    tcet_op_linear_fwd_fn *linear_fwd;
    /* dx (nullable), dw, db (nullable); all overwrite */
    tcet_op_linear_bwd_fn *linear_bwd;

    /* mean softmax cross-entropy of float32 logits [n,classes] against int32
     * labels (device memory); loss returned to the host, dlogits = ∂loss/∂logits. */
    tcet_op_softmax_xent_fn *softmax_xent;

    /* NASWOT Gram of the sign codes of x[n, d] (float32, code = x > 0):
     * K_ij = #units where codes of samples i and j agree = d - Hamming.
     * K (n*n, row-major) and positives (n: ones per sample) land on the host. */
    tcet_op_gram_codes_fn *gram_codes;

    /* Saliency statistics of v = |w ⊙ g| over count elements, accumulated in
     * double: sum and unbiased standard deviation (NaN when count == 1). */
    tcet_op_saliency_stats_fn *saliency_stats;

    /* Optional fused op (NULL: the network runs bn_fwd then relu_fwd; the
     * results are identical either way): bn_fwd writing y and, in the same
     * pass, y_relu = relu(y).  Saves a pass over the activations of every
     * BN + ReLU pair (docs/performance.md).  y may be NULL: then only y_relu is written. */
    tcet_op_bn_relu_fwd_fn *bn_relu_fwd;
    /* Optional fused op (NULL: conv_fwd then bn_relu_fwd): an eval-mode conv
     * followed by BN with its running statistics and a ReLU, y = conv(x)
     * (+ bias) and y_relu = relu(bn(y)), bit for bit as the two ops with
     * train = 0 and no BN output (tcet_net.skip_bn_out).  The ReLU output is
     * written while y is still in registers, saving the BN pass's read of y
     * (docs/performance.md).  float32. */
    tcet_op_conv_bn_relu_eval_fn *conv_bn_relu_eval;
    /* With it (NULL together with conv_bn_relu_eval): codes != NULL asks for
     * the NASWOT codes of y as well, n rows of ceil(cout*ho*wo / 64) 64-bit
     * words (bit u of a row = unit u of the image's output > 0, the bits
     * past the output 0), written while y is in registers; *codes_done = 1
     * when they were, and then y itself was not written (the codes and
     * y_relu are all an eval-mode NASWOT forward needs of it); else y is
     * written and the caller uses gram_codes on it.  gram_bits is gram_codes
     * on such rows. */
    tcet_op_gram_bits_fn *gram_bits;
    /* Optional fused op (NULL together with conv_bn_relu_eval, or where it
     * does not apply: *done = 0, and the caller runs conv_bn_relu_eval twice):
     * the eval-mode NASWOT forward of conv d1 (1x1) + BN bn1 + ReLU + conv d2
     * (1x1, input the ReLU output) + BN bn2 + ReLU, with the codes of both
     * conv outputs (codes1, codes2 as conv_bn_relu_eval writes them) and the
     * last ReLU output y2_relu; neither conv output nor the first ReLU output
     * is written.  Bit for bit the two conv_bn_relu_eval calls.  The wide
     * tensor between the convs of a ZenNAS bottleneck pair stays in the
     * caches (docs/performance.md#fusions-around-the-wide-tensors).  float32. */
    tcet_op_conv_pair_eval_fn *conv_pair_eval;
    /* Optional fused op (NULL: relu_bwd then bn_bwd): the backward of
     * relu(bn(x)) after a train-mode forward, dy = gradient of the ReLU
     * output; the ReLU mask bn(x) > 0 is recomputed from x, gamma, beta and
     * the saved statistics (bit for bit as that backend's bn_fwd computed
     * it), so neither y_relu nor a masked copy of dy is read or written. */
    tcet_op_bn_relu_bwd_fn *bn_relu_bwd;
    /* Optional fused op (NULL, or *done = 0 where it does not apply: the
     * caller runs bn_relu_bwd, conv_bwd_filter and conv_bwd_data): the
     * backward of relu(bn(conv(x))) for a conv d without bias after a
     * train-mode forward: y = conv(x) (the BN input), dy = gradient of the
     * ReLU output; writes dgamma, dbeta, dw and dx (nullable: not wanted),
     * bit for bit those three ops.  The BN's input gradient, which only
     * the conv's two gradients read, is never written: each image of it is
     * made in L2 and used there (docs/performance.md#fusions-around-the-wide-tensors).
     * xin (nullable, then x is unused): the conv's input is relu(bn(xin->x)),
     * recomputed image by image, as bn_relu_conv_train left it unstored.
     * float32. */
    tcet_op_conv_bn_relu_bwd_fn *conv_bn_relu_bwd;
    /* Optional fused op (NULL, or *done = 0 where it does not apply: the
     * caller runs bn_relu_fwd and conv_fwd): a train-mode BN + ReLU whose
     * output only feeds the 1x1 conv d (no bias then: bias nullable): the
     * BN's statistics (save_mean, save_invstd, running ones when
     * update_running) and y = conv(relu(bn(x))), the ReLU applied as the
     * conv reads its input; the ReLU output itself is never written (the
     * backward gets it back through conv_bn_relu_bwd's xin).  Bit for bit
     * the two ops.  A backend that takes it must also take that conv's
     * conv_bn_relu_bwd with xin.  float32. */
    tcet_op_bn_relu_conv_train_fn *bn_relu_conv_train;
    /* Optional (NULL: any thread may use the backend as it is): make be
     * usable from the calling thread; a GPU backend selects its device there
     * (the CUDA runtime's current device is per host thread).  Called through
     * tcet_backend_bind_thread, once by each worker lane at thread start. */
    int (*bind_thread)(tcet_backend *be);
    /* Optional (NULL: the backend's memory is host memory): free and total
     * bytes of the device, for the scorer's check before each candidate. */
    int (*mem_info)(tcet_backend *be, size_t *free_bytes, size_t *total_bytes);
};

/* Backends. `which` is "auto", "cpu" or "cuda"; auto picks CUDA when a device
 * is visible. device picks the GPU (modulo the visible devices; worker/binding.h
 * chooses it per worker rank).
 * "cuda" with no visible GPU (no driver, no device, CUDA_VISIBLE_DEVICES=)
 * falls back to the CPU with a notice on stderr; "cuda" with a visible GPU
 * that cannot be set up fails (TCET_ERR_BACKEND); "auto" falls back to the
 * CPU in both cases, with a notice. */
int tcet_backend_create(const char *which, int device, int threads, tcet_backend **out);
/* The CPU backend on the instruction-set path TCET_CPU_ISA names, or the best
 * one the CPU supports (kernels/cpu/backend_cpu.h); NULL, with the error
 * recorded (TCET_ERR_USAGE: unknown name, TCET_ERR_BACKEND: the CPU lacks
 * the forced path), when TCET_CPU_ISA cannot be honoured. */
tcet_backend *tcet_backend_cpu_create(int threads);
/* Make be usable from the calling thread: its bind_thread slot, when it has
 * one (a GPU backend sets the thread's current device; the CPU backend needs
 * nothing).  Each worker lane calls it once at thread start.  0 or
 * TCET_ERR_BACKEND. */
int tcet_backend_bind_thread(tcet_backend *be);
/* The GPUs this process can use, in the device order the backend numbers
 * them (CUDA_VISIBLE_DEVICES applied), as UUID strings ("GPU-8f0e..."):
 * returns how many (at most max; 0 without CUDA, a driver or a device). */
#define TCET_GPU_UUID_LEN 48
int tcet_gpu_uuids(char (*uuid)[TCET_GPU_UUID_LEN], int max);
/* Names of the compiled backends, e.g. "cpu cuda". */
const char *tcet_backends_compiled(void);

#endif
