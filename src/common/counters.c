/* The reference counters get_model_size / get_FLOPs / get_num_layers (docs/semantics.md#reference-counters)
 * and the exact PyTorch parameter count.
 *
 * Written element by element like the reference (not from closed forms):
 * resolution r <- r // stride per conv, conv FLOPs floor-divide the full
 * product, BN counts C params and r^2 C FLOPs, projections add
 * (cin cout + cout) params and (cin cout + cout) (r_out / stride)^2 FLOPs in
 * floating point.  Each super block accumulates from 0.0 in double. */
#include "counters.h"

#include <string.h>

#include "error.h"
#include "nb201.h"
#include "mutate.h"

typedef struct {
    int reslink;
    long long r;        /* reference resolution (r // stride per conv) */
    double bparams, bflops; /* current super block */
    long long true_params;
    int scored;
} acc;

/* One wrapper's inner list, counted element by element. */
typedef struct {
    int cin, cout, k, s, dw;
} cv;

static void conv_only(acc *A, const cv *c, long long *ip, long long *if_)
{
    long long k2 = (long long)c->k * c->k;
    long long r2 = A->r * A->r;
    long long s2 = (long long)c->s * c->s;
    long long p = c->dw ? c->cout * k2 : (long long)c->cin * c->cout * k2;
    *ip += p;
    *if_ += p * r2 / s2;
    A->true_params += p;
    A->scored++;
    A->r /= c->s;
}

/* conv + BN (+ ReLU, free) of one list; integer sums (exact, as in Python). */
static void conv_bn(acc *A, const cv *c, long long *ip, long long *if_)
{
    conv_only(A, c, ip, if_);
    *ip += c->cout;
    *if_ += A->r * A->r * c->cout;
    A->true_params += 2LL * c->cout;
}

/* WRAP(inner) of n conv+BN elements (ReLUs cost nothing). */
static void wrap(acc *A, const cv *v, int n, int first)
{
    long long ip = 0, if_ = 0;
    for (int i = 0; i < n; i++) conv_bn(A, &v[i], &ip, &if_);
    A->bparams += (double)ip;
    if (!A->reslink) {
        A->bflops += (double)if_;
        return;
    }
    int cin = v[0].cin, cout = v[n - 1].cout;
    /* stride = 1024 // (output resolution of inner for input 1024) */
    long long rr = 1024;
    for (int i = 0; i < n; i++) rr /= v[i].s;
    long long stride = rr > 0 ? 1024 / rr : 1024;
    int proj = first || stride > 1 || cin != cout;
    double t = (double)if_;
    if (proj) {
        double q = (double)A->r / (double)stride;
        q *= q;
        t += (double)((long long)cin * cout) * q + q * cout;
        A->bparams += (double)((long long)cin * cout + cout);
        A->true_params += (long long)cin * cout + cout + 2LL * cout;
        A->scored++;
    }
    A->bflops += t;
}

static void count_block(acc *A, const tcet_block *b)
{
    int last = b->in, s = b->stride, k = b->kernel;
    for (int i = 0; i < b->layers; i++) {
        switch (b->family) {
        case TCET_FAM_CONV: {
            long long ip = 0, if_ = 0;
            cv c = {last, b->out, k, s, 0};
            conv_bn(A, &c, &ip, &if_);
            A->bparams += (double)ip;
            A->bflops += (double)if_;
            break;
        }
        case TCET_FAM_KXKX: {
            cv v[2] = {{last, b->btl, k, s, 0}, {b->btl, b->out, k, 1, 0}};
            wrap(A, v, 2, i == 0);
            break;
        }
        case TCET_FAM_K1KXK1: {
            cv a[3] = {{last, b->btl, 1, 1, 0}, {b->btl, b->btl, k, s, 0}, {b->btl, b->out, 1, 1, 0}};
            wrap(A, a, 3, i == 0);
            cv c[3] = {{b->out, b->btl, 1, 1, 0}, {b->btl, b->btl, k, 1, 0}, {b->btl, b->out, 1, 1, 0}};
            wrap(A, c, 3, 0);
            break;
        }
        case TCET_FAM_IDW: {
            int d1 = tcet_smart_round((double)b->btl * b->expansion, 8);
            int d2 = tcet_smart_round((double)b->out * b->expansion, 8);
            cv a[3] = {{last, d1, 1, 1, 0}, {d1, d1, k, s, 1}, {d1, b->btl, 1, 1, 0}};
            wrap(A, a, 3, i == 0);
            cv c[3] = {{b->btl, d2, 1, 1, 0}, {d2, d2, k, 1, 1}, {d2, b->out, 1, 1, 0}};
            wrap(A, c, 3, 0);
            break;
        }
        default:
            break;
        }
        last = b->out;
        s = 1;
    }
}

int tcet_count(const tcet_arch *a, int reslink, int num_classes, int resolution, tcet_counts *out)
{
    memset(out, 0, sizeof *out);
    if (a->grammar == TCET_GRAMMAR_NB201) {
        /* NB201: params = the exact count (affine BN: 2C), as NASLib's `params`;
         * flops = conv + classifier multiply-accumulates (docs/nb201.md) */
        tcet_nb201_counts c;
        TCET_TRY(tcet_nb201_count(a, num_classes, resolution, &c));
        out->params = (double)c.params;
        out->flops = (double)(c.conv_macs + c.fc_macs);
        out->scored_layers = c.convs + 1;
        out->true_params = c.params;
        return 0;
    }
    if (a->n < 1) return TCET_FAIL(TCET_ERR_USAGE, "empty structure");
    if (num_classes < 1 || resolution < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "classes (%d) and resolution (%d) must be positive", num_classes, resolution);
    acc A = {reslink, resolution, 0, 0, 0, 0};
    double size = 0, flops = 0;
    for (int i = 0; i < a->n; i++) {
        A.bparams = 0.0;
        A.bflops = 0.0;
        count_block(&A, &a->b[i]);
        size += A.bparams;
        flops += A.bflops;
    }
    long long c = a->b[a->n - 1].out;
    size += (double)(c * num_classes + 1); /* FC bias counted as one parameter */
    flops += (double)(c * num_classes);
    out->params = size;
    out->flops = flops;
    out->layers = tcet_arch_num_layers(a);
    out->scored_layers = A.scored + 1;
    out->true_params = A.true_params + c * num_classes + num_classes;
    return 0;
}
