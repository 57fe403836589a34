/* Expansion of super blocks into the flat op plan (docs/semantics.md#super-blocks, docs/semantics.md#budget-network-and-scoring-network, docs/semantics.md#layer-order).
 *
 * Module names follow PyTorch's registration order: a super block's
 * module_list holds its expanded basic blocks (ConvKX/BN/RELU, or the
 * residual wrappers when reslink), each ConvKX/BN keeps its torch layer in
 * child "netblock", a wrapper holds "module_list" (inner) then "proj"
 * (projection conv ".0", its BN ".1").  Indices count BN modules even when
 * the plan omits BN (bn = 0 is the Synflow copy of the same network, whose
 * module names do not change). */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "mutate.h"
#include "nb201.h"

/* One basic element of a wrapper's inner list. */
typedef struct {
    int kind;  /* TCET_OP_CONV / TCET_OP_BN / TCET_OP_RELU */
    int cin, cout, k, stride, groups;
} elem;

typedef struct {
    tcet_plan *p;
    int block;
    int h;      /* current true spatial size */
} emitter;

static tcet_op *push(tcet_plan *p, int kind, int block)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 128;
        p->ops = xrealloc(p->ops, (size_t)p->cap * sizeof *p->ops);
    }
    tcet_op *op = &p->ops[p->n++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->block = block;
    return op;
}

/* "<prefix>.<idx><suffix>"; names are at most ~60 characters by the parser's limits. */
static void set_name(tcet_op *op, const char *prefix, int idx, const char *suffix)
{
    int w = snprintf(op->name, sizeof op->name, "%s.%d%s", prefix, idx, suffix);
    if (w < 0 || (size_t)w >= sizeof op->name) tcet_die(__FILE__, __LINE__, "module name too long: %s", prefix);
}

static int emit_conv(emitter *E, const char *prefix, int idx, const elem *e)
{
    int pad = (e->k - 1) / 2;
    if (E->h + 2 * pad < e->k)
        return TCET_FAIL(TCET_ERR_USAGE, "block %d: spatial size %d is too small for a %dx%d convolution "
                         "(raise --resolution or remove strides)", E->block + 1, E->h, e->k, e->k);
    tcet_op *op = push(E->p, TCET_OP_CONV, E->block);
    op->cin = e->cin;
    op->cout = e->cout;
    op->k = e->k;
    op->stride = e->stride;
    op->pad = pad;
    op->groups = e->groups;
    op->hin = E->h;
    op->hout = (E->h + 2 * pad - e->k) / e->stride + 1;
    set_name(op, prefix, idx, ".netblock");
    E->h = op->hout;
    return 0;
}

static void emit_simple(emitter *E, int kind, const char *prefix, int idx, int c)
{
    if (kind == TCET_OP_BN && !E->p->opts.bn) return;
    tcet_op *op = push(E->p, kind, E->block);
    op->cin = op->cout = c;
    op->k = op->stride = op->groups = 1;
    op->hin = op->hout = E->h;
    set_name(op, prefix, idx, kind == TCET_OP_BN ? ".netblock" : "");
}

static int emit_elems(emitter *E, const char *prefix, int first_idx, const elem *v, int n)
{
    for (int i = 0; i < n; i++) {
        if (v[i].kind == TCET_OP_CONV) TCET_TRY(emit_conv(E, prefix, first_idx + i, &v[i]));
        else emit_simple(E, v[i].kind, prefix, first_idx + i, v[i].cout);
    }
    return 0;
}

/* conv [bn] [relu] appended to v (BN always listed: it owns a module index). */
static int cbr(elem *v, int n, int cin, int cout, int k, int s, int relu, int dw)
{
    v[n++] = (elem){TCET_OP_CONV, cin, cout, k, s, dw ? cout : 1};
    v[n++] = (elem){TCET_OP_BN, cout, cout, 1, 1, 1};
    if (relu) v[n++] = (elem){TCET_OP_RELU, cout, cout, 1, 1, 1};
    return n;
}

/* WRAP(inner, first) RELU(out): inline (scoring) or a residual wrapper (budget).
 * *j is the next index in the super block's module_list. */
static int wrap(emitter *E, int *j, const elem *inner, int n, int first)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "module_list.%d.module_list", E->block);
    int cout = inner[n - 1].cout;
    if (!E->p->opts.reslink) {
        TCET_TRY(emit_elems(E, prefix, *j, inner, n));
        *j += n;
        emit_simple(E, TCET_OP_RELU, prefix, (*j)++, cout);
        return 0;
    }
    int cin = inner[0].cin, stride = 1;
    for (int i = 0; i < n; i++) stride *= inner[i].stride;
    int has_proj = first || stride > 1 || cin != cout;
    int hin = E->h;
    tcet_op *op = push(E->p, TCET_OP_RES_BEGIN, E->block);
    op->cin = cin;
    op->cout = cout;
    op->stride = stride;
    op->res_has_proj = has_proj;
    op->hin = hin;
    int begin = E->p->n - 1; /* index, not pointer: ops may move in xrealloc */
    char inner_prefix[80];
    snprintf(inner_prefix, sizeof inner_prefix, "%s.%d.module_list", prefix, *j);
    TCET_TRY(emit_elems(E, inner_prefix, 0, inner, n));
    int hout = E->h;
    if (has_proj) {
        tcet_op *c = push(E->p, TCET_OP_CONV, E->block);
        c->cin = cin;
        c->cout = cout;
        c->k = 1;
        c->stride = stride;
        c->pad = 0;
        c->groups = 1;
        c->bias = 1;
        c->is_proj = 1;
        c->hin = hin;
        c->hout = (hin - 1) / stride + 1;
        set_name(c, prefix, *j, ".proj.0");
        if (E->p->opts.bn) {
            tcet_op *b = push(E->p, TCET_OP_BN, E->block);
            b->cin = b->cout = cout;
            b->k = b->stride = b->groups = 1;
            b->is_proj = 1;
            b->hin = b->hout = hout;
            set_name(b, prefix, *j, ".proj.1");
        }
    }
    tcet_op *e = push(E->p, TCET_OP_RES_END, E->block);
    e->cin = cin;
    e->cout = cout;
    e->stride = stride;
    e->res_has_proj = has_proj;
    e->hin = hin;
    e->hout = hout;
    E->p->ops[begin].hout = hout; /* known only now */
    (*j)++;
    emit_simple(E, TCET_OP_RELU, prefix, (*j)++, cout);
    return 0;
}

