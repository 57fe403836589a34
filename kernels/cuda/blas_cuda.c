/* cuBLAS paths: linear layer forward/backward and the NASWOT Gram of sign codes.
 * The linear forward also runs in fp16 (eval-mode latency forward):
 * cublasGemmEx with half A, B, C and CUBLAS_COMPUTE_32F (float accumulation
 * and float alpha/beta, as PyTorch's half GEMM); the handle's default math
 * mode lets cuBLAS use tensor cores for it.
 *
 * Row-major trick: a row-major [r, c] matrix is the column-major [c, r]
 * matrix with the same leading dimension c, so row-major Y = X Wᵀ becomes the
 * column-major Yᵀ = W Xᵀ and needs no transposition copies. */
#include "kernels/cuda/cuda_internal.h"

#include "kernels/cuda/cuda_kernels.h"

/* C = alpha op(A) op(B) + beta C in column-major, float, double or half
 * (half: float compute, alpha and beta are floats for CUBLAS_COMPUTE_32F). */
static int gemm(tcet_cuda *cu, int dt, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                int k, const void *A, int lda, const void *B, int ldb, double beta, void *C, int ldc)
{
    if (dt == TCET_F16) {
        const float one = 1.0f, b = (float)beta;
        CHECK_CUBLAS(cublasGemmEx(cu->cublas, ta, tb, m, n, k, &one, A, CUDA_R_16F, lda, B,
                                  CUDA_R_16F, ldb, &b, C, CUDA_R_16F, ldc, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT));
    } else if (dt == TCET_F64) {
        const double one = 1.0, b = beta;
        CHECK_CUBLAS(cublasDgemm(cu->cublas, ta, tb, m, n, k, &one, (const double *)A, lda,
                                 (const double *)B, ldb, &b, (double *)C, ldc));
    } else {
        const float one = 1.0f, b = (float)beta;
        CHECK_CUBLAS(cublasSgemm(cu->cublas, ta, tb, m, n, k, &one, (const float *)A, lda,
                                 (const float *)B, ldb, &b, (float *)C, ldc));
    }
    return 0;
}

int tcet_cuda_linear_fwd(tcet_backend *be, int dt, int n, int in, int out, const void *x,
                         const void *w, const void *b, void *y)
{
    tcet_cuda *cu = tcet_cuda_of(be);
    TCET_TRY(tcet_cuda_check_dtype(dt, 1, "linear_fwd"));
    if (n <= 0 || in <= 0 || out <= 0)
        return TCET_FAIL(TCET_ERR_USAGE, "bad linear shape n=%d in=%d out=%d", n, in, out);
    /* y := bias rows, then y += x wᵀ (beta = 1): one GEMM, no separate add. */
    if (b) CHECK_CUDA(tcet_cuk_fill_rows(cu->stream, dt, n, out, b, y));
    /* yᵀ[out, n] = w_cm[in, out]ᵀ · xᵀ_cm[in, n] */
    TCET_TRY(gemm(cu, dt, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, w, in, x, in, b ? 1.0 : 0.0, y, out));
    return 0;
}

int tcet_cuda_linear_bwd(tcet_backend *be, int dt, int n, int in, int out, const void *x,
                         const void *w, const void *dy, void *dx, void *dw, void *db)
{
    tcet_cuda *cu = tcet_cuda_of(be);
    TCET_TRY(tcet_cuda_check_dtype(dt, 0, "linear_bwd"));
    if (n <= 0 || in <= 0 || out <= 0)
        return TCET_FAIL(TCET_ERR_USAGE, "bad linear shape n=%d in=%d out=%d", n, in, out);
    /* dx[n, in] = dy[n, out] w[out, in]:  dxᵀ_cm[in, n] = w_cm[in, out] · dyᵀ_cm[out, n] */
    if (dx) TCET_TRY(gemm(cu, dt, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, w, in, dy, out, 0.0, dx, in));
    /* dw[out, in] = dyᵀ x:  dw_cm[in, out] = xᵀ_cm[in, n] · (dyᵀ_cm[out, n])ᵀ */
    if (dw) TCET_TRY(gemm(cu, dt, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, x, in, dy, out, 0.0, dw, in));
    if (db) CHECK_CUDA(tcet_cuk_col_sum(cu->stream, dt, n, out, dy, db));
    return 0;
}

/* Columns per Gram chunk: FP32 sums of 0/1 products stay exact up to 2^24,
 * and the codes buffer stays below ~128 MiB. */
static size_t gram_chunk(int n, size_t d)
{
    size_t cd = (size_t)1 << 24;
    size_t mem_cap = ((size_t)32 << 20) / (size_t)n;   /* 32 Mi floats */
    if (mem_cap < 1) mem_cap = 1;
    if (cd > mem_cap) cd = mem_cap;
    return cd < d ? cd : d;
}

/* K_ij = #agreeing sign codes = 2 G_ij + d − p_i − p_j with G = C Cᵀ (C the
 * 0/1 codes) and p_i = G_ii.  The GEMM is exact: FP32 with CUBLAS_DEFAULT_MATH
 * (no TF32 on this handle unless TF32 was asked for, and 0/1 are exact in TF32
 * too) and integer partial sums below 2^24 per chunk; chunks add on the host
 * in double. */
int tcet_cuda_gram_codes(tcet_backend *be, int n, size_t d, const float *x, double *K_host,
                         int64_t *positives_host)
{
    tcet_cuda *cu = tcet_cuda_of(be);
    if (n <= 0 || d == 0) return TCET_FAIL(TCET_ERR_USAGE, "gram_codes: n=%d d=%zu", n, d);
    if (d > (size_t)0x7fffffff)
        return TCET_FAIL(TCET_ERR_USAGE, "gram_codes: d=%zu exceeds the cuBLAS int range", d);
    const size_t cd_max = gram_chunk(n, d);
    const size_t nn = (size_t)n * (size_t)n;
    void *scratch;
    TCET_TRY(tcet_cuda_scratch(cu, (cd_max * (size_t)n + nn) * sizeof(float), &scratch));
    float *codes = scratch;
    float *G = codes + cd_max * (size_t)n;
    float *Gh = tcet_cuda_host_scratch(cu, nn * sizeof(float));
    for (size_t i = 0; i < nn; i++) K_host[i] = 0.0;   /* accumulates G over chunks */
    for (size_t c0 = 0; c0 < d; c0 += cd_max) {
        size_t cd = d - c0 < cd_max ? d - c0 : cd_max;
        CHECK_CUDA(tcet_cuk_sign_codes(cu->stream, n, d, c0, cd, x, codes));
        /* codes is row-major [n, cd] = column-major A[cd, n]; G = Aᵀ A. */
        TCET_TRY(gemm(cu, TCET_F32, CUBLAS_OP_T, CUBLAS_OP_N, n, n, (int)cd, codes, (int)cd, codes,
                      (int)cd, 0.0, G, n));
        CHECK_CUDA(cudaMemcpyAsync(Gh, G, nn * sizeof(float), cudaMemcpyDeviceToHost, cu->stream));
        TCET_TRY(tcet_cuda_stream_sync(cu));
        for (size_t i = 0; i < nn; i++) K_host[i] += (double)Gh[i];
    }
    for (int i = 0; i < n; i++) positives_host[i] = (int64_t)K_host[(size_t)i * n + i];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double g = K_host[(size_t)i * n + j];
            K_host[(size_t)i * n + j] =
                2.0 * g + (double)d - (double)positives_host[i] - (double)positives_host[j];
        }
    return 0;
}
