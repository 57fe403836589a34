/* Executor of graph plans (tcet_plan.dag: the NAS-Bench-201 network).
 *
 * Every op names the ops it reads (src); outputs are all kept, as in a chain
 * net.  The backward walks the ops in reverse topological order; the
 * gradient of an op's output lives in one of a few slots of the arena
 * (dag_grad), taken when the first consumer contributes and released once
 * the op itself has been differentiated, so the slot count is the largest
 * number of gradients alive at once (found at build time by the same walk).
 * A second contribution goes through the last slot (the temporary) and is
 * added.  An op whose output nobody differentiates (its consumers are all
 * behind "none" edges of a zero node, say) gets zero parameter gradients,
 * as PyTorch's x * 0 gives.
 *
 * Average pooling runs on the host (download, pool, upload): the backend
 * interface has no pooling op, and the NB201 networks are small.
 * BN follows PyTorch's BatchNorm2d defaults of the NB201 code: eps 1e-5,
 * momentum 0.1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "worker/net.h"

#define DAG_BN_EPS 1e-5
#define DAG_BN_MOMENTUM 0.1

const void *tcet_net_op_input(const tcet_net *net, int i)
{
    if (net->dag) {
        int s = net->ops[i].op.src[0];
        return s < 0 ? net->x : net->ops[s].y;
    }
    return i ? net->ops[i - 1].y : net->x;
}

/* Walk of the backward's slot allocation; returns the slot count (temporary
 * included).  With assign = 1 it fills dag_slot_of as it goes (used by the
 * backward itself, which must take the same slots). */
static int slot_walk(tcet_net *net, int assign, int (*visit)(tcet_net *, int, void *), void *arg)
{
    int n = net->nops, nslots = 0, nfree = 0;
    int *slot = net->dag_slot_of, *freel = xmalloc(((size_t)n + 1) * sizeof *freel);
    for (int i = 0; i < n; i++) slot[i] = -1;
    int rc = 0;
    for (int i = n - 1; i >= 0 && rc == 0; i--) {
        const tcet_op *p = &net->ops[i].op;
        int live = i == n - 1 || slot[i] >= 0;
        if (live) {
            for (int k = 0; k < p->nsrc; k++) {
                int s = p->src[k];
                if (s >= 0 && slot[s] < 0) slot[s] = nfree ? freel[--nfree] : nslots++;
            }
        }
        if (assign && visit) rc = visit(net, i, arg);
        if (slot[i] >= 0) freel[nfree++] = slot[i];
    }
    free(freel);
    if (rc) return -rc;
    return nslots + 1; /* + the temporary */
}

