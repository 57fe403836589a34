/* Executor of the scoring network (plain chain) and of the budget network
 * (residual wrappers, forward and backward) (see net.h).
 *
 * Memory: one device arena per net, carved into parameters, gradients, op
 * outputs and two ping-pong gradient buffers (a third with residual
 * wrappers: the shortcut's gradient) at every build.  It only grows
 * (never shrinks), so after the largest candidate has been seen a worker
 * allocates nothing more. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/half.h"
#include "worker/net.h"

#define NET_ALIGN 256

static size_t align_up(size_t v) { return (v + NET_ALIGN - 1) / NET_ALIGN * NET_ALIGN; }

static int net_has_residual(const tcet_net *net)
{
    for (int i = 0; i < net->nops; i++)
        if (net->ops[i].op.kind == TCET_OP_RES_BEGIN) return 1;
    return 0;
}

/* Layout pass: with base == NULL it only sums sizes; otherwise it assigns
 * the pointers.  Both passes walk the same code so they cannot disagree. */
static size_t layout(tcet_net *net, char *base)
{
    size_t off = 0, es = tcet_dtype_size(net->dtype);
    /* an fp16 net runs eval-mode forwards only: no gradients, no saved
     * batch statistics, no gradient buffers (their pointers stay NULL) */
    const size_t g = net->dtype == TCET_F16 ? 0 : 1;
#define TAKE(ptr, elems)                                                    \
    do {                                                                    \
        size_t bytes_ = align_up((size_t)(elems) * es);                     \
        if (base) (ptr) = ((elems) != 0) ? (void *)(base + off) : NULL;           \
        off += bytes_;                                                      \
    } while (0)
    size_t n = (size_t)net->batch;
    TAKE(net->x, n * 3 * (size_t)net->resolution * (size_t)net->resolution);
    for (int i = 0; i < net->nops; i++) {
        tcet_net_op *o = &net->ops[i];
        if (base) o->w = o->b = o->rm = o->rv = o->gw = o->gb = o->save_mean = o->save_invstd = NULL;
        if (o->op.kind == TCET_OP_RES_BEGIN) {
            /* no storage: its output is its input (the remembered tensor) */
            if (base) o->y = i ? net->ops[i - 1].y : net->x;
            continue;
        }
        switch (o->op.kind) {
        case TCET_OP_CONV:
        case TCET_OP_LINEAR:
            TAKE(o->w, o->w_count);
            TAKE(o->gw, g * o->w_count);
            if (o->b_count) {
                TAKE(o->b, o->b_count);
                TAKE(o->gb, g * o->b_count);
            }
            break;
        case TCET_OP_BN:
            TAKE(o->w, o->w_count);
            TAKE(o->b, o->b_count);
            TAKE(o->rm, o->w_count);
            TAKE(o->rv, o->w_count);
            TAKE(o->gw, g * o->w_count);
            TAKE(o->gb, g * o->b_count);
            TAKE(o->save_mean, g * o->w_count);
            TAKE(o->save_invstd, g * o->w_count);
            break;
        default:
            break;
        }
        TAKE(o->y, o->out_count);
    }
    TAKE(net->dlogits, g * n * (size_t)net->num_classes);
    TAKE(net->grad_a, g * net->max_act);
    TAKE(net->grad_b, g * net->max_act);
    TAKE(net->grad_c, net_has_residual(net) ? g * net->max_act : 0);
    net->dag_slot_bytes = align_up(net->max_act * es);
    TAKE(net->dag_grad, net->dag ? g * (size_t)net->dag_slots * (net->dag_slot_bytes / es) : 0);
    /* labels are int32: 4 bytes per element whatever the dtype */
    if (base) net->labels = (int32_t *)(void *)(base + off);
    off += align_up(n * sizeof(int32_t));
#undef TAKE
    return off;
}

