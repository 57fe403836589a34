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

/* One training-mode step without the update: forward of x with labels y,
 * mean cross-entropy, backward (the gradients land in the ops' gw/gb). */
static int loss_backward(tcet_net *net, const float *x, const int32_t *y, int update_running)
{
    TCET_TRY(tcet_net_set_input(net, x));
    TCET_TRY(tcet_net_set_labels(net, y));
    TCET_TRY(tcet_net_forward(net, 1, update_running));
    double loss;
    TCET_TRY(tcet_net_xent(net, &loss));
    return tcet_net_backward(net, 1);
}

int proxy_gradnorm(tcet_proxy_ctx *ctx, double *score)
{
    tcet_net *net = ctx->net;
    int n = net->batch, classes = ctx->cfg->num_classes;
    tcet_rng r;
    const float *x;
    TCET_TRY(baseline_start(ctx, &r, &x));
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
    TCET_TRY(loss_backward(net, x, y, 1));

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

/* grad_norm of zero-cost-nas (Abdelfattah et al., ICLR 2021) as NASLib
 * scores NAS-Bench-201 (docs/semantics.md#baseline-proxies): the candidate's
 * default initialisation, training mode, the dataset batch with its labels
 * (the saliency batch, as SNIP), mean cross-entropy, backward; score =
 * Σ over every Conv2d / Linear layer of ‖∂L/∂W_ℓ‖₂ (weights only: a sum of
 * per-layer norms, not one norm over all parameters as `gradnorm`). */
int proxy_gradnorm_zc(tcet_proxy_ctx *ctx, double *score)
{
    tcet_net *net = ctx->net;
    ctx->nlayers = 0;
    if (ctx->n != net->batch)
        return TCET_FAIL(TCET_ERR_USAGE, "gradnorm-zc: batch of %d images for a network of batch %d", ctx->n,
                         net->batch);
    TCET_TRY(loss_backward(net, ctx->x, ctx->labels, 0));
    double total = 0.0;
    for (int l = 0; l < net->nscored; l++) {
        tcet_net_op *o = tcet_net_layer(net, l);
        double sq = 0.0;
        TCET_TRY(add_sq(net, o->gw, o->w_count, &sq));
        total += sqrt(sq);
    }
    *score = total;
    return 0;
}