int tcet_net_dag_shapes(tcet_net *net, const tcet_plan *plan)
{
    if (net->dtype == TCET_F16)
        return TCET_FAIL(TCET_ERR_USAGE, "graph networks (NAS-Bench-201) run in float32 or float64, not fp16");
    size_t n = (size_t)net->batch;
    net->max_act = n * 3 * (size_t)net->resolution * (size_t)net->resolution;
    for (int i = 0; i < plan->n; i++) {
        const tcet_op *p = &plan->ops[i];
        tcet_net_op *o = &net->ops[i];
        memset(o, 0, sizeof *o);
        o->op = *p;
        o->scored = -1;
        if (p->nsrc < 0 || p->nsrc > 3 || (p->kind == TCET_OP_SUM) != (p->nsrc >= 2) ||
            (p->kind == TCET_OP_ZERO) != (p->nsrc == 0))
            return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s): %d inputs for kind %d", i, p->name, p->nsrc, p->kind);
        int in_c = 3, in_h = net->resolution;
        for (int k = 0; k < p->nsrc; k++) {
            int s = p->src[k];
            if (s >= i || s < -1)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s) reads op %d: not a topological order", i,
                                 p->name, s);
            int c = s < 0 ? 3 : plan->ops[s].cout, h = s < 0 ? net->resolution : plan->ops[s].hout;
            if (k == 0) {
                in_c = c;
                in_h = h;
            } else if (c != in_c || h != in_h) {
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s): sum of %dx%d and %dx%d tensors", i, p->name,
                                 in_c, in_h, c, h);
            }
        }
        if (p->nsrc && (p->cin != in_c || p->hin != in_h))
            return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s): input %dx%d, plan says %dx%d", i, p->name, in_c,
                             in_h, p->cin, p->hin);
        o->in_count = p->nsrc ? n * (size_t)in_c * (size_t)in_h * (size_t)in_h : 0;
        o->out_count = n * (size_t)p->cout * (size_t)p->hout * (size_t)p->hout;
        switch (p->kind) {
        case TCET_OP_CONV: {
            if (p->groups != 1 || (p->hin + 2 * p->pad - p->k) / p->stride + 1 != p->hout)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s): inconsistent convolution", i, p->name);
            tcet_conv_desc d = {.n = net->batch, .cin = p->cin, .cout = p->cout, .k = p->k,
                                .stride = p->stride, .pad = p->pad, .groups = 1,
                                .h = p->hin, .w = p->hin, .ho = p->hout, .wo = p->hout};
            o->conv = d;
            o->w_count = (size_t)p->cout * (size_t)p->cin * (size_t)p->k * (size_t)p->k;
            o->b_count = p->bias ? (size_t)p->cout : 0;
            o->scored = net->nscored;
            net->scored[net->nscored++] = i;
            break;
        }
        case TCET_OP_BN:
            o->w_count = o->b_count = (size_t)p->cin;
            break;
        case TCET_OP_LINEAR:
            if (p->hin != 1) return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: Linear on a %dx%d map", i, p->hin, p->hin);
            o->w_count = (size_t)p->cin * (size_t)p->cout;
            o->b_count = p->bias ? (size_t)p->cout : 0;
            o->scored = net->nscored;
            net->scored[net->nscored++] = i;
            break;
        case TCET_OP_GAP:
            net->feature_op = p->src[0];
            o->out_count = n * (size_t)p->cin;
            break;
        case TCET_OP_AVGPOOL:
            if ((p->hin + 2 * p->pad - p->k) / p->stride + 1 != p->hout || p->pad >= p->k)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s): inconsistent pooling", i, p->name);
            break;
        case TCET_OP_RELU:
        case TCET_OP_SUM:
        case TCET_OP_ZERO:
            break;
        default:
            return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: kind %d not supported in graph networks", i, p->kind);
        }
        if (o->out_count > net->max_act) net->max_act = o->out_count;
    }
    if (plan->n > net->dag_cap) {
        free(net->dag_slot_of);
        free(net->dag_written);
        net->dag_cap = plan->n;
        net->dag_slot_of = xcalloc((size_t)plan->n, sizeof *net->dag_slot_of);
        net->dag_written = xcalloc((size_t)plan->n, sizeof *net->dag_written);
    }
    net->nops = plan->n;
    net->dag_slots = slot_walk(net, 0, NULL, NULL);
    return 0;
}

/* ---- host pooling ------------------------------------------------------ */

static double *dag_host(tcet_net *net, size_t count)
{
    if (count > net->dag_host_cap) {
        free(net->dag_host);
        net->dag_host = xmalloc(count * sizeof(double));
        net->dag_host_cap = count;
    }
    return net->dag_host;
}

static int upload_f64(tcet_net *net, void *dev, const double *v, size_t count)
{
    if (net->dtype == TCET_F64) return net->be->upload(net->be, dev, v, count * sizeof(double));
    float *f = xmalloc((count ? count : 1) * sizeof *f);
    for (size_t i = 0; i < count; i++) f[i] = (float)v[i];
    int rc = net->be->upload(net->be, dev, f, count * sizeof(float));
    free(f);
    return rc;
}

/* Number of window positions inside the input (the divisor without padding). */
static int window_count(const tcet_op *p, int oy, int ox)
{
    int y0 = oy * p->stride - p->pad, x0 = ox * p->stride - p->pad;
    int y1 = y0 + p->k, x1 = x0 + p->k;
    if (y0 < 0) y0 = 0;
    if (x0 < 0) x0 = 0;
    if (y1 > p->hin) y1 = p->hin;
    if (x1 > p->hin) x1 = p->hin;
    return (y1 - y0) * (x1 - x0);
}