int tcet_net_build(tcet_net *net, tcet_backend *be, const tcet_plan *plan, int dtype, int batch)
{
    if (batch < 1) return TCET_FAIL(TCET_ERR_USAGE, "batch size must be >= 1 (got %d)", batch);
    if (dtype != TCET_F32 && dtype != TCET_F64 && dtype != TCET_F16)
        return TCET_FAIL(TCET_ERR_USAGE, "network dtype %d is not TCET_F32, TCET_F64 or TCET_F16", dtype);
    if (dtype == TCET_F16 && !be->has_f16)
        return TCET_FAIL(TCET_ERR_BACKEND, "the %s backend has no fp16 (TCET_F16) forward; build the "
                         "network in float32 there", be->name);
    if (net->be && net->be != be) {
        tcet_net_free(net);
    }
    net->be = be;
    net->dtype = dtype;
    net->batch = batch;
    net->resolution = plan->opts.resolution;
    net->num_classes = plan->opts.num_classes;
    net->has_bn = plan->opts.bn;
    net->last_train = -1;
    if (plan->n > net->ops_cap) {
        free(net->ops);
        net->ops_cap = plan->n;
        net->ops = xcalloc((size_t)net->ops_cap, sizeof *net->ops);
    }
    if (plan->num_scored > net->scored_cap) {
        free(net->scored);
        net->scored_cap = plan->num_scored;
        net->scored = xcalloc((size_t)net->scored_cap, sizeof *net->scored);
    }
    net->nops = plan->n;
    net->nscored = 0;
    net->feature_op = -1;
    size_t n = (size_t)batch;
    size_t cur = n * 3 * (size_t)net->resolution * (size_t)net->resolution;
    int cur_c = 3, cur_h = net->resolution;
    net->max_act = cur;
    /* residual state: shape remembered at RES_BEGIN, inner output shape saved
     * when the projection starts (wrappers are never nested, docs/semantics.md#residual-wrappers) */
    int in_res = 0, res_c = 0, res_h = 0, in_proj = 0, inner_c = 0, inner_h = 0;
    size_t res_count = 0;
    net->dag = plan->dag;
    if (plan->dag) TCET_TRY(tcet_net_dag_shapes(net, plan)); /* net_dag.c; the chain loop is skipped */
    for (int i = 0; !plan->dag && i < plan->n; i++) {
        const tcet_op *p = &plan->ops[i];
        tcet_net_op *o = &net->ops[i];
        memset(o, 0, sizeof *o);
        o->op = *p;
        o->scored = -1;
        o->in_count = cur;
        if (p->is_proj && !in_proj) {
            /* the projection shortcut reads the tensor remembered at RES_BEGIN */
            if (!in_res || p->kind != TCET_OP_CONV)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s): projection outside a residual "
                                 "wrapper or not starting with its conv", i, p->name);
            in_proj = 1;
            inner_c = cur_c;
            inner_h = cur_h;
            cur_c = res_c;
            cur_h = res_h;
            cur = res_count;
            o->in_count = cur;
        } else if (!p->is_proj && in_proj && p->kind != TCET_OP_RES_END) {
            return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: non-projection op inside a projection", i);
        }
        switch (p->kind) {
        case TCET_OP_RES_BEGIN:
            if (in_res)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: nested residual wrappers", i);
            if (p->cin != cur_c || p->hin != cur_h)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: residual input %dx%d does not match "
                                 "the previous output %dx%d", i, p->cin, p->hin, cur_c, cur_h);
            in_res = 1;
            res_c = cur_c;
            res_h = cur_h;
            res_count = cur;
            o->out_count = cur;
            break;
        case TCET_OP_RES_END: {
            if (!in_res)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: RES_END without RES_BEGIN", i);
            if (p->res_has_proj != in_proj)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: shortcut %s a projection", i,
                                 p->res_has_proj ? "lacks" : "has unexpected");
            /* shortcut shape: projection output (cur) or the remembered input */
            int sc_c = in_proj ? cur_c : res_c, sc_h = in_proj ? cur_h : res_h;
            int in_c = in_proj ? inner_c : cur_c, in_h = in_proj ? inner_h : cur_h;
            if (sc_c != in_c || sc_h != in_h || p->cout != in_c || p->hout != in_h)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: residual sum of %dx%dx%d (inner) and "
                                 "%dx%dx%d (shortcut)", i, in_c, in_h, in_h, sc_c, sc_h, sc_h);
            cur_c = in_c;
            cur_h = in_h;
            o->in_count = n * (size_t)cur_c * (size_t)cur_h * (size_t)cur_h;
            o->out_count = o->in_count;
            in_res = in_proj = 0;
            break;
        }
        case TCET_OP_CONV: {
            if (p->cin != cur_c || p->hin != cur_h)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s): input %dx%dx%d does not match "
                                 "the previous output %dx%dx%d", i, p->name, p->cin, p->hin,
                                 p->hin, cur_c, cur_h, cur_h);
            if (p->groups < 1 || p->cin % p->groups || p->cout % p->groups)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: bad groups %d", i, p->groups);
            tcet_conv_desc d = {.n = batch, .cin = p->cin, .cout = p->cout, .k = p->k,
                                .stride = p->stride, .pad = p->pad, .groups = p->groups,
                                .h = p->hin, .w = p->hin, .ho = p->hout, .wo = p->hout};
            if ((p->hin + 2 * p->pad - p->k) / p->stride + 1 != p->hout)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s): output size %d inconsistent",
                                 i, p->name, p->hout);
            o->conv = d;
            o->w_count = (size_t)p->cout * (size_t)(p->cin / p->groups) * (size_t)p->k * (size_t)p->k;
            o->b_count = p->bias ? (size_t)p->cout : 0;
            o->out_count = n * (size_t)p->cout * (size_t)p->hout * (size_t)p->hout;
            o->scored = net->nscored;
            net->scored[net->nscored++] = i;
            cur_c = p->cout;
            cur_h = p->hout;
            break;
        }
        case TCET_OP_BN:
            if (p->cin != cur_c)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s): BN of %d channels after %d",
                                 i, p->name, p->cin, cur_c);
            o->w_count = o->b_count = (size_t)p->cin;
            o->out_count = cur;
            break;
        case TCET_OP_RELU:
            o->out_count = cur;
            break;
        case TCET_OP_GAP:
            net->feature_op = i - 1;
            o->out_count = n * (size_t)cur_c;
            cur_h = 1;
            break;
        case TCET_OP_LINEAR:
            if (p->cin != cur_c || cur_h != 1)
                return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: Linear(%d) after %d channels at %dx%d",
                                 i, p->cin, cur_c, cur_h, cur_h);
            o->w_count = (size_t)p->cin * (size_t)p->cout;
            o->b_count = p->bias ? (size_t)p->cout : 0;
            o->out_count = n * (size_t)p->cout;
            o->scored = net->nscored;
            net->scored[net->nscored++] = i;
            cur_c = p->cout;
            break;
        default:
            return TCET_FAIL(TCET_ERR_USAGE, "plan op %d has unknown kind %d", i, p->kind);
        }
        if (in_res && p->kind == TCET_OP_GAP)
            return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: pooling inside a residual wrapper", i);
        cur = o->out_count;
        if (cur > net->max_act) net->max_act = cur;
    }
    if (in_res) return TCET_FAIL(TCET_ERR_USAGE, "plan ends inside a residual wrapper");
    if (net->nops == 0 || net->ops[net->nops - 1].op.kind != TCET_OP_LINEAR)
        return TCET_FAIL(TCET_ERR_USAGE, "plan does not end with the classifier Linear");
    if (net->ops[net->nops - 1].op.cout != net->num_classes)
        return TCET_FAIL(TCET_ERR_USAGE, "classifier has %d outputs, plan says %d classes",
                         net->ops[net->nops - 1].op.cout, net->num_classes);

    size_t need = layout(net, NULL);
    if (net->dry) {
        net->arena_used = need + need / 8; /* as allocated below */
        return 0;
    }
    if (need > net->arena_cap) {
        if (net->arena) be->release(be, net->arena);
        net->arena = NULL;
        net->arena_cap = 0;
        /* 1/8 headroom so that slightly larger candidates do not regrow */
        size_t cap = need + need / 8;
        net->arena = be->alloc(be, cap);
        if (!net->arena)
            return tcet_trace(TCET_ERR_NOMEM, __FILE__, __LINE__, "allocating the network arena");
        net->arena_cap = cap;
    }
    net->arena_used = need;
    layout(net, net->arena);
    net->logits = net->ops[net->nops - 1].y;
    return 0;
}

