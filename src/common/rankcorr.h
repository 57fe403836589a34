/* Rank correlations: Spearman's rho (Pearson correlation of the ranks, ties
 * sharing their average rank, as scipy.stats.spearmanr) and Kendall's tau-b
 * (ties in either variable corrected, as scipy.stats.kendalltau). */
#ifndef TCET_RANKCORR_H
#define TCET_RANKCORR_H

#include <stddef.h>

/* NaN when n < 2 or either variable is constant. */
double tcet_spearman(const double *x, const double *y, size_t n);
double tcet_kendall_tau_b(const double *x, const double *y, size_t n);

#endif
