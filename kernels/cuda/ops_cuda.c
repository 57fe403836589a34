/* Element-wise, normalisation, pooling, loss and saliency ops of the CUDA
 * backend: thin checked wrappers over the kernels of kernels.cu, with the CPU
 * backend's argument checks.  The ops of an eval-mode forward (BN and the
 * fused BN + ReLU with train = 0, ReLU, add, GAP) also take TCET_F16; the
 * others refuse it (tcet_cuda_check_dtype). */
#include "kernels/cuda/cuda_internal.h"

#include <math.h>

#include "kernels/cuda/bn_math.h"
#include "kernels/cuda/cuda_kernels.h"


/* Batch norm: the checks of the CPU backend (kernels/cpu/cpu_bn.c), in the
 * same order, then the launchers of kernels.cu (arithmetic: bn_math.h). */
static int bn_shape_check(const char *op, int n, int c, int hw)
{
    if (n < 1 || c < 1 || hw < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "%s: invalid batch norm shape n=%d c=%d hw=%d", op, n, c, hw);
    return 0;
}

static int bn_scratch(tcet_cuda *cu, int n, int c, int hw, double **out)
{
    void *p;
    TCET_TRY(tcet_cuda_scratch(cu, tcet_bn_scratch_bytes(n, c, hw), &p));
    *out = p;
    return 0;
}

/* A NULL tensor would fault the kernel and leave the CUDA context unusable:
 * refuse it as a usage error instead (count 0 launches nothing). */
static int need_tensors(const char *op, size_t count, const void *a, const void *b, const void *c)
{
    if (count && (!a || !b || !c)) return TCET_FAIL(TCET_ERR_USAGE, "%s: a tensor is NULL", op);
    return 0;
}

/* bn_fwd (y_relu NULL) and the fused bn_relu_fwd (y may be NULL then) */
static int bn_fwd_any(tcet_backend *be, const char *op, int dt, int train, int n, int c, int hw,
                      double eps, double momentum, const void *x, const void *gamma,
                      const void *beta, void *running_mean, void *running_var, int update_running,
                      void *y, void *y_relu, void *save_mean, void *save_invstd)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, !train, train ? "bn_fwd (train mode)" : op));
    TCET_TRY(bn_shape_check(op, n, c, hw));
    TCET_TRY(need_tensors(op, 1, x, x, x));
    if (train && (size_t)n * hw < 2)   /* as the CPU backend and PyTorch: no unbiased variance */
        return TCET_FAIL(TCET_ERR_RUNTIME, "batch norm in training mode needs more than one "
                         "value per channel (batch %d, %d pixels)", n, hw);
    if ((!train || update_running) && (!running_mean || !running_var))
        return TCET_FAIL(TCET_ERR_USAGE, "%s: running statistics are required here", op);
    tcet_cuda *cu = tcet_cuda_of(be);
    double *scratch = NULL;
    TCET_TRY(bn_scratch(cu, n, c, hw, &scratch)); /* fp16 eval: 4c float coefficients */
    if (train)
        CHECK_CUDA(tcet_cuk_bn_train_fwd(cu->stream, dt, n, c, hw, eps, momentum, x, gamma, beta,
                                         running_mean, running_var, update_running, y, y_relu,
                                         save_mean, save_invstd, scratch));
    else
        CHECK_CUDA(tcet_cuk_bn_eval_fwd(cu->stream, dt, n, c, hw, eps, x, gamma, beta, running_mean,
                                        running_var, y, y_relu, scratch));
    return 0;
}

static int cu_bn_fwd(tcet_backend *be, int dt, int train, int n, int c, int hw, double eps,
                     double momentum, const void *x, const void *gamma, const void *beta,
                     void *running_mean, void *running_var, int update_running, void *y,
                     void *save_mean, void *save_invstd)
{
    if (!y) return TCET_FAIL(TCET_ERR_USAGE, "bn_fwd: no output");
    return bn_fwd_any(be, "bn_fwd", dt, train, n, c, hw, eps, momentum, x, gamma, beta, running_mean,
                      running_var, update_running, y, NULL, save_mean, save_invstd);
}