/* dir 0: y = pool(x); dir 1: dx = pool^T(dy) (sum of the windows' shares) */
static int pool_host(tcet_net *net, const tcet_op *p, size_t planes, const void *in_dev, void *out_dev, int dir)
{
    size_t hi = (size_t)p->hin * (size_t)p->hin, ho = (size_t)p->hout * (size_t)p->hout;
    size_t nin = planes * (dir ? ho : hi), nout = planes * (dir ? hi : ho);
    double *buf = dag_host(net, nin + nout);
    const double *src;
    TCET_TRY(tcet_net_download_f64(net, in_dev, nin, &src));
    memcpy(buf, src, nin * sizeof(double));
    double *in = buf, *out = buf + nin;
    memset(out, 0, nout * sizeof(double));
    for (size_t pl = 0; pl < planes; pl++) {
        const double *X = dir ? NULL : in + pl * hi;
        const double *DY = dir ? in + pl * ho : NULL;
        double *Y = out + pl * (dir ? hi : ho);
        for (int oy = 0; oy < p->hout; oy++)
            for (int ox = 0; ox < p->hout; ox++) {
                double div = p->count_pad ? (double)(p->k * p->k) : (double)window_count(p, oy, ox);
                double acc = 0.0, g = dir ? DY[oy * p->hout + ox] / div : 0.0;
                for (int ky = 0; ky < p->k; ky++) {
                    int y = oy * p->stride - p->pad + ky;
                    if (y < 0 || y >= p->hin) continue;
                    for (int kx = 0; kx < p->k; kx++) {
                        int x = ox * p->stride - p->pad + kx;
                        if (x < 0 || x >= p->hin) continue;
                        if (dir) Y[y * p->hin + x] += g;
                        else acc += X[y * p->hin + x];
                    }
                }
                if (!dir) Y[oy * p->hout + ox] = acc / div;
            }
    }
    return upload_f64(net, out_dev, out, nout);
}

/* ---- forward ----------------------------------------------------------- */

static const void *src_y(const tcet_net *net, int s) { return s < 0 ? net->x : net->ops[s].y; }

int tcet_net_dag_forward(tcet_net *net, int train, int update_running)
{
    tcet_backend *be = net->be;
    int dt = net->dtype, n = net->batch;
    for (int i = 0; i < net->nops; i++) {
        tcet_net_op *o = &net->ops[i];
        const tcet_op *p = &o->op;
        const void *in = p->nsrc ? src_y(net, p->src[0]) : NULL;
        int hw = p->hin * p->hin;
        switch (p->kind) {
        case TCET_OP_CONV: TCET_TRY(be->conv_fwd(be, dt, &o->conv, in, o->w, o->b, o->y)); break;
        case TCET_OP_BN:
            TCET_TRY(be->bn_fwd(be, dt, train, n, p->cin, hw, DAG_BN_EPS, DAG_BN_MOMENTUM, in, o->w, o->b, o->rm,
                                o->rv, update_running, o->y, o->save_mean, o->save_invstd));
            break;
        case TCET_OP_RELU: TCET_TRY(be->relu_fwd(be, dt, o->out_count, in, o->y)); break;
        case TCET_OP_GAP: TCET_TRY(be->gap_fwd(be, dt, n, p->cin, hw, in, o->y)); break;
        case TCET_OP_LINEAR: TCET_TRY(be->linear_fwd(be, dt, n, p->cin, p->cout, in, o->w, o->b, o->y)); break;
        case TCET_OP_AVGPOOL: TCET_TRY(pool_host(net, p, (size_t)n * (size_t)p->cin, in, o->y, 0)); break;
        case TCET_OP_ZERO: TCET_TRY(be->zero(be, o->y, o->out_count * tcet_dtype_size(dt))); break;
        case TCET_OP_SUM:
            TCET_TRY(be->add(be, dt, o->out_count, in, src_y(net, p->src[1]), o->y));
            for (int k = 2; k < p->nsrc; k++) TCET_TRY(be->add(be, dt, o->out_count, o->y, src_y(net, p->src[k]), o->y));
            break;
        default: return TCET_FAIL(TCET_ERR_USAGE, "op kind %d not supported by the graph executor", p->kind);
        }
    }
    net->last_train = train;
    return 0;
}