int tcet_net_build_arch_res(tcet_net *net, tcet_backend *be, const tcet_arch *arch, int bn,
                            int reslink, int num_classes, int resolution, int dtype, int batch)
{
    tcet_plan plan;
    memset(&plan, 0, sizeof plan);
    tcet_plan_opts o = {.reslink = reslink != 0, .bn = bn, .num_classes = num_classes,
                        .resolution = resolution};
    TCET_TRY(tcet_plan_build(arch, &o, &plan));
    int rc = tcet_net_build(net, be, &plan, dtype, batch);
    tcet_plan_free(&plan);
    return rc;
}

int tcet_net_build_arch(tcet_net *net, tcet_backend *be, const tcet_arch *arch, int bn,
                        int num_classes, int resolution, int dtype, int batch)
{
    tcet_plan plan;
    memset(&plan, 0, sizeof plan);
    tcet_plan_opts o = {.reslink = 0, .bn = bn, .num_classes = num_classes, .resolution = resolution};
    TCET_TRY(tcet_plan_build(arch, &o, &plan));
    int rc = tcet_net_build(net, be, &plan, dtype, batch);
    tcet_plan_free(&plan);
    return rc;
}

void tcet_net_free(tcet_net *net)
{
    if (net->arena && net->be) net->be->release(net->be, net->arena);
    free(net->ops);
    free(net->scored);
    free(net->host_tmp);
    free(net->dag_slot_of);
    free(net->dag_written);
    free(net->dag_host);
    if (net->codes32 && net->be) net->be->release(net->be, net->codes32);
    if (net->codes_mem && net->be) net->be->release(net->be, net->codes_mem);
    memset(net, 0, sizeof *net);
}

size_t tcet_net_arena_bytes(const tcet_net *net) { return net->arena_cap; }

int tcet_net_estimate(tcet_backend *be, const tcet_plan *plan, int dtype, int batch, size_t *arena, size_t *host)
{
    tcet_net t;
    memset(&t, 0, sizeof t);
    t.dry = 1;
    int rc = tcet_net_build(&t, be, plan, dtype, batch);
    *arena = t.arena_used;
    /* host_tmp: 2 doubles per element of the largest parameter tensor moved
     * to or from the host */
    size_t big = 0;
    for (int i = 0; i < t.nops; i++)
        if (t.ops[i].w_count > big) big = t.ops[i].w_count;
    *host = 2 * big * sizeof(double);
    free(t.ops);
    free(t.scored);
    free(t.dag_slot_of); /* graph plans (net_dag.c) size these too */
    free(t.dag_written);
    free(t.dag_host);
    return rc;
}

/* ---- host staging --------------------------------------------------- */

/* host_tmp holds 2*count doubles: [0,count) values, [count,2count) raw bytes */
static double *host_scratch(tcet_net *net, size_t count)
{
    size_t need = 2 * (count ? count : 1);
    if (need > net->host_tmp_cap) {
        free(net->host_tmp);
        net->host_tmp = xmalloc(need * sizeof(double));
        net->host_tmp_cap = need;
    }
    return net->host_tmp;
}

/* Host values (double) <-> device bytes of dtype dt.  fp16 goes through
 * float (tcet_half_from_float: round to nearest even); every value that
 * reaches it is a float already (draws, inputs, loaded arrays, another
 * net's parameters), so nothing is rounded twice. */
static void f64_to_raw(int dt, const double *vals, void *raw, size_t count)
{
    if (dt == TCET_F64) {
        memcpy(raw, vals, count * sizeof(double));
    } else if (dt == TCET_F16) {
        uint16_t *h = raw;
        for (size_t i = 0; i < count; i++) h[i] = tcet_half_from_float((float)vals[i]);
    } else {
        float *f = raw;
        for (size_t i = 0; i < count; i++) f[i] = (float)vals[i];
    }
}

static void raw_to_f64(int dt, const void *raw, double *vals, size_t count)
{
    if (dt == TCET_F64) {
        memcpy(vals, raw, count * sizeof(double));
    } else if (dt == TCET_F16) {
        const uint16_t *h = raw;
        for (size_t i = 0; i < count; i++) vals[i] = (double)tcet_half_to_float(h[i]);
    } else {
        const float *f = raw;
        for (size_t i = 0; i < count; i++) vals[i] = (double)f[i];
    }
}

/* Upload `count` doubles (already in host_tmp[0..count)) to dev in the net's dtype. */
static int upload_values(tcet_net *net, void *dev, const double *vals, size_t count)
{
    double *raw = net->host_tmp + count;
    f64_to_raw(net->dtype, vals, raw, count);
    return net->be->upload(net->be, dev, raw, count * tcet_dtype_size(net->dtype));
}

int tcet_net_download_f64(tcet_net *net, const void *dev, size_t count, const double **out)
{
    double *vals = host_scratch(net, count);
    double *raw = vals + count;
    TCET_TRY(net->be->download(net->be, raw, dev, count * tcet_dtype_size(net->dtype)));
    raw_to_f64(net->dtype, raw, vals, count);
    *out = vals;
    return 0;
}

static int fill_const(tcet_net *net, void *dev, size_t count, double v)
{
    if (!dev || !count) return 0;
    double *h = host_scratch(net, count);
    for (size_t i = 0; i < count; i++) h[i] = v;
    return upload_values(net, dev, h, count);
}

/* ---- initialisation --------------------------------------------------- */

static int fill_uniform(tcet_net *net, void *dev, size_t count, float bound, tcet_rng *r)
{
    double *h = host_scratch(net, count);
    for (size_t i = 0; i < count; i++) h[i] = (double)tcet_rng_uniform_f(r, -bound, bound);
    return upload_values(net, dev, h, count);
}

static int fill_normal(tcet_net *net, void *dev, size_t count, tcet_rng *r)
{
    double *h = host_scratch(net, count);
    for (size_t i = 0; i < count; i++) h[i] = (double)(float)tcet_rng_normal(r);
    return upload_values(net, dev, h, count);
}