static int cu_bn_relu_fwd(tcet_backend *be, int dt, int train, int n, int c, int hw, double eps,
                          double momentum, const void *x, const void *gamma, const void *beta,
                          void *running_mean, void *running_var, int update_running, void *y,
                          void *y_relu, void *save_mean, void *save_invstd)
{
    if (!y_relu) return TCET_FAIL(TCET_ERR_USAGE, "bn_relu_fwd: no ReLU output");
    /* y == NULL: the BN output is not wanted (tcet_net.skip_bn_out) */
    return bn_fwd_any(be, "bn_relu_fwd", dt, train, n, c, hw, eps, momentum, x, gamma, beta,
                      running_mean, running_var, update_running, y, y_relu, save_mean, save_invstd);
}

static int bn_bwd_any(tcet_backend *be, const char *op, int dt, int n, int c, int hw, const void *x,
                      const void *dy, const void *gamma, const void *beta, int relu,
                      const void *save_mean, const void *save_invstd, void *dx, void *dgamma,
                      void *dbeta)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 0, op));
    TCET_TRY(bn_shape_check(op, n, c, hw));
    /* (the CPU would crash here; a kernel would fault and poison the context) */
    if (!save_mean || !save_invstd)
        return TCET_FAIL(TCET_ERR_USAGE, "%s: the saved batch statistics are required", op);
    tcet_cuda *cu = tcet_cuda_of(be);
    double *scratch = NULL;
    TCET_TRY(bn_scratch(cu, n, c, hw, &scratch));
    CHECK_CUDA(tcet_cuk_bn_bwd(cu->stream, dt, n, c, hw, x, dy, gamma, beta, relu, save_mean,
                               save_invstd, dx, dgamma, dbeta, scratch));
    return 0;
}

static int cu_bn_bwd(tcet_backend *be, int dt, int n, int c, int hw, const void *x, const void *dy,
                     const void *gamma, const void *save_mean, const void *save_invstd, void *dx,
                     void *dgamma, void *dbeta)
{
    return bn_bwd_any(be, "bn_bwd", dt, n, c, hw, x, dy, gamma, NULL, 0, save_mean, save_invstd, dx,
                      dgamma, dbeta);
}

static int cu_bn_relu_bwd(tcet_backend *be, int dt, int n, int c, int hw, const void *x,
                          const void *dy, const void *gamma, const void *beta,
                          const void *save_mean, const void *save_invstd, void *dx, void *dgamma,
                          void *dbeta)
{
    return bn_bwd_any(be, "bn_relu_bwd", dt, n, c, hw, x, dy, gamma, beta, 1, save_mean, save_invstd,
                      dx, dgamma, dbeta);
}

static int cu_relu_fwd(tcet_backend *be, int dt, size_t count, const void *x, void *y)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 1, "relu_fwd"));
    TCET_TRY(need_tensors("relu_fwd", count, x, y, y));
    CHECK_CUDA(tcet_cuk_relu_fwd(tcet_cuda_of(be)->stream, dt, count, x, y));
    return 0;
}

static int cu_relu_bwd(tcet_backend *be, int dt, size_t count, const void *y, const void *dy,
                       void *dx)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 0, "relu_bwd"));
    TCET_TRY(need_tensors("relu_bwd", count, y, dy, dx));
    CHECK_CUDA(tcet_cuk_relu_bwd(tcet_cuda_of(be)->stream, dt, count, y, dy, dx));
    return 0;
}

static int cu_add(tcet_backend *be, int dt, size_t count, const void *a, const void *b, void *y)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 1, "add"));
    TCET_TRY(need_tensors("add", count, a, b, y));
    CHECK_CUDA(tcet_cuk_add(tcet_cuda_of(be)->stream, dt, count, a, b, y));
    return 0;
}

/* as the CPU backend's shape_check: hw = 0 would divide by zero */
static int gap_shape_check(int n, int c, int hw)
{
    if (n < 1 || c < 1 || hw < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "CUDA backend: invalid global average pooling shape %d x %d x %d",
                         n, c, hw);
    return 0;
}

static int cu_gap_fwd(tcet_backend *be, int dt, int n, int c, int hw, const void *x, void *y)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 1, "gap_fwd"));
    TCET_TRY(gap_shape_check(n, c, hw));
    CHECK_CUDA(tcet_cuk_gap_fwd(tcet_cuda_of(be)->stream, dt, n, c, hw, x, y));
    return 0;
}

