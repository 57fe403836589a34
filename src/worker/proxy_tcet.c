/* T-CET (docs/semantics.md#the-t-cet-score): layer-wise NASWOT a_ℓ (§6.1), SNIP and Synflow
 * saliencies (§6.2), the aggregation (§6.3, §6.5); plus the layer-wise
 * NASWOT total and the foresight SNIP / Synflow totals that fall out of the
 * same computations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/proxy_math.h"
#include "worker/profile.h"
#include "worker/proxies.h"

/* Forward for T-CET: nothing here reads a BN's own output (only conv/linear
 * outputs and, in backward, BN inputs and ReLU outputs), so a fused BN+ReLU
 * may skip writing it (tcet_net.skip_bn_out, docs/performance.md). */
static int tcet_forward(tcet_net *net, int train)
{
    const int keep = net->skip_bn_out;
    net->skip_bn_out = 1;
    int rc = tcet_net_forward(net, train, 0);
    net->skip_bn_out = keep;
    return rc;
}

/* a_ℓ for every layer: eval-mode forward of the NASWOT batch, codes of
 * every conv/linear output, Gram on the backend, log|det| on the host. */
static int naswot_layers(tcet_proxy_ctx *ctx, double *a)
{
    tcet_net *net = ctx->net;
    int n = net->batch;
    if (ctx->n_naswot != n)
        return TCET_FAIL(TCET_ERR_USAGE, "NASWOT batch of %d images for a network of batch %d",
                         ctx->n_naswot, n);
    double t = tcet_prof_begin();
    TCET_TRY(tcet_net_set_input(net, ctx->x_naswot));
    /* the codes of the conv outputs written by the forward where the backend
     * fuses them (bit for bit the ones gram_codes packs from y) */
    net->want_codes = 1;
    int frc = tcet_forward(net, 0);
    net->want_codes = 0;
    TCET_TRY(frc);
    tcet_prof_end(TCET_PH_NASWOT_FWD, t);
    double *K = xmalloc((size_t)n * (size_t)n * sizeof(double));
    int64_t *pos = xmalloc((size_t)n * sizeof(int64_t));
    int rc = 0;
    for (int l = 0; l < net->nscored && rc == 0; l++) {
        tcet_net_op *o = tcet_net_layer(net, l);
        size_t d = o->out_count / (size_t)n;
        t = tcet_prof_begin();
        if (o->codes_ok && net->be->gram_bits) rc = net->be->gram_bits(net->be, n, d, o->codes, K, pos);
        else rc = tcet_net_gram_codes(net, o->y, n, d, K, pos);
        tcet_prof_end(TCET_PH_GRAM, t);
        float v = 0.0f;
        t = tcet_prof_begin();
        if (rc == 0) rc = tcet_naswot_layer(K, n, pos, &v, NULL);
        tcet_prof_end(TCET_PH_LOGDET, t);
        a[l] = v;
    }
    free(K);
    free(pos);
    return rc;
}

/* Σ|w ⊙ g| and its unbiased std of every scored layer, in the net's dtype. */
static int layer_saliencies(tcet_net *net, double *sum, double *std)
{
    double t = tcet_prof_begin();
    for (int l = 0; l < net->nscored; l++) {
        tcet_net_op *o = tcet_net_layer(net, l);
        TCET_TRY(net->be->saliency_stats(net->be, net->dtype, o->w_count, o->w, o->gw, &sum[l], &std[l]));
    }
    tcet_prof_end(TCET_PH_REDUCE, t);
    return 0;
}

/* SNIP saliency statistics: train-mode forward of the saliency batch, mean
 * cross-entropy, backward; per layer Σ|w⊙g| and its unbiased std. */
static int snip_stats(tcet_proxy_ctx *ctx, double *sum, double *std)
{
    tcet_net *net = ctx->net;
    if (ctx->n != net->batch)
        return TCET_FAIL(TCET_ERR_USAGE, "SNIP batch of %d images for a network of batch %d",
                         ctx->n, net->batch);
    double loss;
    double t = tcet_prof_begin();
    TCET_TRY(tcet_net_set_input(net, ctx->x));
    TCET_TRY(tcet_net_set_labels(net, ctx->labels));
    TCET_TRY(tcet_forward(net, 1));
    TCET_TRY(tcet_net_xent(net, &loss));
    tcet_prof_end(TCET_PH_SAL_FWD, t);
    t = tcet_prof_begin();
    TCET_TRY(tcet_net_backward(net, 1));
    tcet_prof_end(TCET_PH_BWD, t);
    return layer_saliencies(net, sum, std);
}