int tcet_net_init_default(tcet_net *net, tcet_rng *r)
{
    for (int i = 0; i < net->nops; i++) {
        tcet_net_op *o = &net->ops[i];
        if (o->op.kind == TCET_OP_CONV || o->op.kind == TCET_OP_LINEAR) {
            /* kaiming_uniform(a = sqrt 5) ⇒ bound 1/sqrt(fan_in); bias the same */
            size_t fan_in = o->op.kind == TCET_OP_CONV
                                ? (size_t)(o->op.cin / o->op.groups) * (size_t)o->op.k * (size_t)o->op.k
                                : (size_t)o->op.cin;
            float bound = (float)(1.0 / sqrt((double)fan_in));
            TCET_TRY(fill_uniform(net, o->w, o->w_count, bound, r));
            if (o->b_count) TCET_TRY(fill_uniform(net, o->b, o->b_count, bound, r));
        } else if (o->op.kind == TCET_OP_BN) {
            TCET_TRY(fill_const(net, o->w, o->w_count, 1.0));
            TCET_TRY(fill_const(net, o->b, o->b_count, 0.0));
            TCET_TRY(fill_const(net, o->rm, o->w_count, 0.0));
            TCET_TRY(fill_const(net, o->rv, o->w_count, 1.0));
        }
    }
    return 0;
}

int tcet_net_init_gaussian(tcet_net *net, tcet_rng *r)
{
    for (int i = 0; i < net->nops; i++) {
        tcet_net_op *o = &net->ops[i];
        if (o->op.kind == TCET_OP_CONV || o->op.kind == TCET_OP_LINEAR) {
            TCET_TRY(fill_normal(net, o->w, o->w_count, r));
            if (o->b_count) TCET_TRY(fill_const(net, o->b, o->b_count, 0.0));
        } else if (o->op.kind == TCET_OP_BN) {
            TCET_TRY(fill_const(net, o->w, o->w_count, 1.0));
            TCET_TRY(fill_const(net, o->b, o->b_count, 0.0));
        }
    }
    return 0;
}

/* ---- parameters in state_dict order ------------------------------------ */

int tcet_net_num_params(const tcet_net *net)
{
    int n = 0;
    for (int i = 0; i < net->nops; i++) {
        const tcet_net_op *o = &net->ops[i];
        if (o->op.kind == TCET_OP_CONV || o->op.kind == TCET_OP_LINEAR) n += o->b_count ? 2 : 1;
        else if (o->op.kind == TCET_OP_BN) n += 4;
    }
    return n;
}

int tcet_net_param(const tcet_net *net, int idx, size_t *count, void **dev, char *name, size_t cap)
{
    static const char *const bn_keys[4] = {"weight", "bias", "running_mean", "running_var"};
    int n = 0;
    for (int i = 0; i < net->nops; i++) {
        const tcet_net_op *o = &net->ops[i];
        int k = 0;
        void *ptrs[4] = {o->w, o->b, o->rm, o->rv};
        size_t cnt[4] = {o->w_count, o->b_count, o->w_count, o->w_count};
        if (o->op.kind == TCET_OP_CONV || o->op.kind == TCET_OP_LINEAR) k = o->b_count ? 2 : 1;
        else if (o->op.kind == TCET_OP_BN) k = 4;
        if (idx < n + k) {
            int j = idx - n;
            if (count) *count = cnt[j];
            if (dev) *dev = ptrs[j];
            if (name && cap) snprintf(name, cap, "%s.%s", o->op.name, bn_keys[j]);
            return 0;
        }
        n += k;
    }
    return TCET_FAIL(TCET_ERR_USAGE, "parameter index %d out of range (%d parameters)", idx, n);
}

int tcet_net_load_params(tcet_net *net, int n, const float *const *arrays, const size_t *counts)
{
    int want = tcet_net_num_params(net);
    if (n != want)
        return TCET_FAIL(TCET_ERR_DATA, "%d parameter tensors given, the network has %d", n, want);
    for (int i = 0; i < n; i++) {
        size_t cnt;
        void *dev;
        char name[128];
        TCET_TRY(tcet_net_param(net, i, &cnt, &dev, name, sizeof name));
        if (cnt != counts[i])
            return TCET_FAIL(TCET_ERR_DATA, "parameter %d (%s): %zu values given, %zu expected",
                             i, name, counts[i], cnt);
        double *h = host_scratch(net, cnt);
        for (size_t j = 0; j < cnt; j++) h[j] = (double)arrays[i][j];
        TCET_TRY(upload_values(net, dev, h, cnt));
    }
    return 0;
}

/* Copy one tensor src -> dst through the host (dtype conversion, |·|). */
static int copy_tensor(tcet_net *dst, void *ddev, const tcet_net *src, const void *sdev,
                       size_t count, int absval)
{
    if (!count) return 0;
    /* download with src's dtype into dst's scratch */
    double *vals = host_scratch(dst, count);
    double *raw = vals + count;
    TCET_TRY(src->be->download(src->be, raw, sdev, count * tcet_dtype_size(src->dtype)));
    raw_to_f64(src->dtype, raw, vals, count);
    if (absval)
        for (size_t i = 0; i < count; i++) vals[i] = fabs(vals[i]);
    return upload_values(dst, ddev, vals, count);
}

