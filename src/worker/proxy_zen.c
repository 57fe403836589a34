/* Zen-score (ZenNAS compute_zen_score, docs/semantics.md#baseline-proxies): Gaussian re-init, training
 * mode, blocks-only features of X and X + γE, Δ = mean_b Σ|F − F'|,
 * Zen = ln Δ + Σ_BN ln sqrt(mean_c running_var) after both passes (each pass
 * updates the running variance, momentum 0.1, unbiased batch variance). */
#include <math.h>
#include <string.h>

#include "common/error.h"
#include "worker/proxy_baseline.h"
#include "worker/proxies.h"

int proxy_zen(tcet_proxy_ctx *ctx, double *score)
{
    tcet_net *net = ctx->net;
    int n = net->batch;
    ctx->nlayers = 0;
    if (net->feature_op < 0) return TCET_FAIL(TCET_ERR_USAGE, "zen: the network has no feature map");
    tcet_rng r;
    const float *x1, *x2;
    TCET_TRY(baseline_start(ctx, &r, &x1));
    const tcet_golden_tensor *g2 = ctx->golden ? &ctx->golden->rand_input2 : NULL;
    TCET_TRY(baseline_randn_images(ctx, g2, 1, n, &r, &x2));
    size_t count = baseline_image_count(ctx, n);
    /* mixup_input = input + gamma * input2, in float32 as torch does */
    float *mix = baseline_scratch(ctx, 2, count * sizeof *mix);
    const float gamma = (float)ctx->cfg->gamma;
    for (size_t i = 0; i < count; i++) mix[i] = x1[i] + gamma * x2[i];

    const tcet_net_op *feat = &net->ops[net->feature_op];
    size_t fcount = feat->out_count;
    double *f1 = baseline_scratch(ctx, 3, fcount * sizeof *f1);
    const double *h;
    TCET_TRY(tcet_net_set_input(net, x1));
    TCET_TRY(tcet_net_forward(net, 1, 1));
    TCET_TRY(tcet_net_download_f64(net, feat->y, fcount, &h));
    memcpy(f1, h, fcount * sizeof *f1);
    TCET_TRY(tcet_net_set_input(net, mix));
    TCET_TRY(tcet_net_forward(net, 1, 1));
    TCET_TRY(tcet_net_download_f64(net, feat->y, fcount, &h));

    double total = 0.0;
    for (size_t i = 0; i < fcount; i++) total += fabs(f1[i] - h[i]);
    double delta = total / n;

    double log_bn = 0.0;
    for (int i = 0; i < net->nops; i++) {
        const tcet_net_op *o = &net->ops[i];
        if (o->op.kind != TCET_OP_BN) continue;
        TCET_TRY(tcet_net_download_f64(net, o->rv, o->w_count, &h));
        double s = 0.0;
        for (size_t c = 0; c < o->w_count; c++) s += h[c];
        log_bn += log(sqrt(s / (double)o->w_count));
    }
    *score = log(delta) + log_bn;
    return 0;
}
