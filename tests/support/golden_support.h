/* Scaffolding shared by the golden-file tests (tests/unit/test_golden_*.c,
 * tests/gpu/test_cuda_golden.c): open a case, read an expected scalar, build
 * the scoring network with the golden weights, score a case through the
 * scorer (the production path) and decode the "official code raised"
 * attribute (tests/data/golden/README.md).  Every helper fails the running cmocka
 * test on an error, so callers only assert on the values they compare. */
#ifndef TCET_GOLDEN_SUPPORT_H
#define TCET_GOLDEN_SUPPORT_H

#include "test_support.h"

#include "common/golden.h"
#include "kernels/backend.h"
#include "worker/net.h"
#include "worker/scorer.h"

/* tcet_golden_open, with the error message printed on failure. */
tcet_golden *golden_open_case(const char *path);
/* One double from a scalar (or one-element) dataset, e.g. "/expected/tcet_snip". */
double golden_read_scalar(const tcet_golden *g, const char *dset);
/* `count` doubles of a dataset (its element count must be `count`), malloc'd:
 * the caller frees them. */
double *golden_read_array(const tcet_golden *g, const char *dset, size_t count);
/* adv_synflow_const: +-2^-3 weights make outputs cancel to ~0, and the reference
 * itself flips NASWOT code bits between thread counts (golden README), so its
 * Gram and NASWOT-dependent values only agree loosely. */
int golden_is_flip_case(const tcet_golden *g);
/* 1 when the official function raised: the dataset's attribute `error` is
 * other than "none" (golden README); 0 when it is "none" or absent. */
int golden_official_raised(const tcet_golden *g, const char *dset);
/* Builds the scoring network of g's architecture on be (BN on, float32,
 * g's classes and resolution, residual shortcuts iff g->no_reslink == 0,
 * `batch` samples) and loads the golden
 * /params/... into it.  The caller frees it with tcet_net_free. */
void golden_net_build(tcet_net *net, tcet_backend *be, const tcet_golden *g, int batch);
/* Scores g with `proxy` through a fresh scorer on be, in golden context
 * (log mode, gamma 1e-2, seed 1, 2 ZiCo batches).  *sc stays alive because
 * res->layers points into it: the caller destroys it. */
void golden_score(tcet_backend *be, const tcet_golden *g, int proxy, tcet_score_result *res,
                  tcet_scorer **sc);
/* golden_score at another precision: dtype TCET_F64 scores the network in
 * double (tcet score --precision float64). */
void golden_score_dtype(tcet_backend *be, const tcet_golden *g, int proxy, int dtype, tcet_score_result *res,
                        tcet_scorer **sc);
/* golden_score for callers that need only the totals: the scorer is
 * destroyed and res->layers set to NULL. */
void golden_score_once(tcet_backend *be, const tcet_golden *g, int proxy, tcet_score_result *res);
/* Eval-mode forward pass of the golden network (golden_net_build, batch
 * g->batch_size) on be, then every scored layer's NASWOT Gram matrix
 * (be->gram_codes) against /expected/naswot/gram.  Layers with differences
 * are printed; returns the number of differing entries, with the number of
 * such layers in *layers_bad and the number of entries compared in *entries. */
long golden_gram_mismatches(tcet_backend *be, const tcet_golden *g, int *layers_bad, size_t *entries);
/* The foresight totals on be: Synflow against /expected/synflow_total_foresight
 * (1e-9 relative, float64) and SNIP against the sum of /expected/snip/sum (1e-4
 * relative, float32; exactly 0 when the official total is 0). */
void golden_check_foresight_totals(tcet_backend *be, const tcet_golden *g);

#endif
