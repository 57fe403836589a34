/* Proxy functions called by the scorer (docs/semantics.md#the-t-cet-score, docs/semantics.md#baseline-proxies).
 *
 * Every proxy has the signature tcet_proxy_fn: it reads what it needs from
 * the context, returns 0 with *score set (which may be NaN/±inf: the scorer
 * applies the failure policy of §11.1), or a nonzero tcet_status with the
 * error recorded via TCET_FAIL (the scorer turns it into status FAILED with
 * the message as reason).  A proxy never allocates per call in steady state
 * beyond what its own static/grow-only buffers hold: use the nets in ctx. */
#ifndef TCET_PROXIES_H
#define TCET_PROXIES_H

#include <stdint.h>

#include "common/arch.h"
#include "common/data.h"
#include "common/golden.h"
#include "kernels/backend.h"
#include "worker/net.h"
#include "worker/scorer.h"

/* Grow-only host buffers owned by a scorer, reused across candidates. */
#define TCET_SCRATCH_SLOTS 6
typedef struct {
    void *buf[TCET_SCRATCH_SLOTS];
    size_t cap[TCET_SCRATCH_SLOTS];
} tcet_host_scratch;

typedef struct {
    tcet_backend *be;
    const tcet_score_config *cfg;
    const tcet_arch *arch;
    uint64_t cand_id;
    uint64_t seed;            /* run seed (= cfg->seed) */

    /* The scoring network: F32, BN present, batch = n, default-initialised
     * from (seed, TCET_STREAM_WEIGHTS, cand_id) or loaded from the golden
     * /params.  Proxies that re-initialise (Gaussian) or change it may do so:
     * it is rebuilt for every candidate.  Its input is NOT set. */
    tcet_net *net;
    /* A spare network workspace owned by the scorer (empty or a previous
     * build): proxies that need a second variant (Synflow's BN-free F64 copy,
     * a batch-1 net, ...) build it here with tcet_net_build*, which reuses
     * the arena. */
    tcet_net *aux;

    /* Saliency / proxy batch on the host: x [n,3,R,R], labels [n] (true labels).
     * Golden: /input, /labels. */
    int n;
    const float *x;
    const int32_t *labels;
    /* Fixed layer-wise NASWOT batch of the run (same as x when same_batch or golden). */
    const float *x_naswot;
    int n_naswot;

    /* Golden file when scoring one (aux tensors: gauss params, rand_input1/2,
     * gradnorm_labels, tenas_input); NULL otherwise: then draw from
     * tcet_rng_seed(r, seed, TCET_STREAM_AUX, cand_id). */
    const tcet_golden *golden;
    /* Dataset of the run (synthetic when cfg->data is NULL); NULL only when
     * scoring a golden file. */
    const tcet_dataset *data;

    /* Per-layer output (T-CET / layer-wise NASWOT): capacity layers_cap,
     * proxies set *nlayers (0 for scalar proxies). */
    tcet_layer_score *layers;
    int layers_cap;
    int nlayers;

    /* Grow-only host scratch of the scorer (proxy_baseline.h). */
    tcet_host_scratch *scratch;
} tcet_proxy_ctx;

typedef int (*tcet_proxy_fn)(tcet_proxy_ctx *ctx, double *score);

/* proxy_tcet.c */
int proxy_tcet_snip(tcet_proxy_ctx *ctx, double *score);
int proxy_tcet_synflow(tcet_proxy_ctx *ctx, double *score);
int proxy_naswot_layerwise(tcet_proxy_ctx *ctx, double *score);
int proxy_snip(tcet_proxy_ctx *ctx, double *score);     /* foresight SNIP total Σ|w⊙g| */
int proxy_synflow(tcet_proxy_ctx *ctx, double *score);  /* foresight Synflow total */
/* proxy_simple.c */
int proxy_params(tcet_proxy_ctx *ctx, double *score);
int proxy_flops(tcet_proxy_ctx *ctx, double *score);
int proxy_random(tcet_proxy_ctx *ctx, double *score);
/* baselines: proxy_zen.c, proxy_naswot.c, proxy_synflow_zennas.c,
 * proxy_gradnorm.c, proxy_tenas.c, proxy_zico.c.  Strong references: a weak
 * reference does not pull an object out of the static tcet_worker archive, so
 * the proxies would silently be "not implemented". */
int proxy_zen(tcet_proxy_ctx *ctx, double *score);
int proxy_naswot(tcet_proxy_ctx *ctx, double *score);
int proxy_synflow_zennas(tcet_proxy_ctx *ctx, double *score);
int proxy_gradnorm(tcet_proxy_ctx *ctx, double *score);
int proxy_gradnorm_zc(tcet_proxy_ctx *ctx, double *score);
int proxy_te_nas(tcet_proxy_ctx *ctx, double *score);
int proxy_zico(tcet_proxy_ctx *ctx, double *score);

/* ZiCo needs cfg->zico_batches batches; the scorer provides one saliency
 * batch only.  With a golden file ZiCo uses the two halves of x/labels
 * (golden README); otherwise it draws its batches from ctx->data itself
 * (docs/semantics.md#zico: fixed batches drawn once per run). */

/* Scorer extensions (scorer.c): score with a golden file's weights, input
 * and aux tensors instead of default init and dataset batches; the scorer's
 * device memory (for the memory-stability test). */
void tcet_scorer_set_golden(tcet_scorer *sc, const tcet_golden *g);
size_t tcet_scorer_memory(const tcet_scorer *sc);

#endif