int tcet_net_copy_params(tcet_net *dst, const tcet_net *src, int absval)
{
    if (dst->nscored != src->nscored)
        return TCET_FAIL(TCET_ERR_USAGE, "copy_params: %d vs %d layers", dst->nscored, src->nscored);
    for (int l = 0; l < dst->nscored; l++) {
        tcet_net_op *d = &dst->ops[dst->scored[l]];
        const tcet_net_op *s = &src->ops[src->scored[l]];
        if (d->w_count != s->w_count || d->b_count != s->b_count)
            return TCET_FAIL(TCET_ERR_USAGE, "copy_params: layer %d shapes differ", l);
        TCET_TRY(copy_tensor(dst, d->w, src, s->w, d->w_count, absval));
        TCET_TRY(copy_tensor(dst, d->b, src, s->b, d->b_count, absval));
    }
    if (dst->has_bn && src->has_bn) {
        int j = 0;
        for (int i = 0; i < dst->nops; i++) {
            tcet_net_op *d = &dst->ops[i];
            if (d->op.kind != TCET_OP_BN) continue;
            while (j < src->nops && src->ops[j].op.kind != TCET_OP_BN) j++;
            if (j >= src->nops) return TCET_FAIL(TCET_ERR_USAGE, "copy_params: BN count differs");
            const tcet_net_op *s = &src->ops[j++];
            TCET_TRY(copy_tensor(dst, d->w, src, s->w, d->w_count, absval));
            TCET_TRY(copy_tensor(dst, d->b, src, s->b, d->b_count, absval));
            TCET_TRY(copy_tensor(dst, d->rm, src, s->rm, d->w_count, absval));
            TCET_TRY(copy_tensor(dst, d->rv, src, s->rv, d->w_count, absval));
        }
    }
    return 0;
}

int tcet_net_abs_params(tcet_net *net)
{
    return tcet_net_copy_params(net, net, 1);
}

/* ---- inputs ------------------------------------------------------------ */

int tcet_net_set_input(tcet_net *net, const float *x_host)
{
    size_t count = net->ops[0].in_count;
    if (net->dtype == TCET_F32) return net->be->upload(net->be, net->x, x_host, count * sizeof(float));
    double *h = host_scratch(net, count);
    for (size_t i = 0; i < count; i++) h[i] = (double)x_host[i];
    return upload_values(net, net->x, h, count);
}

int tcet_net_set_input_ones(tcet_net *net)
{
    return fill_const(net, net->x, net->ops[0].in_count, 1.0);
}

int tcet_net_set_labels(tcet_net *net, const int32_t *labels_host)
{
    for (int i = 0; i < net->batch; i++)
        if (labels_host[i] < 0 || labels_host[i] >= net->num_classes)
            return TCET_FAIL(TCET_ERR_DATA, "label %d of sample %d outside [0, %d)", labels_host[i],
                             i, net->num_classes);
    return net->be->upload(net->be, net->labels, labels_host, (size_t)net->batch * sizeof(int32_t));
}

/* fp16 nets have no gradient buffers (forward only) */
static int refuse_f16(const tcet_net *net, const char *what)
{
    if (net->dtype == TCET_F16)
        return TCET_FAIL(TCET_ERR_USAGE, "%s: fp16 networks run eval-mode forwards only "
                         "(the latency filter); gradients need a float32/float64 network", what);
    return 0;
}

int tcet_net_dlogits_ones(tcet_net *net)
{
    TCET_TRY(refuse_f16(net, "dlogits"));
    return fill_const(net, net->dlogits, (size_t)net->batch * (size_t)net->num_classes, 1.0);
}

int tcet_net_set_dlogits(tcet_net *net, const void *host)
{
    TCET_TRY(refuse_f16(net, "dlogits"));
    return net->be->upload(net->be, net->dlogits, host,
                           (size_t)net->batch * (size_t)net->num_classes * tcet_dtype_size(net->dtype));
}

/* ---- forward / backward ------------------------------------------------ */

#define BN_EPS 1e-3
#define BN_MOMENTUM 0.1

/* ops i .. i + 5 are conv 1x1, BN, ReLU, conv 1x1, BN, ReLU of the chain
 * (none of a projection), the pattern be->conv_pair_eval takes; only an
 * eval-mode forward with codes (tcet_net.want_codes) uses it, and nothing
 * there reads the conv outputs or the first ReLU output. */
static int pair_at(const tcet_net *net, int i)
{
    if (i + 5 >= net->nops || !net->skip_bn_out) return 0;
    static const int kinds[6] = {TCET_OP_CONV, TCET_OP_BN, TCET_OP_RELU, TCET_OP_CONV, TCET_OP_BN, TCET_OP_RELU};
    for (int k = 0; k < 6; k++)
        if (net->ops[i + k].op.kind != kinds[k] || net->ops[i + k].op.is_proj) return 0;
    const tcet_op *a = &net->ops[i].op, *b = &net->ops[i + 3].op;
    return a->k == 1 && b->k == 1 && a->stride == 1 && b->stride == 1 && a->groups == 1 && b->groups == 1 &&
           net->ops[i].codes && net->ops[i + 3].codes;
}

/* ops i .. i + 4 are BN, ReLU, a 1x1 stride-1 conv without bias, BN, ReLU
 * of the chain (none of a projection): the ReLU output (op i + 1) is read
 * by the conv alone, and the backward takes that conv with its BN + ReLU in
 * one be->conv_bn_relu_bwd, which can recompute it (be->bn_relu_conv_train). */
static int relu_conv_at(const tcet_net *net, int i)
{
    if (i + 4 >= net->nops) return 0;
    static const int kinds[5] = {TCET_OP_BN, TCET_OP_RELU, TCET_OP_CONV, TCET_OP_BN, TCET_OP_RELU};
    for (int k = 0; k < 5; k++)
        if (net->ops[i + k].op.kind != kinds[k] || net->ops[i + k].op.is_proj) return 0;
    const tcet_net_op *c = &net->ops[i + 2];
    return c->op.k == 1 && c->op.stride == 1 && c->op.groups == 1 && !c->b_count;
}

