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
#include "kernels/cpu/backend_cpu.h"

#define TCET_CPU_ALIGN 64

/* Keeps a small hot loop out of its caller: GCC 12 vectorises some mixed
 * float/double reductions only when it compiles them on their own. */
#define CPU_NOINLINE __attribute__((noinline, unused))

struct tcet_cpu_kernels_tag;
typedef struct cpu_dnnl_state cpu_dnnl_state;

typedef struct {
    void *scratch;          /* 64-byte aligned, contents undefined between ops */
    size_t scratch_cap;     /* bytes */
    size_t scratch_grows;   /* how often it was enlarged */
    int threads;
    int isa;                /* tcet_cpu_isa of the kernels in use */
    const struct tcet_cpu_kernels_tag *k;  /* that path's op table */
    int conv_engine;        /* tcet_cpu_conv_engine: which convs go to oneDNN */
    cpu_dnnl_state *dnnl;   /* oneDNN engine, stream and primitives (NULL: not used) */
    size_t dnnl_calls;      /* convolutions run in oneDNN so far */
    size_t direct_calls;    /* convolutions run in the direct kernels (cpu_direct.h) so far */
    size_t direct_stream_calls; /* those of them that streamed their outputs (direct_stream) */
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

/* oneDNN convolutions (cpu_dnnl.c; stubs when built without oneDNN).
 * create: c->dnnl for the avx2 / avx512 paths (NULL for generic); 0 or an
 * error.  wanted: whether conv op (0 fwd, 1 bwd data, 2 bwd filter) of this
 * shape goes to oneDNN.  conv: runs it, *done = 0 when oneDNN offers no JIT
 * kernel for the shape (the caller then runs im2col).  Roles: fwd (a = x,
 * b = y, w = w), bwd data (a = dy, b = dx, w = w), bwd filter (a = x, b = dy,
 * w = dw). */
int cpu_dnnl_create(tcet_cpu_impl *c);
void cpu_dnnl_destroy(tcet_cpu_impl *c);
int cpu_dnnl_wanted(const tcet_cpu_impl *c, int dt, int op, const tcet_conv_desc *d, int has_bias);
int cpu_dnnl_conv(tcet_backend *be, int op, const tcet_conv_desc *d, const void *a, const void *b, const void *w,
                  int *done);

/* ---- kernel variants (runtime CPU dispatch) -------------------------------
 * The op kernels (cpu_conv.c, cpu_bn.c, cpu_ops.c, cpu_proxy.c and
 * cpu_kernels.c) are compiled once per instruction-set variant, each time
 * with its own compiler flags and TCET_CPU_VARIANT set to the variant's name
 * (generic, avx2, avx512; see CMakeLists.txt).  CPU_K(name) gives every entry
 * point that variant's suffix, and each variant exports one table of its ops
 * (cpu_kernels.c); backend_cpu.c, built for the baseline x86-64, picks the
 * table the CPU supports at run time.  The variants are the same C code, and
 * ISO C mode keeps the compiler from contracting a * b + c into an FMA, so
 * every variant computes bit-identical results (tests/unit/test_cpu_isa.c). */
#ifndef TCET_CPU_VARIANT
#define TCET_CPU_VARIANT generic
#endif
#define CPU_K_CAT2(a, b) a##_##b
#define CPU_K_CAT(a, b) CPU_K_CAT2(a, b)
#define CPU_K(name) CPU_K_CAT(name, TCET_CPU_VARIANT)

typedef struct tcet_cpu_kernels_tag {
    tcet_op_conv_fwd_fn *conv_fwd;
    tcet_op_conv_bwd_data_fn *conv_bwd_data;
    tcet_op_conv_bwd_filter_fn *conv_bwd_filter;
    tcet_op_bn_fwd_fn *bn_fwd;
    tcet_op_bn_bwd_fn *bn_bwd;
    tcet_op_bn_relu_fwd_fn *bn_relu_fwd;
    tcet_op_bn_relu_bwd_fn *bn_relu_bwd;
    tcet_op_relu_fwd_fn *relu_fwd;
    tcet_op_relu_bwd_fn *relu_bwd;
    tcet_op_add_fn *add;
    tcet_op_gap_fwd_fn *gap_fwd;
    tcet_op_gap_bwd_fn *gap_bwd;
    tcet_op_linear_fwd_fn *linear_fwd;
    tcet_op_linear_bwd_fn *linear_bwd;
    tcet_op_softmax_xent_fn *softmax_xent;
    tcet_op_gram_codes_fn *gram_codes;
    tcet_op_saliency_stats_fn *saliency_stats;
    /* 1 when this path runs op (0 fwd, 1 bwd data, 2 bwd filter) of d in its
     * direct kernels (cpu_direct.h; never on the generic path) */
    int (*conv_direct_ok)(const tcet_backend *be, int dt, int op, const tcet_conv_desc *d);
    /* the fused eval conv + BN + ReLU of the direct kernels; *done = 0 when
     * this conv does not run there (the caller composes the two ops) */
    tcet_op_conv_bn_relu_eval_fn *conv_bn_relu_eval;
    tcet_op_gram_bits_fn *gram_bits;
} tcet_cpu_kernels;

/* The tables: generic (any x86-64 or other CPU), avx2 (AVX2 + FMA + BMI2 +
 * POPCNT), avx512 (AVX-512 F/BW/DQ/VL on top) and avx512_vp (the avx512
 * kernels with the AVX-512 VPOPCNTDQ popcount in the Gram). */
extern const tcet_cpu_kernels tcet_cpu_kernels_generic;
#if TCET_CPU_MULTI_ISA
extern const tcet_cpu_kernels tcet_cpu_kernels_avx2;
extern const tcet_cpu_kernels tcet_cpu_kernels_avx512;
extern const tcet_cpu_kernels tcet_cpu_kernels_avx512_vp;
#endif

/* ops of the variant being compiled (kernels/cpu/cpu_conv.c, cpu_bn.c,
 * cpu_ops.c, cpu_proxy.c) */
tcet_op_conv_fwd_fn CPU_K(cpu_conv_fwd);
tcet_op_conv_bwd_data_fn CPU_K(cpu_conv_bwd_data);
int CPU_K(cpu_conv_direct_ok)(const tcet_backend *be, int dt, int op, const tcet_conv_desc *d);
tcet_op_conv_bn_relu_eval_fn CPU_K(cpu_conv_bn_relu_eval);
tcet_op_gram_bits_fn CPU_K(cpu_gram_bits);
tcet_op_conv_bwd_filter_fn CPU_K(cpu_conv_bwd_filter);
tcet_op_bn_fwd_fn CPU_K(cpu_bn_fwd);
tcet_op_bn_bwd_fn CPU_K(cpu_bn_bwd);
tcet_op_bn_relu_fwd_fn CPU_K(cpu_bn_relu_fwd);
tcet_op_bn_relu_bwd_fn CPU_K(cpu_bn_relu_bwd);
tcet_op_relu_fwd_fn CPU_K(cpu_relu_fwd);
tcet_op_relu_bwd_fn CPU_K(cpu_relu_bwd);
tcet_op_add_fn CPU_K(cpu_add);
tcet_op_gap_fwd_fn CPU_K(cpu_gap_fwd);
tcet_op_gap_bwd_fn CPU_K(cpu_gap_bwd);
tcet_op_linear_fwd_fn CPU_K(cpu_linear_fwd);
tcet_op_linear_bwd_fn CPU_K(cpu_linear_bwd);
tcet_op_softmax_xent_fn CPU_K(cpu_softmax_xent);
tcet_op_gram_codes_fn CPU_K(cpu_gram_codes);
tcet_op_saliency_stats_fn CPU_K(cpu_saliency_stats);
#if TCET_CPU_VARIANT_AVX512
/* the avx512 variant's Gram with the VPOPCNTDQ popcount */
tcet_op_gram_codes_fn cpu_gram_codes_avx512_vp;
#endif

#endif
