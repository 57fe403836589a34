/* The trivial proxies (docs/semantics.md#baseline-proxies): Params and Flops are the reference counters
 * (get_model_size / get_FLOPs) of the network being scored: the scoring
 * (no-reslink) network, or with cfg->reslink the one with shortcuts; Random is one N(0,1) draw keyed by
 * (run seed, TCET_STREAM_AUX, candidate id). */
#include "common/counters.h"
#include "common/error.h"
#include "common/rng.h"
#include "worker/proxies.h"

int proxy_params(tcet_proxy_ctx *ctx, double *score)
{
    tcet_counts c;
    TCET_TRY(tcet_count(ctx->arch, ctx->cfg->reslink != 0, ctx->cfg->num_classes, ctx->cfg->resolution, &c));
    *score = c.params;
    ctx->nlayers = 0;
    return 0;
}

int proxy_flops(tcet_proxy_ctx *ctx, double *score)
{
    tcet_counts c;
    TCET_TRY(tcet_count(ctx->arch, ctx->cfg->reslink != 0, ctx->cfg->num_classes, ctx->cfg->resolution, &c));
    *score = c.flops;
    ctx->nlayers = 0;
    return 0;
}

int proxy_random(tcet_proxy_ctx *ctx, double *score)
{
    tcet_rng r;
    tcet_rng_seed(&r, ctx->seed, TCET_STREAM_AUX, ctx->cand_id);
    *score = tcet_rng_normal(&r);
    ctx->nlayers = 0;
    return 0;
}