/* ---- backward ---------------------------------------------------------- */

static void *slot_ptr(const tcet_net *net, int s) { return (char *)net->dag_grad + (size_t)s * net->dag_slot_bytes; }

typedef struct {
    int skip_input_grad;
} bwd_arg;

/* Where op i writes the gradient for its source s: directly into s's slot
 * when it holds nothing yet, else into the temporary (then added). */
static void *dx_target(tcet_net *net, int s, int *accumulate)
{
    *accumulate = net->dag_written[s];
    return *accumulate ? slot_ptr(net, net->dag_slots - 1) : slot_ptr(net, net->dag_slot_of[s]);
}

static int dx_done(tcet_net *net, int s, int accumulate, size_t count)
{
    if (accumulate) {
        void *g = slot_ptr(net, net->dag_slot_of[s]);
        TCET_TRY(net->be->add(net->be, net->dtype, count, g, slot_ptr(net, net->dag_slots - 1), g));
    }
    net->dag_written[s] = 1;
    return 0;
}

static int zero_param_grads(tcet_net *net, tcet_net_op *o)
{
    size_t es = tcet_dtype_size(net->dtype);
    if (o->gw) TCET_TRY(net->be->zero(net->be, o->gw, o->w_count * es));
    if (o->gb) TCET_TRY(net->be->zero(net->be, o->gb, o->b_count * es));
    return 0;
}

static int bwd_visit(tcet_net *net, int i, void *varg)
{
    (void)varg;
    tcet_backend *be = net->be;
    int dt = net->dtype, n = net->batch;
    tcet_net_op *o = &net->ops[i];
    const tcet_op *p = &o->op;
    int last = i == net->nops - 1;
    if (!last && (net->dag_slot_of[i] < 0 || !net->dag_written[i])) return zero_param_grads(net, o);
    const void *dy = last ? net->dlogits : slot_ptr(net, net->dag_slot_of[i]);
    int s = p->nsrc ? p->src[0] : -1, acc = 0;
    int need_dx = s >= 0; /* the network input's gradient is never needed */
    void *dx = need_dx ? dx_target(net, s, &acc) : NULL;
    const void *x = p->nsrc ? src_y(net, s) : NULL;
    size_t in_count = o->in_count;
    switch (p->kind) {
    case TCET_OP_ZERO:
        return 0;
    case TCET_OP_SUM:
        /* every input receives dy itself */
        for (int k = 0; k < p->nsrc; k++) {
            int sk = p->src[k];
            if (sk < 0) continue;
            void *g = slot_ptr(net, net->dag_slot_of[sk]);
            size_t bytes = o->out_count * tcet_dtype_size(dt);
            if (!net->dag_written[sk]) TCET_TRY(be->zero(be, g, bytes));
            TCET_TRY(be->add(be, dt, o->out_count, g, dy, g));
            net->dag_written[sk] = 1;
        }
        return 0;
    case TCET_OP_AVGPOOL:
        if (need_dx) TCET_TRY(pool_host(net, p, (size_t)n * (size_t)p->cin, dy, dx, 1));
        break;
    case TCET_OP_BN:
        if (!need_dx) return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: BN on the network input", i);
        /* fall through */
    default: /* conv, BN, ReLU, GAP, linear: as in a chain */
        TCET_TRY(tcet_net_op_backward(net, o, x, dy, dx, need_dx));
    }
    if (need_dx) TCET_TRY(dx_done(net, s, acc, in_count));
    return 0;
}

int tcet_net_dag_backward(tcet_net *net, int skip_input_grad)
{
    (void)skip_input_grad;
    for (int i = 0; i < net->nops; i++) net->dag_written[i] = 0;
    bwd_arg a = {skip_input_grad};
    int r = slot_walk(net, 1, bwd_visit, &a);
    if (r < 0) return tcet_trace(-r, __FILE__, __LINE__, "graph backward");
    return 0;
}