int tcet_net_forward(tcet_net *net, int train, int update_running)
{
    tcet_backend *be = net->be;
    int dt = net->dtype, n = net->batch;
    const void *in = net->x;
    if (train) TCET_TRY(refuse_f16(net, "train-mode forward"));
    if (net->dag) return tcet_net_dag_forward(net, train, update_running);
    for (int i = 0; i < net->nops; i++) net->ops[i].codes_ok = net->ops[i].y_unstored = 0;
    if (!train && net->want_codes && be->conv_bn_relu_eval) {
        /* code rows of every conv output: whole 64-bit words per image */
        size_t need = 0;
        for (int i = 0; i < net->nops; i++)
            if (net->ops[i].op.kind == TCET_OP_CONV)
                need += (size_t)n * ((net->ops[i].out_count / (size_t)n + 63) / 64) * 8;
        if (need > net->codes_cap) {
            if (net->codes_mem) be->release(be, net->codes_mem);
            net->codes_cap = 0;
            if (!(net->codes_mem = be->alloc(be, need)))
                return tcet_trace(TCET_ERR_NOMEM, __FILE__, __LINE__, "allocating the NASWOT code rows");
            net->codes_cap = need;
        }
        size_t off = 0;
        for (int i = 0; i < net->nops; i++) {
            net->ops[i].codes = NULL;
            if (net->ops[i].op.kind != TCET_OP_CONV) continue;
            net->ops[i].codes = (char *)net->codes_mem + off;
            off += (size_t)n * ((net->ops[i].out_count / (size_t)n + 63) / 64) * 8;
        }
    }
    /* residual wrapper: the remembered input, and the inner output once a
     * projection has started (the projection reads `res`, not `in`) */
    const void *res = NULL, *inner = NULL;
    for (int i = 0; i < net->nops; i++) {
        tcet_net_op *o = &net->ops[i];
        const tcet_op *p = &o->op;
        int hw = p->hin * p->hin;
        if (p->is_proj && !inner) {
            inner = in;
            in = res;
        }
        switch (p->kind) {
        case TCET_OP_RES_BEGIN:
            res = in;   /* o->y aliases the same tensor (see layout) */
            break;
        case TCET_OP_RES_END:
            /* y = inner(x) + shortcut(x); shortcut = projection output or x */
            if (inner) TCET_TRY(be->add(be, dt, o->out_count, inner, in, o->y));
            else TCET_TRY(be->add(be, dt, o->out_count, in, res, o->y));
            res = inner = NULL;
            break;
        case TCET_OP_CONV:
            if (!train && net->want_codes && be->conv_pair_eval && pair_at(net, i)) {
                /* two 1x1 convs with their BN + ReLU: the wide tensor between them stays in the caches */
                tcet_net_op *bn1 = &net->ops[i + 1], *c2 = &net->ops[i + 3], *bn2 = &net->ops[i + 4];
                tcet_net_op *r2 = &net->ops[i + 5];
                const tcet_bn_eval e1 = {bn1->w, bn1->b, bn1->rm, bn1->rv}, e2 = {bn2->w, bn2->b, bn2->rm, bn2->rv};
                int done = 0;
                TCET_TRY(be->conv_pair_eval(be, dt, &o->conv, &c2->conv, in, o->w, o->b, c2->w, c2->b, BN_EPS, &e1,
                                            &e2, r2->y, o->codes, c2->codes, &done));
                if (done) {
                    o->codes_ok = c2->codes_ok = 1;
                    i += 5;
                    o = r2;
                    break;
                }
            }
            if (!train && net->skip_bn_out && be->conv_bn_relu_eval && i + 2 < net->nops &&
                net->ops[i + 1].op.kind == TCET_OP_BN && !net->ops[i + 1].op.is_proj &&
                net->ops[i + 2].op.kind == TCET_OP_RELU && !net->ops[i + 2].op.is_proj) {
                /* eval mode, BN output not kept: conv, BN and ReLU in one pass (same values) */
                tcet_net_op *bn = &net->ops[i + 1], *r = &net->ops[i + 2];
                TCET_TRY(be->conv_bn_relu_eval(be, dt, &o->conv, in, o->w, o->b, BN_EPS, bn->w, bn->b, bn->rm,
                                               bn->rv, o->y, r->y, net->want_codes ? o->codes : NULL,
                                               &o->codes_ok));
                i += 2;
                o = r;
                break;
            }
            TCET_TRY(be->conv_fwd(be, dt, &o->conv, in, o->w, o->b, o->y));
            break;
        case TCET_OP_BN:
            if (train && net->skip_bn_out && be->bn_relu_conv_train && relu_conv_at(net, i)) {
                /* BN + ReLU whose output only a 1x1 conv reads: the conv applies them as it reads x */
                tcet_net_op *r = &net->ops[i + 1], *cv = &net->ops[i + 2];
                int done = 0;
                TCET_TRY(be->bn_relu_conv_train(be, dt, n, p->cin, hw, BN_EPS, BN_MOMENTUM, in, o->w, o->b, o->rm,
                                                o->rv, update_running, o->save_mean, o->save_invstd, &cv->conv,
                                                cv->w, cv->b, cv->y, &done));
                if (done) {
                    r->y_unstored = 1;
                    i += 2;
                    o = cv;
                    break;
                }
            }
            if (be->bn_relu_fwd && i + 1 < net->nops && net->ops[i + 1].op.kind == TCET_OP_RELU &&
                !net->ops[i + 1].op.is_proj) {
                /* the BN and the ReLU after it in one pass (both outputs kept) */
                tcet_net_op *r = &net->ops[i + 1];
                TCET_TRY(be->bn_relu_fwd(be, dt, train, n, p->cin, hw, BN_EPS, BN_MOMENTUM, in, o->w, o->b,
                                         o->rm, o->rv, update_running, net->skip_bn_out ? NULL : o->y,
                                         r->y, o->save_mean, o->save_invstd));
                i++;
                o = r;
                break;
            }
            TCET_TRY(be->bn_fwd(be, dt, train, n, p->cin, hw, BN_EPS, BN_MOMENTUM, in, o->w, o->b,
                                o->rm, o->rv, update_running, o->y, o->save_mean, o->save_invstd));
            break;
        case TCET_OP_RELU:
            TCET_TRY(be->relu_fwd(be, dt, o->out_count, in, o->y));
            break;
        case TCET_OP_GAP:
            TCET_TRY(be->gap_fwd(be, dt, n, p->cin, hw, in, o->y));
            break;
        case TCET_OP_LINEAR:
            TCET_TRY(be->linear_fwd(be, dt, n, p->cin, p->cout, in, o->w, o->b, o->y));
            break;
        default:
            return TCET_FAIL(TCET_ERR_USAGE, "op kind %d not supported by the executor", p->kind);
        }
        in = o->y;
    }
    net->last_train = train;
    return 0;
}

