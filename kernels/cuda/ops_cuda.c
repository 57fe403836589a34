/* Element-wise, normalisation, pooling, loss and saliency ops of the CUDA
 * backend: thin checked wrappers over the kernels of kernels.cu.  The ops of
 * an eval-mode forward (BN with train = 0, ReLU, add, GAP) also take
 * TCET_F16; the others refuse it (tcet_cuda_check_dtype). */
#include "kernels/cuda/cuda_internal.h"

#include <math.h>

#include "kernels/cuda/cuda_kernels.h"


static int cu_bn_fwd(tcet_backend *be, int dt, int train, int n, int c, int hw, double eps,
                     double momentum, const void *x, const void *gamma, const void *beta,
                     void *running_mean, void *running_var, int update_running, void *y,
                     void *save_mean, void *save_invstd)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, !train, train ? "bn_fwd (train mode)" : "bn_fwd"));
    cudaStream_t s = tcet_cuda_of(be)->stream;
    if (n < 1 || c < 1 || hw < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "bn_fwd: invalid shape n=%d c=%d hw=%d", n, c, hw);
    if (train) {
        if ((size_t)n * hw < 2)   /* as the CPU backend and PyTorch: no unbiased variance */
            return TCET_FAIL(TCET_ERR_RUNTIME, "batch norm in training mode needs more than one "
                             "value per channel (batch %d, %d pixels)", n, hw);
        if (update_running && (!running_mean || !running_var))
            return TCET_FAIL(TCET_ERR_USAGE, "bn_fwd: update_running without running buffers");
        CHECK_CUDA(tcet_cuk_bn_train_fwd(s, dt, n, c, hw, eps, momentum, x, gamma, beta,
                                         running_mean, running_var, update_running, y, save_mean,
                                         save_invstd));
    } else {
        if (!running_mean || !running_var)
            return TCET_FAIL(TCET_ERR_USAGE, "bn_fwd: eval mode needs running statistics");
        CHECK_CUDA(tcet_cuk_bn_eval_fwd(s, dt, n, c, hw, eps, x, gamma, beta, running_mean,
                                        running_var, y));
    }
    return 0;
}

static int cu_bn_bwd(tcet_backend *be, int dt, int n, int c, int hw, const void *x, const void *dy,
                     const void *gamma, const void *save_mean, const void *save_invstd, void *dx,
                     void *dgamma, void *dbeta)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 0, "bn_bwd"));
    if (n < 1 || c < 1 || hw < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "bn_bwd: invalid shape n=%d c=%d hw=%d", n, c, hw);
    CHECK_CUDA(tcet_cuk_bn_bwd(tcet_cuda_of(be)->stream, dt, n, c, hw, x, dy, gamma, save_mean,
                               save_invstd, dx, dgamma, dbeta));
    return 0;
}

static int cu_relu_fwd(tcet_backend *be, int dt, size_t count, const void *x, void *y)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 1, "relu_fwd"));
    CHECK_CUDA(tcet_cuk_relu_fwd(tcet_cuda_of(be)->stream, dt, count, x, y));
    return 0;
}

static int cu_relu_bwd(tcet_backend *be, int dt, size_t count, const void *y, const void *dy,
                       void *dx)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 0, "relu_bwd"));
    CHECK_CUDA(tcet_cuk_relu_bwd(tcet_cuda_of(be)->stream, dt, count, y, dy, dx));
    return 0;
}

static int cu_add(tcet_backend *be, int dt, size_t count, const void *a, const void *b, void *y)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 1, "add"));
    CHECK_CUDA(tcet_cuk_add(tcet_cuda_of(be)->stream, dt, count, a, b, y));
    return 0;
}

static int cu_gap_fwd(tcet_backend *be, int dt, int n, int c, int hw, const void *x, void *y)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 1, "gap_fwd"));
    CHECK_CUDA(tcet_cuk_gap_fwd(tcet_cuda_of(be)->stream, dt, n, c, hw, x, y));
    return 0;
}

static int cu_gap_bwd(tcet_backend *be, int dt, int n, int c, int hw, const void *dy, void *dx)
{
    TCET_TRY(tcet_cuda_check_dtype(dt, 0, "gap_bwd"));
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
    CHECK_CUDA(cudaStreamSynchronize(cu->stream));
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
    CHECK_CUDA(cudaStreamSynchronize(cu->stream));
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
    be->relu_fwd = cu_relu_fwd;
    be->relu_bwd = cu_relu_bwd;
    be->add = cu_add;
    be->gap_fwd = cu_gap_fwd;
    be->gap_bwd = cu_gap_bwd;
    be->softmax_xent = cu_softmax_xent;
    be->saliency_stats = cu_saliency_stats;
}