/* Synflow saliency statistics: BN-free float64 copy with |params|, input
 * ones [1,3,R,R], R = Σ logits. */
static int synflow_stats(tcet_proxy_ctx *ctx, double *sum, double *std)
{
    tcet_net *src = ctx->net, *net = ctx->aux;
    double t = tcet_prof_begin();
    /* with shortcuts (cfg->reslink) the projection BN goes too; its bias stays */
    TCET_TRY(tcet_net_build_arch_res(net, ctx->be, ctx->arch, 0, ctx->cfg->reslink, src->num_classes,
                                     src->resolution, TCET_F64, 1));
    TCET_TRY(tcet_net_copy_params(net, src, 1));
    tcet_prof_end(TCET_PH_SETUP, t);
    t = tcet_prof_begin();
    TCET_TRY(tcet_net_set_input_ones(net));
    TCET_TRY(tcet_net_forward(net, 1, 0));
    TCET_TRY(tcet_net_dlogits_ones(net));
    tcet_prof_end(TCET_PH_SAL_FWD, t);
    t = tcet_prof_begin();
    TCET_TRY(tcet_net_backward(net, 1));
    tcet_prof_end(TCET_PH_BWD, t);
    return layer_saliencies(net, sum, std);
}

static int tcet_common(tcet_proxy_ctx *ctx, int synflow, double *score)
{
    int L = ctx->net->nscored;
    if (L > ctx->layers_cap) return TCET_FAIL(TCET_ERR_RUNTIME, "per-layer buffer too small");
    double *buf = xmalloc((size_t)L * 6 * sizeof(double));
    double *a = buf, *sum = buf + L, *std = buf + 2 * L, *ratio = buf + 3 * L, *lg = buf + 4 * L,
           *term = buf + 5 * L;
    int rc = naswot_layers(ctx, a);
    if (rc == 0) rc = synflow ? synflow_stats(ctx, sum, std) : snip_stats(ctx, sum, std);
    if (rc == 0) {
        double t = tcet_prof_begin();
        *score = tcet_tcet_aggregate(ctx->cfg->mode, !synflow, L, sum, std, a, ratio, lg, term);
        for (int l = 0; l < L; l++) {
            tcet_layer_score *s = &ctx->layers[l];
            snprintf(s->name, sizeof s->name, "%s", tcet_net_layer(ctx->net, l)->op.name);
            s->naswot = a[l];
            s->sum = sum[l];
            s->std = std[l];
            s->ratio = ratio[l];
            s->log = lg[l];
            s->term = term[l];
        }
        ctx->nlayers = L;
        tcet_prof_end(TCET_PH_REDUCE, t);
    }
    free(buf);
    return rc;
}

int proxy_tcet_snip(tcet_proxy_ctx *ctx, double *score) { return tcet_common(ctx, 0, score); }
int proxy_tcet_synflow(tcet_proxy_ctx *ctx, double *score) { return tcet_common(ctx, 1, score); }

int proxy_naswot_layerwise(tcet_proxy_ctx *ctx, double *score)
{
    int L = ctx->net->nscored;
    if (L > ctx->layers_cap) return TCET_FAIL(TCET_ERR_RUNTIME, "per-layer buffer too small");
    double *a = xmalloc((size_t)L * sizeof(double));
    int rc = naswot_layers(ctx, a);
    if (rc == 0) {
        double total = 0.0;
        for (int l = 0; l < L; l++) {
            tcet_layer_score *s = &ctx->layers[l];
            memset(s, 0, sizeof *s);
            snprintf(s->name, sizeof s->name, "%s", tcet_net_layer(ctx->net, l)->op.name);
            s->naswot = a[l];
            s->term = a[l];
            total += a[l];
        }
        ctx->nlayers = L;
        *score = total;
    }
    free(a);
    return rc;
}

/* foresight totals: Σ over layers of Σ saliency (aggregate=True) */
static int foresight_total(tcet_proxy_ctx *ctx, int synflow, double *score)
{
    int L = ctx->net->nscored;
    double *buf = xmalloc((size_t)L * 2 * sizeof(double));
    int rc = synflow ? synflow_stats(ctx, buf, buf + L) : snip_stats(ctx, buf, buf + L);
    if (rc == 0) {
        double total = 0.0;
        for (int l = 0; l < L; l++) total += buf[l];
        *score = total;
        ctx->nlayers = 0;
    }
    free(buf);
    return rc;
}

int proxy_snip(tcet_proxy_ctx *ctx, double *score) { return foresight_total(ctx, 0, score); }
int proxy_synflow(tcet_proxy_ctx *ctx, double *score) { return foresight_total(ctx, 1, score); }