static int cu_gap_bwd(tcet_backend *be, int dt, int n, int c, int hw, const void *dy, void *dx)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 0, "gap_bwd"));
    TCET_TRY(gap_shape_check(n, c, hw));
    CHECK_CUDA(tcet_cuk_gap_bwd(tcet_cuda_of(be)->stream, dt, n, c, hw, dy, dx));
    return 0;
}

/* Per-row losses come back to the host and are summed there in row order
 * (deterministic, and n is a batch size, so the copy is tiny). */
static int cu_softmax_xent(tcet_backend *be, int n, int classes, const float *logits,
                           const int32_t *labels, double *loss, float *dlogits)
{
    tcet_cuda *cu = tcet_cuda_of(be);
    if (n <= 0 || classes <= 0)
        return TCET_FAIL(TCET_ERR_USAGE, "softmax_xent: n=%d classes=%d", n, classes);
    void *rows_dev;
    TCET_TRY(tcet_cuda_scratch(cu, (size_t)n * sizeof(double), &rows_dev));
    CHECK_CUDA(tcet_cuk_softmax_xent(cu->stream, n, classes, logits, labels, rows_dev, dlogits));
    double *rows = tcet_cuda_host_scratch(cu, (size_t)n * sizeof(double));
    CHECK_CUDA(cudaMemcpyAsync(rows, rows_dev, (size_t)n * sizeof(double), cudaMemcpyDeviceToHost,
                               cu->stream));
    TCET_TRY(tcet_cuda_stream_sync(cu));
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        if (rows[i] == -1.0)
            return TCET_FAIL(TCET_ERR_DATA, "softmax_xent: label of sample %d is outside [0, %d)",
                             i, classes);
        sum += rows[i];
    }
    if (loss) *loss = sum / n;
    return 0;
}

/* One pass of the fixed-grid reduction, summed on the host in block order. */
static int saliency_pass(tcet_cuda *cu, int dt, size_t count, const void *w, const void *g,
                         double center, int power, double *out)
{
    void *part_dev;
    const size_t bytes = TCET_CUK_REDUCE_BLOCKS * sizeof(double);
    TCET_TRY(tcet_cuda_scratch(cu, bytes, &part_dev));
    CHECK_CUDA(tcet_cuk_saliency_partial(cu->stream, dt, count, w, g, center, power, part_dev));
    double *part = tcet_cuda_host_scratch(cu, bytes);
    CHECK_CUDA(cudaMemcpyAsync(part, part_dev, bytes, cudaMemcpyDeviceToHost, cu->stream));
    TCET_TRY(tcet_cuda_stream_sync(cu));
    double s = 0.0;
    for (int b = 0; b < TCET_CUK_REDUCE_BLOCKS; b++) s += part[b];
    *out = s;
    return 0;
}

/* Two passes (sum, then Σ (v − mean)²): exact enough in double without
 * Welford's per-element division, and deterministic. */
static int cu_saliency_stats(tcet_backend *be, int dt, size_t count, const void *w, const void *g,
                             double *sum, double *std)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 0, "saliency_stats"));
    tcet_cuda *cu = tcet_cuda_of(be);
    if (count == 0) {
        *sum = 0.0;
        *std = NAN;
        return 0;
    }
    double s, q;
    TCET_TRY(saliency_pass(cu, dt, count, w, g, 0.0, 1, &s));
    *sum = s;
    if (count < 2) {
        *std = NAN;      /* unbiased std of one value (PyTorch gives nan too) */
        return 0;
    }
    TCET_TRY(saliency_pass(cu, dt, count, w, g, s / (double)count, 2, &q));
    *std = sqrt(q / (double)(count - 1));
    return 0;
}

void tcet_cuda_bind_ops(tcet_backend *be)
{
    be->bn_fwd = cu_bn_fwd;
    be->bn_bwd = cu_bn_bwd;
    be->bn_relu_fwd = cu_bn_relu_fwd;
    be->bn_relu_bwd = cu_bn_relu_bwd;
    be->relu_fwd = cu_relu_fwd;
    be->relu_bwd = cu_relu_bwd;
    be->add = cu_add;
    be->gap_fwd = cu_gap_fwd;
    be->gap_bwd = cu_gap_bwd;
    be->softmax_xent = cu_softmax_xent;
    be->saliency_stats = cu_saliency_stats;
}