int tcet_net_xent(tcet_net *net, double *loss)
{
    if (net->dtype == TCET_F32)
        return net->be->softmax_xent(net->be, net->batch, net->num_classes, net->logits, net->labels,
                                     loss, net->dlogits);
    if (net->dtype != TCET_F64)
        return TCET_FAIL(TCET_ERR_USAGE, "cross-entropy needs a float32 or float64 network");
    /* float64: the backend op's formula (log-sum-exp around the row maximum),
     * every step in double, on the host */
    const int n = net->batch, classes = net->num_classes;
    const size_t nc = (size_t)n * (size_t)classes;
    const double *z;
    TCET_TRY(tcet_net_download_f64(net, net->logits, nc, &z));
    double *g = xmalloc(nc * sizeof *g);
    int32_t *lab = xmalloc((size_t)n * sizeof *lab);
    int rc = net->be->download(net->be, lab, net->labels, (size_t)n * sizeof *lab);
    double total = 0.0;
    for (int i = 0; i < n && rc == 0; i++) {
        const double *l = z + (size_t)i * (size_t)classes;
        double mx = l[0], se = 0.0;
        for (int j = 1; j < classes; j++)
            if (l[j] > mx) mx = l[j];
        for (int j = 0; j < classes; j++) se += exp(l[j] - mx);
        const double lse = mx + log(se);
        total += lse - l[lab[i]];
        for (int j = 0; j < classes; j++)
            g[(size_t)i * (size_t)classes + (size_t)j] = (exp(l[j] - lse) - (j == lab[i] ? 1.0 : 0.0)) / n;
    }
    if (rc == 0) rc = net->be->upload(net->be, net->dlogits, g, nc * sizeof *g);
    free(g);
    free(lab);
    if (rc == 0 && loss) *loss = total / n;
    return rc;
}

int tcet_net_gram_codes(tcet_net *net, const void *x, int n, size_t d, double *K, int64_t *pos)
{
    tcet_backend *be = net->be;
    if (net->dtype == TCET_F32) return be->gram_codes(be, n, d, x, K, pos);
    const size_t count = (size_t)n * d;
    const double *v;
    TCET_TRY(tcet_net_download_f64(net, x, count, &v));
    /* the float32 copy goes into the second half of the host scratch, which
     * download_f64 has sized to count doubles */
    float *f = (float *)(net->host_tmp + count);
    for (size_t i = 0; i < count; i++) {
        float t = (float)v[i];
        f[i] = v[i] > 0.0 && !(t > 0.0f) ? FLT_TRUE_MIN : t;
    }
    if (net->codes32_cap < count) {
        if (net->codes32) be->release(be, net->codes32);
        net->codes32_cap = 0;
        net->codes32 = be->alloc(be, count * sizeof(float));
        if (!net->codes32)
            return tcet_trace(TCET_ERR_NOMEM, __FILE__, __LINE__, "allocating the float32 copy for the NASWOT codes");
        net->codes32_cap = count;
    }
    TCET_TRY(be->upload(be, net->codes32, f, count * sizeof(float)));
    return be->gram_codes(be, n, d, net->codes32, K, pos);
}

/* Backward through a residual wrapper y = inner(x) + sc(x), called at its
 * RES_END e with the incoming gradient dy (docs/semantics.md#residual-wrappers: sc = BN(conv1x1(x))
 * or x).  The shortcut is differentiated at once: the projection's
 * parameter gradients (train-mode BN, conv weight and bias) and its input
 * gradient, written to the spare buffer; an identity shortcut's input
 * gradient is dy itself, whose buffer is swapped out of the ping-pong pair
 * so that the inner branch cannot overwrite it.  *sc_grad stays valid until
 * the matching RES_BEGIN, which adds it to the inner branch's input gradient.
 * *first_proj = index of the projection's first op (= e without one): the
 * inner branch's last op is the one before it and also receives dy. */
static int res_end_bwd(tcet_net *net, int e, const void *dy, void *bufs[2], int nb, void **spare,
                       const void **sc_grad, int *first_proj)
{
    tcet_backend *be = net->be;
    int dt = net->dtype, n = net->batch;
    int b = e - 1;
    while (b >= 0 && net->ops[b].op.kind != TCET_OP_RES_BEGIN) b--;
    if (b < 0) return TCET_FAIL(TCET_ERR_USAGE, "plan op %d: RES_END without RES_BEGIN", e);
    int j = e;
    while (j - 1 > b && net->ops[j - 1].op.is_proj) j--;
    *first_proj = j;
    if (j == e) {
        if (dy == bufs[nb ^ 1]) {
            bufs[nb ^ 1] = *spare;
            *spare = (void *)dy;
        }
        *sc_grad = dy;
        return 0;
    }
    const void *g = dy;
    for (int k = e - 1; k >= j; k--) {
        tcet_net_op *o = &net->ops[k];
        const void *x = k == j ? net->ops[b].y : net->ops[k - 1].y;
        if (o->op.kind == TCET_OP_BN && k > j) {
            TCET_TRY(be->bn_bwd(be, dt, n, o->op.cin, o->op.hin * o->op.hin, x, g, o->w, o->save_mean,
                                o->save_invstd, bufs[nb], o->gw, o->gb));
            g = bufs[nb];
        } else if (o->op.kind == TCET_OP_CONV && k == j) {
            TCET_TRY(be->conv_bwd_filter(be, dt, &o->conv, x, g, o->gw, o->gb));
            TCET_TRY(be->conv_bwd_data(be, dt, &o->conv, o->w, g, *spare));
        } else {
            return TCET_FAIL(TCET_ERR_USAGE, "plan op %d (%s): a projection is a conv and an "
                             "optional BN", k, o->op.name);
        }
    }
    *sc_grad = *spare;
    return 0;
}

