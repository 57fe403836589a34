/* Element-wise ops, global average pooling, linear layer and saliency
 * statistics on the CPU (see cpu_ops_tmpl.h). */
#include <cblas.h>
#include <math.h>
#include <stddef.h>

#include "common/error.h"
#include "kernels/cpu/cpu_internal.h"

#define T float
#define ACC double
#define S(name) name##_f32
#define GEMM cblas_sgemm
#define fabs_t fabsf
#include "kernels/cpu/cpu_reduce_tmpl.h"
#include "kernels/cpu/cpu_ops_tmpl.h"
#undef T
#undef ACC
#undef S
#undef GEMM
#undef fabs_t

#define T double
#define ACC double
#define S(name) name##_f64
#define GEMM cblas_dgemm
#define fabs_t fabs
#include "kernels/cpu/cpu_reduce_tmpl.h"
#include "kernels/cpu/cpu_ops_tmpl.h"
#undef T
#undef ACC
#undef S
#undef GEMM
#undef fabs_t

#define DISPATCH(dt, call_f32, call_f64) \
    do {                                 \
        TCET_TRY(cpu_check_dtype(dt));   \
        if ((dt) == TCET_F32)            \
            call_f32;                    \
        else                             \
            call_f64;                    \
        return 0;                        \
    } while (0)

int CPU_K(cpu_relu_fwd)(tcet_backend *be, int dt, size_t count, const void *x, void *y)
{
    DISPATCH(dt, relu_fwd_f32(count, x, y), relu_fwd_f64(count, x, y));
}

int CPU_K(cpu_relu_bwd)(tcet_backend *be, int dt, size_t count, const void *y, const void *dy, void *dx)
{
    DISPATCH(dt, relu_bwd_f32(count, y, dy, dx), relu_bwd_f64(count, y, dy, dx));
}

int CPU_K(cpu_add)(tcet_backend *be, int dt, size_t count, const void *a, const void *b, void *y)
{
    DISPATCH(dt, add_f32(count, a, b, y), add_f64(count, a, b, y));
}

static int shape_check(const char *op, int n, int c, int hw)
{
    if (n < 1 || c < 1 || hw < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "CPU backend: invalid %s shape %d x %d x %d", op, n, c, hw);
    return 0;
}

int CPU_K(cpu_gap_fwd)(tcet_backend *be, int dt, int n, int c, int hw, const void *x, void *y)
{
    TCET_TRY(shape_check("global average pooling", n, c, hw));
    size_t nc = (size_t)n * c;
    DISPATCH(dt, gap_fwd_f32(nc, (size_t)hw, x, y), gap_fwd_f64(nc, (size_t)hw, x, y));
}

int CPU_K(cpu_gap_bwd)(tcet_backend *be, int dt, int n, int c, int hw, const void *dy, void *dx)
{
    TCET_TRY(shape_check("global average pooling", n, c, hw));
    size_t nc = (size_t)n * c;
    DISPATCH(dt, gap_bwd_f32(nc, (size_t)hw, dy, dx), gap_bwd_f64(nc, (size_t)hw, dy, dx));
}

int CPU_K(cpu_linear_fwd)(tcet_backend *be, int dt, int n, int in, int out,
                   const void *x, const void *w, const void *b, void *y)
{
    TCET_TRY(shape_check("linear", n, in, out));
    DISPATCH(dt, linear_fwd_f32(n, in, out, x, w, b, y), linear_fwd_f64(n, in, out, x, w, b, y));
}

int CPU_K(cpu_linear_bwd)(tcet_backend *be, int dt, int n, int in, int out, const void *x,
                   const void *w, const void *dy, void *dx, void *dw, void *db)
{
    TCET_TRY(shape_check("linear", n, in, out));
    DISPATCH(dt, linear_bwd_f32(n, in, out, x, w, dy, dx, dw, db),
             linear_bwd_f64(n, in, out, x, w, dy, dx, dw, db));
}

int CPU_K(cpu_saliency_stats)(tcet_backend *be, int dt, size_t count, const void *w,
                       const void *g, double *sum, double *std)
{
    DISPATCH(dt, saliency_f32(count, w, g, sum, std), saliency_f64(count, w, g, sum, std));
}
