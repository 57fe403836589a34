/* Shared pieces of the baseline proxies (see proxy_baseline.h). */
#include "worker/proxy_baseline.h"

#include <stdlib.h>

#include "common/error.h"

void baseline_rng(const tcet_proxy_ctx *ctx, tcet_rng *r)
{
    tcet_rng_seed(r, ctx->seed, TCET_STREAM_AUX, ctx->cand_id);
}

int baseline_gaussian_init(const tcet_proxy_ctx *ctx, tcet_net *net, tcet_rng *r)
{
    if (ctx->golden && ctx->golden->ngauss > 0) {
        const float **arrays;
        size_t *counts;
        tcet_golden_param_arrays(ctx->golden->gauss, ctx->golden->ngauss, &arrays, &counts);
        int rc = tcet_net_load_params(net, ctx->golden->ngauss, arrays, counts);
        free(arrays);
        free(counts);
        if (rc) return tcet_trace(rc, __FILE__, __LINE__, "loading /aux/gaussian_params");
        return 0;
    }
    return tcet_net_init_gaussian(net, r);
}

void *baseline_scratch(const tcet_proxy_ctx *ctx, int slot, size_t bytes)
{
    /* Owned by the scorer: the baselines run once per candidate and must
     * reach a steady footprint (no per-call malloc). */
    tcet_host_scratch *s = ctx->scratch;
    if (slot < 0 || slot >= TCET_SCRATCH_SLOTS) tcet_die(__FILE__, __LINE__, "bad scratch slot %d", slot);
    if (bytes > s->cap[slot]) {
        free(s->buf[slot]);
        s->buf[slot] = xmalloc(bytes);
        s->cap[slot] = bytes;
    }
    return s->buf[slot];
}

int baseline_start(tcet_proxy_ctx *ctx, tcet_rng *r, const float **x)
{
    ctx->nlayers = 0;
    baseline_rng(ctx, r);
    TCET_TRY(baseline_gaussian_init(ctx, ctx->net, r));
    return baseline_randn_images(ctx, ctx->golden ? &ctx->golden->rand_input1 : NULL, 0, ctx->net->batch, r, x);
}

int baseline_randn_images(const tcet_proxy_ctx *ctx, const tcet_golden_tensor *t, int slot, int n,
                          tcet_rng *r, const float **out)
{
    size_t count = baseline_image_count(ctx, n);
    if (ctx->golden && t && t->count > 0) {
        if (t->count != count || !t->data)
            return TCET_FAIL(TCET_ERR_DATA, "golden %s: aux tensor '%s' has %zu elements, expected "
                             "%zu ([%d,3,%d,%d])", ctx->golden->path, t->name, t->count, count, n,
                             ctx->cfg->resolution, ctx->cfg->resolution);
        *out = t->data;
        return 0;
    }
    float *x = baseline_scratch(ctx, slot, count * sizeof *x);
    for (size_t i = 0; i < count; i++) x[i] = (float)tcet_rng_normal(r);
    *out = x;
    return 0;
}
