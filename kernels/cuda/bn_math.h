/* Batch-norm arithmetic shared by the CUDA kernels (kernels.cu) and host C
 * (tests/unit/test_cuda_bn_math.c, which checks it bit for bit against the
 * CPU backend on every build, GPU or not).
 *
 * Every function here is the CPU backend's batch norm (kernels/cpu/
 * cpu_bn_tmpl.h, itself PyTorch 1.13's CPU kernel op for op) written with
 * explicitly rounded operations:
 *   mean     = T(Σ double(x) / m)
 *   var_sum  = T(Σ double(T(T(x - mean)²)))
 *   invstd   = T(1 / sqrt(double(var_sum / T(m)) + eps))         (train)
 *            = T(1) / T(sqrt(double(rv + T(eps))))               (eval)
 *   alpha    = T(invstd γ),  shift = T(β − T(mean alpha))
 *   y        = T(T(x alpha) + shift)                              (no fma)
 *   running  = T(momentum·batch + (1 − momentum)·running), unbiased var T(var_sum / T(m − 1))
 *   backward: sdy = Σ double(g), sdyx = Σ double(g)·(double(x) − mean),
 *             dβ = T(sdy), dγ = T(sdyx invstd), a = T(γ invstd), mdy = T(sdy / m),
 *             kx = T(sdyx invstd invstd / m), dx = T(T(T(g − mdy) − T(T(x − mean) kx)) a)
 *   fused ReLU: relu(v) = v < 0 ? 0 : v; its backward mask bn(x) > 0 is
 *             recomputed with the same bn_affine / bn_apply, so it equals the
 *             forward's y > 0 on every element.
 *
 * Rounding: on the device every operation is an _rn intrinsic (__fmul_rn,
 * __dadd_rn, ...), which nvcc never contracts into an fma (plain a * b + c
 * would be: nvcc's default is --fmad=true).  In host C they are the plain
 * operators; C17 (CMAKE_C_EXTENSIONS OFF, -std=c17) makes GCC default to
 * -ffp-contract=off, the mode the CPU backend is compiled in too, and the
 * unit test checks at run time that bn_apply is not contracted.  Double
 * sqrt and division are correctly rounded on both sides (IEEE 754), and a
 * double -> float conversion rounds to nearest on both.
 *
 * Summation order (what may differ from the CPU backend, and why it does not
 * matter in practice).  The CUDA kernels add the per-element terms in a
 * different association than the CPU (see "split reduction" below).  A sum of
 * float32 values in double is EXACT, hence independent of the order, whenever
 * every partial sum is a multiple of the smallest term's ulp that fits in 53
 * bits; sufficient: Σ|x| < 2^(e_min + 30) where 2^e_min <= the smallest
 * nonzero |x|, e.g. all exponents within 29 − log2(m) of each other.  Then
 * mean, var_sum (whose terms are float32 too), dβ are bit-identical to the
 * CPU's.  Otherwise (large exponent spread, and always for the dγ/dx sum,
 * whose terms are double products, and for float64 tensors) the two double
 * sums can differ in their last bits (~1e-16 relative); a float32 result
 * rounded from them differs only when the double sum lies within that error
 * of a float32 rounding boundary: about 2^-20 per channel and sum.  float64
 * results are then equal up to ~1e-16 relative.
 *
 * Split reduction (the order the kernels use, emulated by the unit test):
 * channel ch of an NCHW tensor has m = n·hw elements, element e = i·hw + j
 * (image i, pixel j) at ((i·c + ch)·hw + j).  Block (ch, b), b < S =
 * tcet_bn_split(n, hw), thread t < TCET_BN_THREADS, adds the terms of
 * e = b·TCET_BN_THREADS + t + k·S·TCET_BN_THREADS, k = 0, 1, ... in order into
 * a double starting at 0; the block's TCET_BN_THREADS sums are added by a
 * fixed tree (for s = TCET_BN_THREADS / 2, ..., 1: v[t] += v[t + s] for
 * t < s; the result is v[0]) into part[ch·S + b]; then tcet_bn_combine adds
 * part[ch·S + 0 .. S − 1] in order.  S depends on the shape only, never on
 * the device, so results are identical run to run and GPU to GPU. */
#ifndef TCET_BN_MATH_H
#define TCET_BN_MATH_H

#include <math.h>
#include <stddef.h>