int tcet_net_op_backward(tcet_net *net, tcet_net_op *o, const void *x, const void *dy, void *dx, int need_dx)
{
    tcet_backend *be = net->be;
    int dt = net->dtype, n = net->batch;
    const tcet_op *p = &o->op;
    int hw = p->hin * p->hin;
    switch (p->kind) {
    case TCET_OP_CONV:
        TCET_TRY(be->conv_bwd_filter(be, dt, &o->conv, x, dy, o->gw, o->gb));
        if (need_dx) TCET_TRY(be->conv_bwd_data(be, dt, &o->conv, o->w, dy, dx));
        return 0;
    case TCET_OP_BN:
        TCET_TRY(be->bn_bwd(be, dt, n, p->cin, hw, x, dy, o->w, o->save_mean, o->save_invstd, dx, o->gw, o->gb));
        return 0;
    case TCET_OP_RELU:
        if (need_dx) TCET_TRY(be->relu_bwd(be, dt, o->out_count, o->y, dy, dx));
        return 0;
    case TCET_OP_GAP:
        if (need_dx) TCET_TRY(be->gap_bwd(be, dt, n, p->cin, hw, dy, dx));
        return 0;
    case TCET_OP_LINEAR:
        TCET_TRY(be->linear_bwd(be, dt, n, p->cin, p->cout, x, o->w, dy, need_dx ? dx : NULL, o->gw, o->gb));
        return 0;
    default:
        return TCET_FAIL(TCET_ERR_USAGE, "op kind %d not supported by the executor", p->kind);
    }
}

int tcet_net_backward(tcet_net *net, int skip_input_grad)
{
    tcet_backend *be = net->be;
    int dt = net->dtype, n = net->batch;
    TCET_TRY(refuse_f16(net, "backward"));
    if (net->last_train < 0)
        return TCET_FAIL(TCET_ERR_USAGE, "backward before any forward");
    if (net->has_bn && net->last_train == 0)
        return TCET_FAIL(TCET_ERR_USAGE, "backward after an eval-mode forward through BN is not supported");
    if (net->dag) return tcet_net_dag_backward(net, skip_input_grad);
    const void *dy = net->dlogits;
    void *bufs[2] = {net->grad_a, net->grad_b};
    int nb = 0;
    void *spare = net->grad_c;      /* residual nets: third gradient buffer */
    const void *res_sc = NULL;      /* shortcut's input gradient of the open wrapper */
    for (int i = net->nops - 1; i >= 0; i--) {
        tcet_net_op *o = &net->ops[i];
        const tcet_op *p = &o->op;
        const void *x = i ? net->ops[i - 1].y : net->x;
        int need_dx = !(i == 0 && skip_input_grad);
        void *dx = bufs[nb];
        if (p->kind == TCET_OP_RES_END) {
            /* both branches get dy; the inner one continues below the projection */
            int first_proj = i;
            TCET_TRY(res_end_bwd(net, i, dy, bufs, nb, &spare, &res_sc, &first_proj));
            i = first_proj;
            continue;
        }
        if (p->kind == TCET_OP_RES_BEGIN) {
            if (need_dx) TCET_TRY(be->add(be, dt, o->out_count, dy, res_sc, dx));
            res_sc = NULL;
            dy = dx;
            nb ^= 1;
            continue;
        }
        if (p->kind == TCET_OP_RELU && be->conv_bn_relu_bwd && i >= 2 && net->ops[i - 1].op.kind == TCET_OP_BN &&
            net->ops[i - 2].op.kind == TCET_OP_CONV && !p->is_proj && !net->ops[i - 1].op.is_proj &&
            !net->ops[i - 2].op.is_proj && !net->ops[i - 2].b_count) {
            /* ReLU, BN and the conv before them in one op: the BN's input gradient stays in L2 */
            tcet_net_op *bn = &net->ops[i - 1], *cv = &net->ops[i - 2];
            const void *cx = i >= 3 ? net->ops[i - 3].y : net->x;
            const int cdx = !(i - 2 == 0 && skip_input_grad);
            /* the conv's input unstored (bn_relu_conv_train): relu(bn(x)) of ops i - 4, i - 3 */
            tcet_bn_relu_in xin, *xp = NULL;
            if (i >= 4 && net->ops[i - 3].y_unstored) {
                const tcet_net_op *xb = &net->ops[i - 4];
                xin = (tcet_bn_relu_in){i >= 5 ? net->ops[i - 5].y : net->x, xb->w, xb->b, xb->save_mean,
                                        xb->save_invstd};
                xp = &xin;
                cx = NULL;
            }
            int done = 0;
            TCET_TRY(be->conv_bn_relu_bwd(be, dt, &cv->conv, cx, cv->w, cv->y, dy, bn->w, bn->b, bn->save_mean,
                                          bn->save_invstd, bn->gw, bn->gb, cv->gw, cdx ? dx : NULL, xp, &done));
            if (!done && xp)
                return TCET_FAIL(TCET_ERR_BACKEND, "backend %s fused a BN + ReLU into conv %s in the forward "
                                 "but does not take its backward", be->name, cv->op.name);
            if (done) {
                dy = dx;
                nb ^= 1;
                i -= 2;
                continue;
            }
        }
        if ((p->kind == TCET_OP_CONV && i >= 1 && net->ops[i - 1].y_unstored) ||
            (p->kind == TCET_OP_RELU && o->y_unstored && !(be->bn_relu_bwd && i >= 1 &&
                                                           net->ops[i - 1].op.kind == TCET_OP_BN)))
            return TCET_FAIL(TCET_ERR_BACKEND, "backward of op %d (%s) needs a ReLU output the forward did not "
                             "store", i, p->name);
        if (p->kind == TCET_OP_RELU && be->bn_relu_bwd && i >= 1 && net->ops[i - 1].op.kind == TCET_OP_BN &&
            !p->is_proj && !net->ops[i - 1].op.is_proj) {
            /* ReLU and the BN before it in one pass (the mask is recomputed from the BN input) */
            tcet_net_op *bn = &net->ops[i - 1];
            const void *bx = i >= 2 ? net->ops[i - 2].y : net->x;
            TCET_TRY(be->bn_relu_bwd(be, dt, n, bn->op.cin, bn->op.hin * bn->op.hin, bx, dy, bn->w, bn->b,
                                     bn->save_mean, bn->save_invstd, dx, bn->gw, bn->gb));
            i--;
        } else {
            TCET_TRY(tcet_net_op_backward(net, o, x, dy, dx, need_dx));
        }
        dy = dx;
        nb ^= 1;
    }
    return 0;
}
