/* CPU-backend specifics beyond kernels/backend.h, for tests and benchmarks.
 * One backend instance holds one scratch arena: use it from one thread at a
 * time (one backend per worker rank / thread). */
#ifndef TCET_BACKEND_CPU_H
#define TCET_BACKEND_CPU_H

#include <stddef.h>

#include "kernels/backend.h"

/* Bytes currently held by the backend's grow-only scratch arena, and how many
 * times it was enlarged: both stop changing once the largest shape was seen. */
size_t tcet_cpu_scratch_capacity(const tcet_backend *be);
size_t tcet_cpu_scratch_grows(const tcet_backend *be);

/* Tiling of the GEMM convolutions (0 keeps the default): tile_n = GEMM
 * columns aimed for when several small images share one GEMM (256);
 * col_max = bytes of the im2col buffer allowed for such a tile (4 MiB);
 * col_band = bytes of im2col per band of output rows when one image's im2col
 * exceeds it (2 MiB).  For tests (forcing every path with small shapes) and
 * tuning; results do not depend on it beyond rounding. */
void tcet_cpu_set_conv_tiling(tcet_backend *be, size_t tile_n, size_t col_max, size_t col_band);

/* ---- instruction-set paths (runtime CPU dispatch) ------------------------
 * The op kernels exist once per instruction-set path; a backend runs one of
 * them, chosen when it is created: the best one the CPU supports, or the one
 * named by the environment variable TCET_CPU_ISA (generic, avx2, avx512,
 * avx512-vpopcntdq, or auto).  All paths compute bit-identical results.
 * OpenBLAS picks its own GEMM kernels by the CPU (OPENBLAS_CORETYPE forces
 * one in its DYNAMIC_ARCH builds). */
typedef enum {
    TCET_CPU_ISA_GENERIC = 0,      /* plain C for the baseline target (x86-64: SSE2) */
    TCET_CPU_ISA_AVX2 = 1,         /* AVX2 + FMA + BMI2 + POPCNT */
    TCET_CPU_ISA_AVX512 = 2,       /* AVX-512 F/BW/DQ/VL/CD on top of AVX2 */
    TCET_CPU_ISA_AVX512_VP = 3,    /* AVX-512 with VPOPCNTDQ (the Gram's popcount) */
    TCET_CPU_ISA_COUNT = 4
} tcet_cpu_isa;

/* "generic", "avx2", "avx512", "avx512-vpopcntdq" */
const char *tcet_cpu_isa_name(int isa);
/* 1 when the path is compiled into this binary and the CPU (and OS) support it */
int tcet_cpu_isa_supported(int isa);
/* The path a new CPU backend runs: TCET_CPU_ISA when set (and not "auto"),
 * else the best supported one.  0; TCET_ERR_USAGE for an unknown name;
 * TCET_ERR_BACKEND when the CPU lacks the forced path (message recorded). */
int tcet_cpu_isa_select(int *isa);
/* A CPU backend on a given path (tests, benchmarks); NULL, with
 * TCET_ERR_BACKEND recorded, when the CPU lacks it. */
tcet_backend *tcet_backend_cpu_create_isa(int threads, int isa);
/* The path a CPU backend runs. */
int tcet_cpu_isa_of(const tcet_backend *be);
/* One line for --version and bench: "avx2 (CPU has: avx2 fma; built: generic
 * avx2 avx512 avx512-vpopcntdq)". */
void tcet_cpu_isa_describe(char *buf, size_t size);
/* Which engine runs each convolution (docs/performance.md):
 * AUTO (default) = the direct float32 kernels (cpu_direct.h; avx2 and avx512
 * paths) where their shapes allow (forward and data gradient of stride-1
 * "same" convs, stride-2 forwards, weight gradients of stride-1 convs on
 * planes of >= 128 positions), oneDNN (when tcet is built with it) for the
 * other weight gradients of k x k convs (k >= 3, >= 16 input channels) and of
 * stride-1 1x1 convs on planes of 8x8 or more, im2col + OpenBLAS for the
 * rest; ONEDNN = oneDNN for the forward, data and weight gradients of those
 * k x k convs, the direct kernels where oneDNN does not apply; IM2COL =
 * im2col + OpenBLAS alone, the reference path, which reproduces the official
 * code's per-layer values closest (the golden tests that compare single
 * layers or gradient entries run on it).  The environment variable
 * TCET_CPU_CONV (auto, onednn, im2col) sets it for new backends. */
typedef enum { TCET_CPU_CONV_AUTO = 0, TCET_CPU_CONV_IM2COL = 1, TCET_CPU_CONV_ONEDNN = 2 } tcet_cpu_conv_engine;
void tcet_cpu_set_conv_engine(tcet_backend *be, int engine);
/* 1 when this backend runs some convolutions in oneDNN; how many it ran */
int tcet_cpu_uses_dnnl(const tcet_backend *be);
size_t tcet_cpu_dnnl_calls(const tcet_backend *be);
/* How many convolutions this backend ran in the direct kernels. */
size_t tcet_cpu_direct_calls(const tcet_backend *be);
/* How many of them streamed their outputs past the caches (outputs of 8 MiB
 * or more, docs/performance.md#streaming-stores). */
size_t tcet_cpu_direct_stream_calls(const tcet_backend *be);

/* OpenBLAS's GEMM kernels.  Its DYNAMIC_ARCH builds pick them from the CPU's
 * family and model when the library loads, and a CPU newer than the library
 * (Debian 12's 0.3.21 on Emerald Rapids, family 6 model 207) falls back to
 * "Prescott", SSE3 kernels several times slower than the AVX2/AVX-512 ones the
 * CPU runs (docs/performance.md#openblas-kernels).  tcet_cpu_blas_core_want:
 * the core to force instead (OPENBLAS_CORETYPE, which OpenBLAS reads only at
 * load time: the caller runs the program again with it set), "SkylakeX" or
 * "Haswell", or NULL when OpenBLAS's choice stands: a core of the CPU's
 * class, no DYNAMIC_ARCH build, or OPENBLAS_CORETYPE already set (the user's
 * choice, or the second run). */
const char *tcet_cpu_blas_core_want(void);
/* The decision itself, from its inputs (OPENBLAS_CORETYPE, openblas_get_config,
 * openblas_get_corename, the CPU's AVX2 and AVX-512), for the unit test. */
const char *tcet_cpu_blas_core_choose(const char *user_coretype, const char *blas_config, const char *blas_core,
                                      int has_avx2, int has_avx512);
/* The core OpenBLAS runs, and which it had picked when tcet forced it:
 * "SkylakeX (forced by tcet: OpenBLAS picked Prescott for this CPU)". */
void tcet_cpu_blas_core_describe(char *buf, size_t size);
/* Record what OpenBLAS had picked before this process was started again with
 * OPENBLAS_CORETYPE (the cli passes it from the first run). */
void tcet_cpu_blas_core_note_forced(const char *picked);

/* The CPU's model name (cpuid brand string; "unknown" elsewhere). */
void tcet_cpu_model(char *buf, size_t size);

#endif
