/* GradNorm (ZenNAS compute_gradnorm_score, docs/semantics.md#baseline-proxies): Gaussian re-init,
 * training mode, N(0,1) batch, uniform random labels, mean cross-entropy,
 * backward; score = sqrt(Σ over every parameter with a gradient of ‖grad‖²):
 * conv weights (and biases), BN γ and β, FC weight and bias. */
#include <math.h>

#include "common/error.h"
#include "worker/proxy_baseline.h"
#include "worker/proxies.h"

static int add_sq(tcet_net *net, const void *dev, size_t count, double *acc)
{
    if (!dev || count == 0) return 0;
    const double *h;
    TCET_TRY(tcet_net_download_f64(net, dev, count, &h));
    for (size_t i = 0; i < count; i++) *acc += h[i] * h[i];
    return 0;
}

int proxy_gradnorm(tcet_proxy_ctx *ctx, double *score)
{
    tcet_net *net = ctx->net;
    int n = net->batch, classes = ctx->cfg->num_classes;
    ctx->nlayers = 0;
    tcet_rng r;
    baseline_rng(ctx, &r);
    TCET_TRY(baseline_gaussian_init(ctx, net, &r));
    const float *x;
    TCET_TRY(baseline_randn_images(ctx, ctx->golden ? &ctx->golden->rand_input1 : NULL, 0, n, &r, &x));
    int32_t *y = baseline_scratch(ctx, 1, (size_t)n * sizeof *y);
    const tcet_golden_tensor *gl = ctx->golden ? &ctx->golden->gradnorm_labels : NULL;
    if (gl && gl->count > 0) {
        if (gl->count != (size_t)n || !gl->idata)
            return TCET_FAIL(TCET_ERR_DATA, "golden %s: /aux/gradnorm_labels has %zu entries, expected %d",
                             ctx->golden->path, gl->count, n);
        for (int i = 0; i < n; i++) y[i] = gl->idata[i];
    } else {
        for (int i = 0; i < n; i++) y[i] = (int32_t)tcet_rng_below(&r, (uint64_t)classes);
    }
    TCET_TRY(tcet_net_set_input(net, x));
    TCET_TRY(tcet_net_set_labels(net, y));
    TCET_TRY(tcet_net_forward(net, 1, 1));
    double loss;
    TCET_TRY(tcet_net_xent(net, &loss));
    TCET_TRY(tcet_net_backward(net, 1));

    double sq = 0.0;
    for (int i = 0; i < net->nops; i++) {
        tcet_net_op *o = &net->ops[i];
        int k = o->op.kind;
        if (k != TCET_OP_CONV && k != TCET_OP_BN && k != TCET_OP_LINEAR) continue;
        TCET_TRY(add_sq(net, o->gw, o->w_count, &sq));
        TCET_TRY(add_sq(net, o->gb, o->b_count, &sq));
    }
    *score = sqrt(sq);
    return 0;
}
