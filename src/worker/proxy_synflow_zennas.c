/* ZenNAS "Syncflow" (compute_syncflow_score, docs/semantics.md#baseline-proxies): Gaussian re-init,
 * then every parameter and buffer := |·|, float64, BN KEPT in training mode,
 * input ones [1,3,R,R], Q = Σ logits, backward; per Conv2d/Linear
 * G = |W ⊙ ∂Q/∂W|; score = −Σ_ℓ mean over output channels of the per-channel
 * sums of G.  A BN that sees one value per channel (1×1 spatial at batch 1)
 * raises in torch ("Expected more than 1 value per channel when training"),
 * which the scorer records as a failure (−9999). */
#include <math.h>

#include "common/error.h"
#include "worker/proxy_baseline.h"
#include "worker/proxies.h"

int proxy_synflow_zennas(tcet_proxy_ctx *ctx, double *score)
{
    tcet_net *net = ctx->aux;
    ctx->nlayers = 0;
    TCET_TRY(tcet_net_build_arch_res(net, ctx->be, ctx->arch, 1, ctx->cfg->reslink,
                                     ctx->cfg->num_classes, ctx->cfg->resolution, TCET_F64, 1));
    for (int i = 0; i < net->nops; i++) {
        const tcet_op *p = &net->ops[i].op;
        if (p->kind == TCET_OP_BN && p->hin * p->hin == 1)
            return TCET_FAIL(TCET_ERR_RUNTIME, "synflow-zennas: Expected more than 1 value per channel "
                             "when training (BN %s sees a 1x1 map at batch 1)", p->name);
    }
    tcet_rng r;
    baseline_rng(ctx, &r);
    TCET_TRY(baseline_gaussian_init(ctx, net, &r));
    TCET_TRY(tcet_net_abs_params(net));
    TCET_TRY(tcet_net_set_input_ones(net));
    TCET_TRY(tcet_net_forward(net, 1, 0));
    TCET_TRY(tcet_net_dlogits_ones(net));
    TCET_TRY(tcet_net_backward(net, 1));

    double total = 0.0;
    for (int l = 0; l < net->nscored; l++) {
        tcet_net_op *o = tcet_net_layer(net, l);
        size_t cnt = o->w_count;
        double *w = baseline_scratch(ctx, 0, cnt * sizeof *w);
        const double *h;
        TCET_TRY(tcet_net_download_f64(net, o->w, cnt, &h));
        for (size_t i = 0; i < cnt; i++) w[i] = h[i];
        TCET_TRY(tcet_net_download_f64(net, o->gw, cnt, &h));
        size_t rows = (size_t)o->op.cout, per = cnt / rows;
        double mean = 0.0;
        for (size_t c = 0; c < rows; c++) {
            double s = 0.0;
            for (size_t j = 0; j < per; j++) s += fabs(w[c * per + j] * h[c * per + j]);
            mean += s;
        }
        total += mean / (double)rows;
    }
    *score = -total;
    return 0;
}
