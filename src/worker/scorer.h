/* Scoring one candidate: build its scoring network on a backend, run the
 * proxy, return the score (docs/semantics.md#the-t-cet-score, docs/semantics.md#baseline-proxies, docs/semantics.md#non-finite-scores).  This is what a worker rank
 * (or the single-process search, or `tcet score`) calls. */
#ifndef TCET_SCORER_H
#define TCET_SCORER_H

#include <stdint.h>

#include "kernels/backend.h"
#include "common/arch.h"
#include "common/cand.h"
#include "common/data.h"
#include "common/plan.h"
#include "common/proxy.h"

typedef struct {
    int proxy;
    int mode;              /* tcet_tcet_mode */
    int batch_size;        /* images per batch (64 for T-CET in the reference) */
    int resolution;
    int num_classes;
    double gamma;          /* Zen mixup coefficient (1e-2) */
    uint64_t seed;         /* run seed */
    int same_batch;        /* 1: NASWOT and saliency on the same batch (alethiometer) */
    int zico_batches;      /* ZiCo: number of batches (2) */
    int reslink;           /* 0 (default): the search's scoring network, no shortcuts
                              (MasterNet no_reslink = True, docs/semantics.md#budget-network-and-scoring-network); 1: score the
                              network WITH its residual shortcuts (no_reslink = False:
                              projection conv+BN or identity, docs/semantics.md#residual-wrappers) in every proxy.
                              Scoring a golden file sets it from the file's no_reslink. */
    int dtype;             /* TCET_F32 (0, the default: the reference's precision) or
                              TCET_F64: the scoring network and every image-reading
                              proxy in double (`--precision float64`, a diagnostic of
                              numerical conditioning, docs/proxies.md#numerical-conditioning;
                              te-nas refuses it) */
    const tcet_dataset *data; /* NULL: synthetic */
} tcet_score_config;

typedef struct {
    char name[96];
    double naswot, sum, std, ratio, log, term;
} tcet_layer_score;

typedef struct {
    uint64_t id;
    tcet_cand_result r;    /* score, raw score, status, reason, seconds (latency: +inf, not
                              measured here): what the worker sends on (common/cand.h) */
    int nlayers;           /* per-layer terms (T-CET, layer-wise NASWOT), else 0 */
    const tcet_layer_score *layers; /* owned by the scorer, valid until the next call */
} tcet_score_result;

typedef struct tcet_scorer tcet_scorer;

int tcet_scorer_create(const tcet_score_config *cfg, tcet_backend *be, tcet_scorer **out);
/* Never fails as a whole: scoring failures come back as status/score. */
void tcet_scorer_score(tcet_scorer *sc, uint64_t cand_id, const tcet_arch *arch,
                       tcet_score_result *res);
void tcet_scorer_destroy(tcet_scorer *sc);
/* Peak memory (bytes) the networks of `arch` take when scored with batch n
 * (plan: its scoring-network plan): arenas and host scratch.  Each candidate
 * is checked against the memory left before scoring; one that cannot fit
 * fails with the reason "out of memory: needs X GB, has Y GB (...)". */
size_t tcet_scorer_estimate(tcet_scorer *sc, const tcet_arch *arch, int n, const tcet_plan *plan);

#endif