static int expand_block(emitter *E, const tcet_block *b)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "module_list.%d.module_list", E->block);
    int j = 0, last = b->in, s = b->stride, k = b->kernel;
    elem v[12];
    for (int i = 0; i < b->layers; i++) {
        int n = 0;
        switch (b->family) {
        case TCET_FAM_CONV:
            n = cbr(v, 0, last, b->out, k, s, 1, 0);
            TCET_TRY(emit_elems(E, prefix, j, v, n));
            j += n;
            break;
        case TCET_FAM_KXKX:
            n = cbr(v, 0, last, b->btl, k, s, 1, 0);
            n = cbr(v, n, b->btl, b->out, k, 1, 0, 0);
            TCET_TRY(wrap(E, &j, v, n, i == 0));
            break;
        case TCET_FAM_K1KXK1:
            n = cbr(v, 0, last, b->btl, 1, 1, 1, 0);
            n = cbr(v, n, b->btl, b->btl, k, s, 1, 0);
            n = cbr(v, n, b->btl, b->out, 1, 1, 0, 0);
            TCET_TRY(wrap(E, &j, v, n, i == 0));
            n = cbr(v, 0, b->out, b->btl, 1, 1, 1, 0);
            n = cbr(v, n, b->btl, b->btl, k, 1, 1, 0);
            n = cbr(v, n, b->btl, b->out, 1, 1, 0, 0);
            TCET_TRY(wrap(E, &j, v, n, 0));
            break;
        case TCET_FAM_IDW: {
            int d1 = tcet_smart_round((double)b->btl * b->expansion, 8);
            int d2 = tcet_smart_round((double)b->out * b->expansion, 8);
            n = cbr(v, 0, last, d1, 1, 1, 1, 0);
            n = cbr(v, n, d1, d1, k, s, 1, 1);
            n = cbr(v, n, d1, b->btl, 1, 1, 0, 0);
            TCET_TRY(wrap(E, &j, v, n, i == 0));
            n = cbr(v, 0, b->btl, d2, 1, 1, 1, 0);
            n = cbr(v, n, d2, d2, k, 1, 1, 1);
            n = cbr(v, n, d2, b->out, 1, 1, 0, 0);
            TCET_TRY(wrap(E, &j, v, n, 0));
            break;
        }
        default:
            return TCET_FAIL(TCET_ERR_USAGE, "block %d: unknown family %d", E->block + 1, b->family);
        }
        last = b->out;
        s = 1;
    }
    return 0;
}

int tcet_plan_build(const tcet_arch *a, const tcet_plan_opts *o, tcet_plan *out)
{
    if (a->grammar == TCET_GRAMMAR_NB201) return tcet_nb201_plan(a, o, out);
    memset(out, 0, sizeof *out);
    out->opts = *o;
    if (a->n < 1) return TCET_FAIL(TCET_ERR_USAGE, "empty structure");
    if (o->num_classes < 1) return TCET_FAIL(TCET_ERR_USAGE, "number of classes must be positive, got %d", o->num_classes);
    if (o->resolution < 1) return TCET_FAIL(TCET_ERR_USAGE, "resolution must be positive, got %d", o->resolution);
    for (int i = 1; i < a->n; i++)
        if (a->b[i].in != a->b[i - 1].out)
            return TCET_FAIL(TCET_ERR_USAGE, "block %d has %d input channels but block %d outputs %d "
                             "(channels must chain)", i + 1, a->b[i].in, i, a->b[i - 1].out);
    emitter E = {out, 0, o->resolution};
    for (int i = 0; i < a->n; i++) {
        E.block = i;
        int rc = expand_block(&E, &a->b[i]);
        if (rc) {
            tcet_plan_free(out);
            return tcet_trace(rc, __FILE__, __LINE__, "expand_block");
        }
    }
    int c = a->b[a->n - 1].out;
    tcet_op *g = push(out, TCET_OP_GAP, -1);
    g->cin = g->cout = c;
    g->k = g->stride = g->groups = 1;
    g->hin = E.h;
    g->hout = 1;
    tcet_op *l = push(out, TCET_OP_LINEAR, -1);
    l->cin = c;
    l->cout = o->num_classes;
    l->k = l->stride = l->groups = 1;
    l->bias = 1;
    l->hin = l->hout = 1;
    snprintf(l->name, sizeof l->name, "fc_linear.netblock");
    out->num_scored = 0;
    for (int i = 0; i < out->n; i++)
        out->num_scored += out->ops[i].kind == TCET_OP_CONV || out->ops[i].kind == TCET_OP_LINEAR;
    return 0;
}

void tcet_plan_free(tcet_plan *p)
{
    free(p->ops);
    p->ops = NULL;
    p->n = p->cap = 0;
}
