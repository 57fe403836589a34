/* ZiCo (SLDGroup/ZiCo HEAD, docs/semantics.md#zico): default init, training mode, m
 * batches; for each: zero grads, forward, mean cross-entropy, backward, keep
 * the flattened gradient of every Conv2d/Linear weight; per layer the
 * float32 statistics of zico_math.h; ZiCo = Σ_ℓ log tmpsum_ℓ.
 *
 * Batches: with a golden file, the two halves of /input,/labels in order
 * (golden README convention); otherwise cfg->zico_batches batches of
 * batch_size images drawn the same for every candidate of a run, as the
 * reference draws its list of batches once at the start of the search
 * (docs/semantics.md#zico): batch b keyed by (seed, TCET_STREAM_BATCH +
 * 256 (b + 1), 0).  Drawing them again per candidate gives the same images
 * and augmentation, so no state is kept between candidates (and a resumed
 * run scores with the same batches). */
#include <string.h>

#include "common/error.h"
#include "common/zico_math.h"
#include "worker/proxy_baseline.h"
#include "worker/proxies.h"

#define ZICO_MAX_BATCHES 16

static uint64_t zico_stream(int b) { return (uint64_t)TCET_STREAM_BATCH + 256u * (uint64_t)(b + 1); }

int proxy_zico(tcet_proxy_ctx *ctx, double *score)
{
    tcet_backend *be = ctx->be;
    ctx->nlayers = 0;
    int golden = ctx->golden != NULL;
    int m = golden ? 2 : (ctx->cfg->zico_batches > 0 ? ctx->cfg->zico_batches : 2);
    if (m > ZICO_MAX_BATCHES)
        return TCET_FAIL(TCET_ERR_USAGE, "zico: at most %d batches (got %d)", ZICO_MAX_BATCHES, m);
    int nb = golden ? ctx->n / 2 : ctx->n;
    if (nb < 1 || (golden && ctx->n % 2))
        return TCET_FAIL(TCET_ERR_DATA, "zico: the golden batch of %d images cannot be split into two "
                         "equal halves", ctx->n);

    /* A net of the per-batch size with the candidate's weights. */
    tcet_net *net = ctx->net;
    if (net->batch != nb) {
        net = ctx->aux;
        TCET_TRY(tcet_net_build_arch_res(net, be, ctx->arch, 1, ctx->cfg->reslink,
                                         ctx->cfg->num_classes, ctx->cfg->resolution, ctx->net->dtype, nb));
        TCET_TRY(tcet_net_copy_params(net, ctx->net, 0));
    }
    int L = net->nscored;
    size_t total = 0;
    for (int l = 0; l < L; l++) total += tcet_net_layer(net, l)->w_count;
    /* float64 nets (--precision float64) keep double gradients and take
     * the statistics in double (tcet_zico_layer_log_f64) */
    const int f64 = net->dtype == TCET_F64;
    const size_t es = f64 ? sizeof(double) : sizeof(float);
    char *grads = baseline_scratch(ctx, 0, total * (size_t)m * es);
    size_t img = baseline_image_count(ctx, 1);
    float *xb = NULL;
    int32_t *yb = NULL;
    if (!golden) {
        xb = baseline_scratch(ctx, 1, img * (size_t)nb * sizeof *xb);
        yb = baseline_scratch(ctx, 2, (size_t)nb * sizeof *yb);
    }

    for (int b = 0; b < m; b++) {
        const float *x;
        const int32_t *y;
        if (golden) {
            x = ctx->x + img * (size_t)nb * (size_t)b;
            y = ctx->labels + (size_t)nb * (size_t)b;
        } else {
            TCET_TRY(tcet_dataset_batch(ctx->data, ctx->seed, zico_stream(b), 0, nb, xb, yb));
            x = xb;
            y = yb;
        }
        TCET_TRY(tcet_net_set_input(net, x));
        TCET_TRY(tcet_net_set_labels(net, y));
        TCET_TRY(tcet_net_forward(net, 1, 1));
        double loss;
        TCET_TRY(tcet_net_xent(net, &loss));
        TCET_TRY(tcet_net_backward(net, 1)); /* overwrites: = zero_grad + backward */
        /* layer-major layout: layer l's m rows are contiguous */
        size_t off = 0;
        for (int l = 0; l < L; l++) {
            const tcet_net_op *o = tcet_net_layer(net, l);
            char *dst = grads + (off * (size_t)m + o->w_count * (size_t)b) * es;
            TCET_TRY(be->download(be, dst, o->gw, o->w_count * es));
            off += o->w_count;
        }
    }
    TCET_TRY(be->sync(be));

    double acc = 0.0;
    size_t off = 0;
    for (int l = 0; l < L; l++) {
        size_t cnt = tcet_net_layer(net, l)->w_count;
        const void *rows[ZICO_MAX_BATCHES];
        for (int b = 0; b < m; b++) rows[b] = grads + (off * (size_t)m + cnt * (size_t)b) * es;
        if (f64) {
            acc += tcet_zico_layer_log_f64((const double *const *)rows, m, cnt);
        } else {
            tcet_zico_layer st;
            tcet_zico_layer_stats((const float *const *)rows, m, cnt, &st);
            if (!st.skipped) acc += (double)st.log;
        }
        off += cnt;
    }
    *score = acc;
    return 0;
}
