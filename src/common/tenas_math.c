/* TE-NAS: eigenvalues of the NTK and the float32 condition number. */
#include "common/tenas_math.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

#include "common/error.h"

int tcet_tenas_eigvals(const float *a, int n, double *eig)
{
    if (n <= 0) return TCET_FAIL(TCET_ERR_USAGE, "te-nas: empty NTK (n = %d)", n);
    for (size_t i = 0; i < (size_t)n * (size_t)n; i++)
        if (!isfinite(a[i]))
            return TCET_FAIL(TCET_ERR_RUNTIME, "te-nas: the NTK has a non-finite entry (%g)", (double)a[i]);
    double *m = xmalloc((size_t)n * (size_t)n * sizeof *m);
    /* Only the upper triangle is referenced by uplo 'U'; copy it alone so the
     * lower triangle (which torch.symeig ignores) cannot matter. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) m[(size_t)i * n + j] = j >= i ? (double)a[(size_t)i * n + j] : 0.0;
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', n, m, n, eig);
    free(m);
    if (info != 0)
        return TCET_FAIL(TCET_ERR_BACKEND, "te-nas: LAPACKE_dsyevd failed (info %d) on the %dx%d NTK "
                         "(hint: non-finite gradients?)", (int)info, n, n);
    return 0;
}

double tcet_tenas_cond(const double *eig, int n)
{
    float lmin = (float)eig[0], lmax = (float)eig[n - 1];
    float cond = lmax / lmin;
    if (isnan(cond)) return 0.0;
    if (isinf(cond)) return cond > 0 ? DBL_MAX : -DBL_MAX;
    return (double)cond;
}

int tcet_tenas_score_from_ntk(const float *a, int n, double *score)
{
    double *eig = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *eig);
    int rc = tcet_tenas_eigvals(a, n, eig);
    if (rc == 0) *score = -tcet_tenas_cond(eig, n);
    free(eig);
    return rc;
}
