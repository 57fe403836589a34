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

/* Bytes of one block of channels (all images) that the train-mode BN passes
 * keep in L2 between passes (cpu_bn_tmpl.h): half of the 512 KiB L2 of Zen
 * 2/3 cores; Intel server cores have 1-2 MiB. */
#define CPU_BN_BLOCK_BYTES ((size_t)256 << 10)

/* Outputs at least this large are written with streaming stores by the
 * direct convs (cpu_direct.h) and the BN + ReLU forward (cpu_bn_tmpl.h):
 * they would not stay in the caches anyway, and ordinary stores first read
 * every line they write (docs/performance.md#streaming-stores). */
#define CPU_STREAM_MIN_BYTES ((size_t)8 << 20)

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

/* The ops every variant implements with the backend contract's signature
 * (kernels/backend.h), listed once: the kernel table's slots, the variants'
 * declarations, the tables (cpu_kernels.c) and the backend's copies of them
 * (backend_cpu.c) are all generated from these lists.  CPU_CONV_OPS go
 * through backend_cpu.c's oneDNN/direct dispatch, CPU_PLAIN_OPS straight to
 * the backend; gram_codes is apart because the avx512_vp table has its own. */
#define CPU_CONV_OPS(X)                                                                                      \
    X(conv_fwd) X(conv_bwd_data) X(conv_bwd_filter) X(conv_bn_relu_eval) X(conv_pair_eval) X(conv_bn_relu_bwd)      \
    X(bn_relu_conv_train)
#define CPU_PLAIN_OPS(X)                                                                                     \
    X(bn_fwd) X(bn_bwd) X(bn_relu_fwd) X(bn_relu_bwd) X(relu_fwd) X(relu_bwd) X(add) X(gap_fwd) X(gap_bwd)  \
    X(linear_fwd) X(linear_bwd) X(softmax_xent) X(saliency_stats) X(gram_bits)
#define CPU_OP_SLOT(op) tcet_op_##op##_fn *op;

typedef struct tcet_cpu_kernels_tag {
    CPU_CONV_OPS(CPU_OP_SLOT)
    CPU_PLAIN_OPS(CPU_OP_SLOT)
    tcet_op_gram_codes_fn *gram_codes;
    /* 1 when this path runs op (0 fwd, 1 bwd data, 2 bwd filter) of d in its
     * direct kernels (cpu_direct.h; never on the generic path); with
     * conv_bn_relu_eval *done = 0 when a conv does not run there (the caller
     * composes the two ops) */
    int (*conv_direct_ok)(const tcet_backend *be, int dt, int op, const tcet_conv_desc *d);
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
#define CPU_OP_DECL(op) tcet_op_##op##_fn CPU_K(cpu_##op);
CPU_CONV_OPS(CPU_OP_DECL)
CPU_PLAIN_OPS(CPU_OP_DECL)
tcet_op_gram_codes_fn CPU_K(cpu_gram_codes);
int CPU_K(cpu_conv_direct_ok)(const tcet_backend *be, int dt, int op, const tcet_conv_desc *d);
/* the float32 BN backward's two parts (cpu_bn.c), for conv_bn_relu_bwd (cpu_conv.c) */
size_t CPU_K(cpu_bn_bwd_ws_bytes)(int c, int hw);
void CPU_K(cpu_bn_bwd_coefs)(int n, int c, int hw, const float *x, const float *dy, const float *gamma,
                             const float *beta, int relu, const float *save_mean, const float *save_invstd,
                             float *dgamma, float *dbeta, double *ws, float *coef, float *aff);
int CPU_K(cpu_bn_stats_train)(tcet_backend *be, int n, int c, int hw, double eps, double momentum, const float *x,
                              const float *gamma, const float *beta, float *running_mean, float *running_var,
                              int update_running, float *save_mean, float *save_invstd);
void CPU_K(cpu_bn_bwd_affine)(int c, const float *gamma, const float *beta, const float *save_mean,
                              const float *save_invstd, float *aff);
void CPU_K(cpu_bn_bwd_image)(int c, size_t plane, const float *x, const float *dy, int relu, const float *coef,
                             const float *aff, float *dx);
#if TCET_CPU_VARIANT_AVX512
/* the avx512 variant's Gram with the VPOPCNTDQ popcount */
tcet_op_gram_codes_fn cpu_gram_codes_avx512_vp;
#endif

#endif