#ifdef __CUDACC__
#define TCET_BNM_FN static __host__ __device__ __forceinline__
#else
#define TCET_BNM_FN static inline
#endif

/* ---- explicitly rounded operations -------------------------------------- */
#if defined(__CUDA_ARCH__)
#define BNM_FMUL(a, b) __fmul_rn((a), (b))
#define BNM_FADD(a, b) __fadd_rn((a), (b))
#define BNM_FSUB(a, b) __fsub_rn((a), (b))
#define BNM_FDIV(a, b) __fdiv_rn((a), (b))
#define BNM_DMUL(a, b) __dmul_rn((a), (b))
#define BNM_DADD(a, b) __dadd_rn((a), (b))
#define BNM_DSUB(a, b) __dsub_rn((a), (b))
#define BNM_DDIV(a, b) __ddiv_rn((a), (b))
#define BNM_DSQRT(a) __dsqrt_rn(a)
#define BNM_D2F(a) __double2float_rn(a)
#else
/* host: one IEEE operation each (no contraction in C17 mode, see above) */
#define BNM_FMUL(a, b) ((float)(a) * (float)(b))
#define BNM_FADD(a, b) ((float)(a) + (float)(b))
#define BNM_FSUB(a, b) ((float)(a) - (float)(b))
#define BNM_FDIV(a, b) ((float)(a) / (float)(b))
#define BNM_DMUL(a, b) ((double)(a) * (double)(b))
#define BNM_DADD(a, b) ((double)(a) + (double)(b))
#define BNM_DSUB(a, b) ((double)(a) - (double)(b))
#define BNM_DDIV(a, b) ((double)(a) / (double)(b))
#define BNM_DSQRT(a) sqrt(a)
#define BNM_D2F(a) ((float)(a))
#endif

/* ---- split reduction ------------------------------------------------------ */
#define TCET_BN_THREADS 256        /* block size of the reduction kernels = the tree above */
#define TCET_BN_MIN_PER_THREAD 8   /* S keeps at least this many elements per thread */
#define TCET_BN_MAX_SPLIT 64       /* blocks per channel at most (gridDim.y) */

/* Blocks per channel S for a channel of n·hw elements (shape only). */
TCET_BNM_FN int tcet_bn_split(int n, int hw)
{
    const size_t m = (size_t)n * (size_t)hw;
    const size_t per_block = (size_t)TCET_BN_THREADS * TCET_BN_MIN_PER_THREAD;
    size_t s = (m + per_block - 1) / per_block;
    if (s < 1) s = 1;
    return s > TCET_BN_MAX_SPLIT ? TCET_BN_MAX_SPLIT : (int)s;
}

/* Device scratch of the BN and channel-sum launchers: two partial arrays of
 * c·S doubles, then 6 per-channel values (coefficients, stored as T). */
TCET_BNM_FN size_t tcet_bn_scratch_bytes(int n, int c, int hw)
{
    return sizeof(double) * ((size_t)2 * (size_t)c * (size_t)tcet_bn_split(n, hw) + (size_t)6 * (size_t)c);
}

/* Σ part[0 .. S-1] in order, from 0 (the per-channel combine). */
TCET_BNM_FN double tcet_bn_combine(const double *part, int S)
{
    double s = 0.0;
    for (int b = 0; b < S; b++) s = BNM_DADD(s, part[b]);
    return s;
}

#ifdef __cplusplus
/* tcet_bnm<T>::name(...) forwards to tcet_name_f32 / _f64 (for templates). */
template <typename T> struct tcet_bnm;
#endif

/* ---- the per-type functions: tcet_bn_*_f32 and tcet_bn_*_f64 -------------- */
#define BNM_T float
#define BNM_S(name) tcet_##name##_f32
#define BNM_MUL BNM_FMUL
#define BNM_ADD BNM_FADD
#define BNM_SUB BNM_FSUB
#define BNM_DIV BNM_FDIV
#define BNM_D2T BNM_D2F
#include "kernels/cuda/bn_math_tmpl.h"

#define BNM_T double
#define BNM_S(name) tcet_##name##_f64
#define BNM_MUL BNM_DMUL
#define BNM_ADD BNM_DADD
#define BNM_SUB BNM_DSUB
#define BNM_DIV BNM_DDIV
#define BNM_D2T(a) (a)
#include "kernels/cuda/bn_math_tmpl.h"

#endif
