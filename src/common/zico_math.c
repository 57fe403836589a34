/* ZiCo arithmetic, float32 exactly as numpy 1.24 does it (see zico_math.h).
 * The project compiles with -std=c17, where GCC does not contract a*b+c into
 * FMAs, so every float operation below rounds as numpy's does. */
#include "common/zico_math.h"

#include <math.h>

#define NP_PW_BLOCKSIZE 128
#define NP_BUFSIZE 8192

float tcet_np_pairwise_sum_f32(const float *a, size_t n)
{
    if (n < 8) {
        float res = 0.f;
        for (size_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= NP_PW_BLOCKSIZE) {
        float r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + (size_t)j];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return tcet_np_pairwise_sum_f32(a, n2) + tcet_np_pairwise_sum_f32(a + n2, n - n2);
}

float tcet_np_sum_f32(const float *a, size_t n)
{
    float acc = 0.f;
    for (size_t off = 0; off < n; off += NP_BUFSIZE) {
        size_t len = n - off < NP_BUFSIZE ? n - off : NP_BUFSIZE;
        acc += tcet_np_pairwise_sum_f32(a + off, len);
    }
    return acc;
}

void tcet_zico_layer_stats(const float *const *rows, int m, size_t numel, tcet_zico_layer *out)
{
    /* The kept ratios are produced in order into one buffer chunk; a full
     * chunk is exactly what numpy's buffered reduction sums pairwise. */
    float chunk[NP_BUFSIZE];
    size_t fill = 0;
    float acc = 0.f;
    int64_t kept = 0;
    const float fm = (float)m;
    for (size_t e = 0; e < numel; e++) {
        /* np.mean(a, 0): row-sequential float32 sum, then / m. */
        float s = 0.f, sa = 0.f;
        for (int b = 0; b < m; b++) {
            s += rows[b][e];
            sa += fabsf(rows[b][e]);
        }
        float mean = s / fm, mean_abs = sa / fm;
        /* np.std(a, 0) = sqrt(Σ (x - mean)^2 / m), each step rounded to float32. */
        float v = 0.f;
        for (int b = 0; b < m; b++) {
            float d = rows[b][e] - mean;
            float d2 = d * d;
            v += d2;
        }
        float sd = sqrtf(v / fm);
        if (sd != 0.f) { /* NaN != 0 holds too, as in numpy */
            chunk[fill++] = mean_abs / sd;
            kept++;
            if (fill == NP_BUFSIZE) {
                acc += tcet_np_pairwise_sum_f32(chunk, fill);
                fill = 0;
            }
        }
    }
    if (fill) acc += tcet_np_pairwise_sum_f32(chunk, fill);
    out->nonzero_std_count = kept;
    out->tmpsum = acc;
    out->skipped = acc == 0.f;
    out->log = out->skipped ? 0.f : logf(acc);
}

double tcet_zico_layer_log_f64(const double *const *rows, int m, size_t numel)
{
    double acc = 0.0;
    for (size_t e = 0; e < numel; e++) {
        double s = 0.0, sa = 0.0, v = 0.0;
        for (int b = 0; b < m; b++) {
            s += rows[b][e];
            sa += fabs(rows[b][e]);
        }
        const double mean = s / m;
        for (int b = 0; b < m; b++) v += (rows[b][e] - mean) * (rows[b][e] - mean);
        const double sd = sqrt(v / m);
        if (sd != 0.0) acc += (sa / m) / sd;
    }
    return acc == 0.0 ? 0.0 : log(acc);
}

double tcet_zico_total(const tcet_zico_layer *layers, int nlayers)
{
    double total = 0.0;
    for (int l = 0; l < nlayers; l++)
        if (!layers[l].skipped) total += (double)layers[l].log;
    return total;
}
