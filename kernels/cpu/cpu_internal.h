/* Private to kernels/cpu: the CPU backend's state and the op entry points
 * that backend_cpu.c wires into the tcet_backend table.
 *
 * Every op that needs temporary space takes it from ONE grow-only scratch
 * arena (cpu_scratch): it is enlarged when a bigger shape arrives and then
 * reused, so steady-state calls never allocate. */
#ifndef TCET_CPU_INTERNAL_H
#define TCET_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"

#define TCET_CPU_ALIGN 64

/* Keeps a small hot loop out of its caller: GCC 12 vectorises some mixed
 * float/double reductions only when it compiles them on their own. */
#define CPU_NOINLINE __attribute__((noinline, unused))

typedef struct {
    void *scratch;          /* 64-byte aligned, contents undefined between ops */
    size_t scratch_cap;     /* bytes */
    size_t scratch_grows;   /* how often it was enlarged */
    int threads;
    /* GEMM convolution tiling (see conv_tiling in cpu_conv.c) */
    size_t conv_tile_n, conv_col_max, conv_col_band;
} tcet_cpu_impl;

/* Scratch of at least `bytes` (NULL only after recording TCET_ERR_NOMEM). */
void *cpu_scratch(tcet_backend *be, size_t bytes);
/* Round a byte count up to the alignment (for carving several regions). */
static inline size_t cpu_align_up(size_t b) { return (b + TCET_CPU_ALIGN - 1) & ~(size_t)(TCET_CPU_ALIGN - 1); }

/* 0; TCET_ERR_BACKEND for TCET_F16 (the CPU backend has no fp16);
 * TCET_ERR_USAGE for any other dtype than TCET_F32 / TCET_F64.  Every op
 * that takes a dtype calls it first. */
int cpu_check_dtype(int dt);
/* 0, or TCET_ERR_USAGE when the descriptor is inconsistent. */
int cpu_check_conv(const tcet_conv_desc *d);

/* ops (kernels/cpu/cpu_conv.c, cpu_bn.c, cpu_ops.c, cpu_proxy.c) */
int cpu_conv_fwd(tcet_backend *be, int dt, const tcet_conv_desc *d,
                 const void *x, const void *w, const void *bias, void *y);
int cpu_conv_bwd_data(tcet_backend *be, int dt, const tcet_conv_desc *d,
                      const void *w, const void *dy, void *dx);
int cpu_conv_bwd_filter(tcet_backend *be, int dt, const tcet_conv_desc *d,
                        const void *x, const void *dy, void *dw, void *dbias);
int cpu_bn_fwd(tcet_backend *be, int dt, int train, int n, int c, int hw, double eps,
               double momentum, const void *x, const void *gamma, const void *beta,
               void *running_mean, void *running_var, int update_running,
               void *y, void *save_mean, void *save_invstd);
int cpu_bn_bwd(tcet_backend *be, int dt, int n, int c, int hw, const void *x,
               const void *dy, const void *gamma, const void *save_mean,
               const void *save_invstd, void *dx, void *dgamma, void *dbeta);
int cpu_bn_relu_fwd(tcet_backend *be, int dt, int train, int n, int c, int hw, double eps,
                    double momentum, const void *x, const void *gamma, const void *beta,
                    void *running_mean, void *running_var, int update_running,
                    void *y, void *y_relu, void *save_mean, void *save_invstd);
int cpu_bn_relu_bwd(tcet_backend *be, int dt, int n, int c, int hw, const void *x,
                    const void *dy, const void *gamma, const void *beta, const void *save_mean,
                    const void *save_invstd, void *dx, void *dgamma, void *dbeta);
int cpu_relu_fwd(tcet_backend *be, int dt, size_t count, const void *x, void *y);
int cpu_relu_bwd(tcet_backend *be, int dt, size_t count, const void *y, const void *dy, void *dx);
int cpu_add(tcet_backend *be, int dt, size_t count, const void *a, const void *b, void *y);
int cpu_gap_fwd(tcet_backend *be, int dt, int n, int c, int hw, const void *x, void *y);
int cpu_gap_bwd(tcet_backend *be, int dt, int n, int c, int hw, const void *dy, void *dx);
int cpu_linear_fwd(tcet_backend *be, int dt, int n, int in, int out,
                   const void *x, const void *w, const void *b, void *y);
int cpu_linear_bwd(tcet_backend *be, int dt, int n, int in, int out, const void *x,
                   const void *w, const void *dy, void *dx, void *dw, void *db);
int cpu_softmax_xent(tcet_backend *be, int n, int classes, const float *logits,
                     const int32_t *labels, double *loss, float *dlogits);
int cpu_gram_codes(tcet_backend *be, int n, size_t d, const float *x,
                   double *K_host, int64_t *positives_host);
int cpu_saliency_stats(tcet_backend *be, int dt, size_t count, const void *w,
                       const void *g, double *sum, double *std);

#endif
