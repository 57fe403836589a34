/* Host-side numerics shared by the proxies (docs/semantics.md#layer-wise-naswot, docs/semantics.md#aggregation, docs/semantics.md#alethiometer-modes, docs/semantics.md#non-finite-scores, docs/semantics.md#log-determinant). */
#ifndef TCET_PROXY_MATH_H
#define TCET_PROXY_MATH_H

#include <stddef.h>
#include <stdint.h>

/* log|det K| of an n×n row-major matrix via LAPACKE_dgetrf in double
 * (numpy slogdet semantics): sign ignored; an exactly zero pivot ⇒ 0.
 * K is overwritten (LU).  The result is rounded to float32 (as the
 * reference's float32 slogdet).  *branch (nullable) gets the golden
 * README code: 0 normal, 2 exactly singular, 3 negative determinant.
 * Returns 0 or TCET_ERR_BACKEND (LAPACK argument error). */
int tcet_logabsdet(double *K, int n, float *out, int *branch);

/* Layer-wise NASWOT a_ℓ from the Gram matrix K (n×n, overwritten) and the
 * number of positive codes per sample: all codes zero ⇒ 0 (branch 1),
 * otherwise tcet_logabsdet. */
int tcet_naswot_layer(double *K, int n, const int64_t *positives, float *out, int *branch);

/* T-CET per-layer term of §6.3 ("log" mode, the paper's): given sum and
 * unbiased std of the saliency: ratio = sum if std == 0 else sum/std;
 * log = ln(ratio) if ratio != 0 else 0.  single = 1 reproduces the SNIP path
 * (float32 arithmetic on float32 sum/std, as torch does), 0 the float64 one. */
void tcet_layer_ratio_log(double sum, double std, int single, double *ratio, double *log_t);

/* Aggregate per-layer statistics into T-CET with one of the modes of §6.5
 * (tcet_tcet_mode: LOG, NONE, LOG1P, NORM).  ratio[] from
 * tcet_layer_ratio_log; naswot[] the a_ℓ; writes term[] (nullable) and
 * returns Σ term (float32 sum when single, float64 otherwise).
 * LOG follows the T-CET repo exactly (NaN std ⇒ NaN); the alethiometer
 * modes map NaN σ to 0 and NaN/±inf logs to 0. */
double tcet_tcet_aggregate(int mode, int single, int L, const double *sum, const double *std,
                           const double *naswot, double *ratio_out, double *log_out,
                           double *term_out);

#endif
