/* TE-NAS, NTK part (compute_te_nas_score.compute_NTK_score, docs/semantics.md#baseline-proxies):
 * default init (the candidate's own weights), training mode, ONE forward of
 * a N(0,1) batch; for every sample n a backward of Σ_k logit[n,k] through the
 * whole-batch graph (train-mode BN couples the samples); row J[n] = the
 * gradients of the parameters named "*weight" in named_parameters() order
 * (conv weights, BN γ, FC weight); NTK = J Jᵀ in float32; score = −cond
 * (tenas_math.h). */
#include <cblas.h>
#include <string.h>

#include "common/error.h"
#include "common/tenas_math.h"
#include "worker/proxy_baseline.h"
#include "worker/proxies.h"

/* Elements of one J row: every CONV/LINEAR weight and every BN γ, in op
 * (= module registration) order. */
static size_t jacobian_width(const tcet_net *net)
{
    size_t p = 0;
    for (int i = 0; i < net->nops; i++) {
        int k = net->ops[i].op.kind;
        if (k == TCET_OP_CONV || k == TCET_OP_BN || k == TCET_OP_LINEAR) p += net->ops[i].w_count;
    }
    return p;
}

int proxy_te_nas(tcet_proxy_ctx *ctx, double *score)
{
    tcet_net *net = ctx->net;
    tcet_backend *be = ctx->be;
    int n = net->batch, classes = net->num_classes;
    ctx->nlayers = 0;
    if (net->dtype != TCET_F32) return TCET_FAIL(TCET_ERR_USAGE, "te-nas: float32 network expected");
    tcet_rng r;
    baseline_rng(ctx, &r);
    const float *x;
    TCET_TRY(baseline_randn_images(ctx, ctx->golden ? &ctx->golden->tenas_input : NULL, 0, n, &r, &x));
    TCET_TRY(tcet_net_set_input(net, x));
    TCET_TRY(tcet_net_forward(net, 1, 1));

    size_t P = jacobian_width(net);
    float *J = baseline_scratch(ctx, 1, (size_t)n * P * sizeof *J);
    float *dl = baseline_scratch(ctx, 2, (size_t)n * (size_t)classes * sizeof *dl);
    for (int s = 0; s < n; s++) {
        /* d(Σ_k logit[s,k]) / d logits = ones in row s */
        memset(dl, 0, (size_t)n * (size_t)classes * sizeof *dl);
        for (int k = 0; k < classes; k++) dl[(size_t)s * (size_t)classes + (size_t)k] = 1.f;
        TCET_TRY(tcet_net_set_dlogits(net, dl));
        TCET_TRY(tcet_net_backward(net, 1));
        float *row = J + (size_t)s * P;
        for (int i = 0; i < net->nops; i++) {
            const tcet_net_op *o = &net->ops[i];
            int k = o->op.kind;
            if (k != TCET_OP_CONV && k != TCET_OP_BN && k != TCET_OP_LINEAR) continue;
            TCET_TRY(be->download(be, row, o->gw, o->w_count * sizeof *row));
            row += o->w_count;
        }
    }
    TCET_TRY(be->sync(be));
    float *ntk = baseline_scratch(ctx, 3, (size_t)n * (size_t)n * sizeof *ntk);
    /* float32 J Jᵀ, as torch.einsum('nc,mc->nm') */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, (int)P, 1.f, J, (int)P, J, (int)P,
                0.f, ntk, n);
    TCET_TRY(tcet_tenas_score_from_ntk(ntk, n, score));
    return 0;
}
