/* TE-NAS condition number of the NTK (docs/semantics.md#baseline-proxies; golden/README "TE-NAS").
 *
 * The reference calls torch.symeig(ntk) (upper = True: only the UPPER
 * triangle of the row-major float32 NTK is read), takes the ascending float32
 * eigenvalues, cond = λ_max / λ_min in float32, np.nan_to_num(cond)
 * (NaN → 0, ±inf → ±1.7976931348623157e308) and score = −cond. */
#ifndef TCET_TENAS_MATH_H
#define TCET_TENAS_MATH_H

/* Eigenvalues (ascending, float64) of the symmetric matrix given by the upper
 * triangle of the row-major n×n float32 matrix a (LAPACK dsyevd on a float64
 * copy).  Returns 0 or a tcet_status (LAPACK failure recorded). */
int tcet_tenas_eigvals(const float *a, int n, double *eig);

/* cond = (float)λ_max / (float)λ_min in float32, then nan_to_num. */
double tcet_tenas_cond(const double *eig_ascending, int n);

/* The TE-NAS score −cond of the NTK a (row-major n×n float32). */
int tcet_tenas_score_from_ntk(const float *a, int n, double *score);

#endif
