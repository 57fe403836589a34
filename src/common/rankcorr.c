/* Spearman rho and Kendall tau-b (see rankcorr.h); O(n log n) and O(n^2). */
#include "rankcorr.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

typedef struct {
    double v;
    size_t i;
} kv;

static int cmp_kv(const void *a, const void *b)
{
    const kv *p = a, *q = b;
    return p->v < q->v ? -1 : p->v > q->v ? 1 : (p->i > q->i) - (p->i < q->i);
}

/* average ranks (1-based) */
static void ranks(const double *x, size_t n, double *r)
{
    kv *t = xmalloc((n ? n : 1) * sizeof *t);
    for (size_t i = 0; i < n; i++) t[i] = (kv){x[i], i};
    qsort(t, n, sizeof *t, cmp_kv);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && t[j + 1].v == t[i].v) j++;
        double avg = 0.5 * (double)(i + j) + 1.0;
        for (size_t k = i; k <= j; k++) r[t[k].i] = avg;
        i = j + 1;
    }
    free(t);
}

static double pearson(const double *a, const double *b, size_t n)
{
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    if (saa == 0 || sbb == 0) return NAN;
    return sab / sqrt(saa * sbb);
}

double tcet_spearman(const double *x, const double *y, size_t n)
{
    if (n < 2) return NAN;
    double *rx = xmalloc(n * sizeof *rx), *ry = xmalloc(n * sizeof *ry);
    ranks(x, n, rx);
    ranks(y, n, ry);
    double r = pearson(rx, ry, n);
    free(rx);
    free(ry);
    return r;
}

double tcet_kendall_tau_b(const double *x, const double *y, size_t n)
{
    if (n < 2) return NAN;
    double conc = 0, disc = 0, tx = 0, ty = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double dx = x[i] - x[j], dy = y[i] - y[j];
            if (dx == 0 && dy == 0) continue;
            if (dx == 0) tx++;
            else if (dy == 0) ty++;
            else if ((dx > 0) == (dy > 0)) conc++;
            else disc++;
        }
    double den = sqrt((conc + disc + tx) * (conc + disc + ty));
    return den > 0 ? (conc - disc) / den : NAN;
}
