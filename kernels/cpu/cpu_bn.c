/* Batch normalisation on the CPU (see cpu_bn_tmpl.h). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "common/error.h"
#include "kernels/cpu/cpu_internal.h"

/* bn(x) = x * alpha + shift, two roundings (C17 mode: GCC does not contract
 * it into an fma), written once so that the forward and the ReLU mask that
 * bn_relu_bwd recomputes are the same operations. */
#define BN_APPLY(x, alpha, shift) ((x) * (alpha) + (shift))
#define T float
#define ACC double
#define S(name) name##_f32
#include "kernels/cpu/cpu_reduce_tmpl.h"
#include "kernels/cpu/cpu_bn_tmpl.h"
#undef T
#undef ACC
#undef S

#define T double
#define ACC double
#define S(name) name##_f64
#include "kernels/cpu/cpu_reduce_tmpl.h"
#include "kernels/cpu/cpu_bn_tmpl.h"
#undef T
#undef ACC
#undef S

static int bn_check(int n, int c, int hw)
{
    if (n < 1 || c < 1 || hw < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "CPU backend: invalid batch norm shape n=%d c=%d hw=%d", n, c, hw);
    return 0;
}

/* bn_fwd (y_relu NULL) and the fused bn_relu_fwd */
static int bn_fwd_any(tcet_backend *be, int dt, int train, int n, int c, int hw, double eps, double momentum,
                      const void *x, const void *gamma, const void *beta, void *running_mean, void *running_var,
                      int update_running, void *y, void *y_relu, void *save_mean, void *save_invstd)
{
    TCET_TRY(cpu_check_dtype(dt));
    TCET_TRY(bn_check(n, c, hw));
    if (train && (size_t)n * hw < 2)
        /* the unbiased variance needs two values; PyTorch refuses the same */
        return TCET_FAIL(TCET_ERR_RUNTIME, "batch norm in training mode needs more than one value "
                         "per channel (batch %d, %d pixels)", n, hw);
    if ((!train || update_running) && (!running_mean || !running_var))
        return TCET_FAIL(TCET_ERR_USAGE, "batch norm: running statistics are required here");
    update_running = train && update_running;
    double *ws = cpu_scratch(be, sizeof(double) * bn_ws_doubles_f32(c));
    if (!ws) return TCET_ERR_NOMEM;
    if (dt == TCET_F32)
        return bn_fwd_f32(train, n, c, hw, eps, momentum, x, gamma, beta, running_mean, running_var,
                          update_running, y, y_relu, save_mean, save_invstd, ws);
    return bn_fwd_f64(train, n, c, hw, eps, momentum, x, gamma, beta, running_mean, running_var,
                      update_running, y, y_relu, save_mean, save_invstd, ws);
}

int CPU_K(cpu_bn_fwd)(tcet_backend *be, int dt, int train, int n, int c, int hw, double eps,
               double momentum, const void *x, const void *gamma, const void *beta,
               void *running_mean, void *running_var, int update_running,
               void *y, void *save_mean, void *save_invstd)
{
    if (!y) return TCET_FAIL(TCET_ERR_USAGE, "bn_fwd: no output");
    return bn_fwd_any(be, dt, train, n, c, hw, eps, momentum, x, gamma, beta, running_mean, running_var,
                      update_running, y, NULL, save_mean, save_invstd);
}

int CPU_K(cpu_bn_relu_fwd)(tcet_backend *be, int dt, int train, int n, int c, int hw, double eps,
                    double momentum, const void *x, const void *gamma, const void *beta,
                    void *running_mean, void *running_var, int update_running,
                    void *y, void *y_relu, void *save_mean, void *save_invstd)
{
    if (!y_relu) return TCET_FAIL(TCET_ERR_USAGE, "bn_relu_fwd: no ReLU output");
    /* y == NULL: the BN output is not wanted (tcet_net.skip_bn_out) */
    return bn_fwd_any(be, dt, train, n, c, hw, eps, momentum, x, gamma, beta, running_mean, running_var,
                      update_running, y, y_relu, save_mean, save_invstd);
}

int CPU_K(cpu_bn_bwd)(tcet_backend *be, int dt, int n, int c, int hw, const void *x,
               const void *dy, const void *gamma, const void *save_mean,
               const void *save_invstd, void *dx, void *dgamma, void *dbeta)
{
    TCET_TRY(cpu_check_dtype(dt));
    TCET_TRY(bn_check(n, c, hw));
    double *ws = cpu_scratch(be, sizeof(double) * bn_ws_doubles_f32(c));
    if (!ws) return TCET_ERR_NOMEM;
    if (dt == TCET_F32)
        return bn_bwd_f32(n, c, hw, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, ws);
    return bn_bwd_f64(n, c, hw, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, ws);
}

int CPU_K(cpu_bn_relu_bwd)(tcet_backend *be, int dt, int n, int c, int hw, const void *x,
                    const void *dy, const void *gamma, const void *beta, const void *save_mean,
                    const void *save_invstd, void *dx, void *dgamma, void *dbeta)
{
    TCET_TRY(cpu_check_dtype(dt));
    TCET_TRY(bn_check(n, c, hw));
    double *ws = cpu_scratch(be, bn_bwd_ws_bytes_f64(c, hw)); /* the larger of the two */
    if (!ws) return TCET_ERR_NOMEM;
    if (dt == TCET_F32)
        return bn_relu_bwd_f32(n, c, hw, x, dy, gamma, beta, save_mean, save_invstd, dx, dgamma, dbeta, ws);
    return bn_relu_bwd_f64(n, c, hw, x, dy, gamma, beta, save_mean, save_invstd, dx, dgamma, dbeta, ws);
}

/* The statistics of a float32 train-mode BN only (no output written), for
 * bn_relu_conv_train (cpu_conv.c). */
int CPU_K(cpu_bn_stats_train)(tcet_backend *be, int n, int c, int hw, double eps, double momentum, const float *x,
                              const float *gamma, const float *beta, float *running_mean, float *running_var,
                              int update_running, float *save_mean, float *save_invstd)
{
    return bn_fwd_any(be, TCET_F32, 1, n, c, hw, eps, momentum, x, gamma, beta, running_mean, running_var,
                      update_running, NULL, NULL, save_mean, save_invstd);
}

/* The float32 BN + ReLU backward in its two parts, for the fused 1x1 conv
 * backward (cpu_conv.c, conv_bn_relu_bwd): the batch sums and coefficients,
 * then the input gradient image by image, the same code bn_relu_bwd runs. */
size_t CPU_K(cpu_bn_bwd_ws_bytes)(int c, int hw) { return bn_bwd_ws_bytes_f32(c, hw); }

void CPU_K(cpu_bn_bwd_coefs)(int n, int c, int hw, const float *x, const float *dy, const float *gamma,
                             const float *beta, int relu, const float *save_mean, const float *save_invstd,
                             float *dgamma, float *dbeta, double *ws, float *coef, float *aff)
{
    bn_bwd_coefs_f32(n, c, hw, x, dy, gamma, beta, relu, save_mean, save_invstd, dgamma, dbeta, ws, coef, aff);
}

void CPU_K(cpu_bn_bwd_affine)(int c, const float *gamma, const float *beta, const float *save_mean,
                              const float *save_invstd, float *aff)
{
    bn_affines_f32(c, gamma, beta, save_mean, save_invstd, aff);
}

void CPU_K(cpu_bn_bwd_image)(int c, size_t plane, const float *x, const float *dy, int relu, const float *coef,
                             const float *aff, float *dx)
{
    bn_bwd_image_f32(c, plane, x, dy, relu, coef, aff, dx);
}
