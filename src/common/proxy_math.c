/* Host numerics of the proxies: log|det| (numpy slogdet semantics through
 * LAPACK dgetrf, docs/semantics.md#log-determinant), layer-wise NASWOT, and the T-CET aggregation
 * (§6.3) with the alethiometer modes (§6.5). */
#include <math.h>
#include <stdlib.h>

#include <lapacke.h>

#include "common/error.h"
#include "common/proxy_math.h"
#include "common/proxy.h"

int tcet_logabsdet(double *K, int n, float *out, int *branch)
{
    if (n <= 0) {
        *out = 0.0f;
        if (branch) *branch = 0;
        return 0;
    }
    lapack_int *ipiv = xmalloc((size_t)n * sizeof *ipiv);
    /* K is symmetric here, so column-major = row-major: no transposing copy.
     * (numpy passes the matrix to dgetrf in Fortran order, i.e. the same.) */
    lapack_int info = LAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, K, n, ipiv);
    if (info < 0) {
        free(ipiv);
        return TCET_FAIL(TCET_ERR_BACKEND, "LAPACKE_dgetrf: illegal argument %d", (int)-info);
    }
    if (info > 0) {
        /* an exactly zero pivot: numpy returns sign 0, logdet -inf ⇒ a_ℓ = 0 */
        free(ipiv);
        *out = 0.0f;
        if (branch) *branch = 2;
        return 0;
    }
    int neg = 0;
    double acc = 0.0;
    for (int i = 0; i < n; i++) {
        if (ipiv[i] != i + 1) neg ^= 1;
        double d = K[(size_t)i * (size_t)n + (size_t)i];
        if (d < 0) {
            neg ^= 1;
            d = -d;
        }
        acc += log(d);   /* numpy accumulates log|u_ii| in order, in double */
    }
    free(ipiv);
    *out = (float)acc;
    if (branch) *branch = neg ? 3 : 0;
    return 0;
}

int tcet_naswot_layer(double *K, int n, const int64_t *positives, float *out, int *branch)
{
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += positives[i];
    if (total == 0) {
        *out = 0.0f;
        if (branch) *branch = 1;
        return 0;
    }
    return tcet_logabsdet(K, n, out, branch);
}

void tcet_layer_ratio_log(double sum, double std, int single, double *ratio, double *log_t)
{
    if (single) {
        float s = (float)sum, sd = (float)std;
        float r = (sd == 0.0f) ? s : s / sd;
        *ratio = r;
        *log_t = (r != 0.0f) ? (double)logf(r) : (double)r;
    } else {
        double r = (std == 0.0) ? sum : sum / std;
        *ratio = r;
        *log_t = (r != 0.0) ? log(r) : r;
    }
}

/* numpy's pairwise summation (np.add.reduce on a contiguous array). */
static float pairwise_f32(const float *a, size_t n)
{
    if (n < 8) {
        float res = 0.0f;   /* numpy starts from -0.0 then adds; same for non-empty */
        for (size_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        float r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_f32(a, n2) + pairwise_f32(a + n2, n - n2);
}

static double pairwise_f64(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.0;
        for (size_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_f64(a, n2) + pairwise_f64(a + n2, n - n2);
}

static double finite_or_zero(double v) { return isfinite(v) ? v : 0.0; }

double tcet_tcet_aggregate(int mode, int single, int L, const double *sum, const double *std,
                           const double *naswot, double *ratio_out, double *log_out,
                           double *term_out)
{
    if (L <= 0) return 0.0;
    double *t = xmalloc((size_t)L * 3 * sizeof(double));
    double *lg = t + L, *term = t + 2 * L;
    if (mode == TCET_MODE_LOG) {
        for (int l = 0; l < L; l++) {
            tcet_layer_ratio_log(sum[l], std[l], single, &t[l], &lg[l]);
            if (single) term[l] = (double)((float)lg[l] * (float)naswot[l]);
            else term[l] = lg[l] * naswot[l];
        }
    } else {
        /* alethiometer: NaN σ ⇒ 0 ⇒ t = Σv; t = Σv/σ otherwise */
        for (int l = 0; l < L; l++) {
            double sd = isnan(std[l]) ? 0.0 : std[l];
            t[l] = sd == 0.0 ? sum[l] : sum[l] / sd;
        }
        double norm = 1.0;
        if (mode == TCET_MODE_NORM) {
            double mean = 0.0, var = 0.0;
            for (int l = 0; l < L; l++) mean += t[l];
            mean /= L;
            for (int l = 0; l < L; l++) var += (t[l] - mean) * (t[l] - mean);
            var /= L;
            if (sqrt(var) > 0) norm = sqrt(var);
        }
        for (int l = 0; l < L; l++) {
            if (mode == TCET_MODE_NONE) lg[l] = t[l];
            else if (mode == TCET_MODE_LOG1P) lg[l] = finite_or_zero(log1p(t[l]));
            else lg[l] = t[l] / norm;
            term[l] = lg[l] * naswot[l];
        }
    }
    double total;
    if (single && mode == TCET_MODE_LOG) {
        float *f = xmalloc((size_t)L * sizeof(float));
        for (int l = 0; l < L; l++) f[l] = (float)term[l];
        total = (double)pairwise_f32(f, (size_t)L);
        free(f);
    } else {
        total = pairwise_f64(term, (size_t)L);
    }
    for (int l = 0; l < L; l++) {
        if (ratio_out) ratio_out[l] = t[l];
        if (log_out) log_out[l] = lg[l];
        if (term_out) term_out[l] = term[l];
    }
    free(t);
    return total;
}
