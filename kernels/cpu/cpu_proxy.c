/* Loss and NASWOT kernels on the CPU: softmax cross-entropy (float32 logits)
 * and the Gram matrix of activation sign codes. */
#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "common/error.h"
#include "kernels/cpu/cpu_internal.h"

int cpu_softmax_xent(tcet_backend *be, int n, int classes, const float *logits,
                     const int32_t *labels, double *loss, float *dlogits)
{
    if (n < 1 || classes < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "CPU backend: invalid softmax shape %d x %d", n, classes);
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return TCET_FAIL(TCET_ERR_DATA, "label %d of sample %d is outside 0..%d", (int)labels[i], i,
                             classes - 1);
    double total = 0;
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * classes;
        /* log-sum-exp around the row maximum, in double */
        double mx = l[0];
        for (int j = 1; j < classes; j++)
            if (l[j] > mx) mx = l[j];
        double se = 0;
        for (int j = 0; j < classes; j++) se += exp((double)l[j] - mx);
        const double lse = mx + log(se);
        total += lse - (double)l[labels[i]];
        if (!dlogits) continue;
        float *g = dlogits + (size_t)i * classes;
        for (int j = 0; j < classes; j++) {
            double p = exp((double)l[j] - lse) - (j == labels[i] ? 1.0 : 0.0);
            g[j] = (float)(p / n);
        }
    }
    if (loss) *loss = total / n;
    return 0;
}

/* Columns of x per GEMM chunk: codes chunk about 512 KiB. */
static size_t gram_chunk(int n, size_t d)
{
    size_t ch = ((size_t)128 << 10) / (size_t)n;
    ch = ch < 256 ? 256 : ch & ~(size_t)63;
    return ch < d ? ch : d;
}

int cpu_gram_codes(tcet_backend *be, int n, size_t d, const float *x,
                   double *K_host, int64_t *positives_host)
{
    if (n < 1 || d < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "CPU backend: invalid NASWOT shape %d x %zu", n, d);
    const size_t nn = (size_t)n * n, ch = gram_chunk(n, d);
    const size_t codes_b = cpu_align_up(sizeof(float) * (size_t)n * ch), g_b = cpu_align_up(sizeof(float) * nn);
    char *sc = cpu_scratch(be, codes_b + g_b + sizeof(double) * nn);
    if (!sc) return TCET_ERR_NOMEM;
    float *codes = (float *)sc, *G = (float *)(sc + codes_b);
    double *Gd = (double *)(sc + codes_b + g_b);
    memset(Gd, 0, sizeof(double) * nn);
    for (int i = 0; i < n; i++) positives_host[i] = 0;
    for (size_t d0 = 0; d0 < d; d0 += ch) {
        const size_t cw = d - d0 < ch ? d - d0 : ch;
        for (int i = 0; i < n; i++) {
            const float *restrict xr = x + (size_t)i * d + d0;
            float *restrict cr = codes + (size_t)i * cw;
            float pos = 0;
            for (size_t j = 0; j < cw; j++) {
                cr[j] = xr[j] > 0 ? 1.0f : 0.0f;
                pos += cr[j];
            }
            positives_host[i] += (int64_t)pos; /* exact: pos <= cw < 2^24 */
        }
        /* G = codes codes^T on 0/1 values: every partial sum is an integer
         * below 2^24, so float32 is exact; chunks are summed in double so any
         * d stays exact. */
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, (int)cw, 1.0f, codes, (int)cw, 0.0f, G, n);
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++) Gd[(size_t)i * n + j] += G[(size_t)i * n + j];
    }
    /* K_ij = c_i.c_j + (1-c_i).(1-c_j) = 2 G_ij + d - p_i - p_j */
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            double k = 2 * Gd[(size_t)i * n + j] + (double)d - (double)positives_host[i] - (double)positives_host[j];
            K_host[(size_t)i * n + j] = k;
            K_host[(size_t)j * n + i] = k;
        }
    return 0;
}
