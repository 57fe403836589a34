#include "net_support.h"

#include <math.h>
#include <stdlib.h>

#include "test_support.h"

double test_net_loss_host(tcet_net *net, const int32_t *lab, double *dl)
{
    int N = net->batch, C = net->num_classes;
    const double *lg;
    assert_int_equal(tcet_net_download_f64(net, net->logits, (size_t)N * C, &lg), 0);
    double L = 0;
    for (int i = 0; i < N; i++) {
        double m = -INFINITY, s = 0;
        for (int k = 0; k < C; k++) m = fmax(m, lg[i * C + k]);
        for (int k = 0; k < C; k++) s += exp(lg[i * C + k] - m);
        L -= lg[i * C + lab[i]] - m - log(s);
        if (dl)
            for (int k = 0; k < C; k++) dl[i * C + k] = (exp(lg[i * C + k] - m) / s - (k == lab[i])) / N;
    }
    return L / N;
}

void test_net_randomise_bn(tcet_net *net, tcet_rng *r)
{
    tcet_backend *be = net->be;
    for (int i = 0; i < net->nops; i++) {
        tcet_net_op *o = &net->ops[i];
        if (o->op.kind != TCET_OP_BN) continue;
        double *h = malloc(o->w_count * sizeof(double));
        for (size_t j = 0; j < o->w_count; j++) h[j] = 0.5 + tcet_rng_uniform(r);
        be->upload(be, o->w, h, o->w_count * sizeof(double));
        for (size_t j = 0; j < o->w_count; j++) h[j] = 0.2 * tcet_rng_normal(r);
        be->upload(be, o->b, h, o->w_count * sizeof(double));
        free(h);
    }
}
