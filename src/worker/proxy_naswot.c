/* NASWOT, the ZenNAS variant (compute_NASWOT_score, docs/semantics.md#baseline-proxies): Gaussian
 * re-init, training mode, one forward of a N(0,1) batch; for every ReLU the
 * sign codes c of its INPUT give K += c cᵀ + (1−c)(1−c)ᵀ (float64 sum over
 * the ReLUs); score = log|det K| from an LU in double (numpy slogdet: the
 * sign is ignored, an exactly zero pivot gives −inf, which the scorer's
 * failure policy turns into −9999). */
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "common/error.h"
#include "worker/proxy_baseline.h"
#include "worker/proxies.h"

int proxy_naswot(tcet_proxy_ctx *ctx, double *score)
{
    tcet_net *net = ctx->net;
    int n = net->batch;
    tcet_rng r;
    const float *x;
    TCET_TRY(baseline_start(ctx, &r, &x));
    TCET_TRY(tcet_net_set_input(net, x));
    TCET_TRY(tcet_net_forward(net, 1, 1));

    size_t nn = (size_t)n * (size_t)n;
    double *K = baseline_scratch(ctx, 1, nn * sizeof *K);
    double *Kr = baseline_scratch(ctx, 2, nn * sizeof *Kr);
    int64_t *pos = baseline_scratch(ctx, 3, (size_t)n * sizeof *pos);
    memset(K, 0, nn * sizeof *K);
    int nrelu = 0;
    for (int i = 0; i < net->nops; i++) {
        const tcet_net_op *o = &net->ops[i];
        if (o->op.kind != TCET_OP_RELU) continue;
        const void *in = tcet_net_op_input(net, i);
        TCET_TRY(tcet_net_gram_codes(net, in, n, o->in_count / (size_t)n, Kr, pos));
        for (size_t k = 0; k < nn; k++) K[k] += Kr[k];
        nrelu++;
    }
    if (nrelu == 0) return TCET_FAIL(TCET_ERR_USAGE, "naswot: the network has no ReLU");

    lapack_int *ipiv = baseline_scratch(ctx, 4, (size_t)n * sizeof *ipiv);
    lapack_int info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, n, n, K, n, ipiv);
    if (info < 0) return TCET_FAIL(TCET_ERR_BACKEND, "naswot: LAPACKE_dgetrf argument %d invalid", (int)-info);
    if (info > 0) { /* exactly singular: numpy slogdet gives (0, -inf) */
        *score = -INFINITY;
        return 0;
    }
    double logdet = 0.0;
    for (int i = 0; i < n; i++) logdet += log(fabs(K[(size_t)i * (size_t)n + (size_t)i]));
    *score = logdet;
    return 0;
}
