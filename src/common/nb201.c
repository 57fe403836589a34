/* NAS-Bench-201 cells: parsing, printing, the network's graph plan and its
 * counters (see nb201.h, docs/nb201.md). */
#include "nb201.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

const int tcet_nb201_edge_from[TCET_NB201_EDGES] = {0, 0, 0, 1, 1, 2};
const int tcet_nb201_edge_to[TCET_NB201_EDGES] = {1, 2, 3, 2, 3, 3};

/* The cell string lists the edges node by node: 0->1 | 0->2 1->2 | 0->3 1->3 2->3;
 * string position -> tuple index. */
static const int str_to_tuple[TCET_NB201_EDGES] = {0, 1, 3, 2, 4, 5};

static const char *const op_names[TCET_NB201_NOPS] = {"skip_connect", "none", "nor_conv_3x3",
                                                      "nor_conv_1x1", "avg_pool_3x3"};

const char *tcet_nb201_op_name(int op)
{
    return op >= 0 && op < TCET_NB201_NOPS ? op_names[op] : "invalid";
}

static int perr(tcet_parse_error *err, size_t pos, const char *msg)
{
    if (err) {
        err->column = (int)pos + 1;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
    return TCET_ERR_USAGE;
}

static int parse_tuple(const char *s, size_t p, size_t end, tcet_arch *out, tcet_parse_error *err)
{
    int paren = s[p] == '(';
    if (paren) p++;
    for (int e = 0; e < TCET_NB201_EDGES; e++) {
        while (p < end && s[p] == ' ') p++;
        if (p >= end || s[p] < '0' || s[p] > '9')
            return perr(err, p, "NAS-Bench-201 tuple: expected an operation index 0-4 "
                                "(0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3)");
        int v = s[p] - '0';
        if (v >= TCET_NB201_NOPS || (p + 1 < end && isdigit((unsigned char)s[p + 1])))
            return perr(err, p, "NAS-Bench-201 tuple: operation index out of range 0-4");
        out->cell[e] = v;
        p++;
        while (p < end && s[p] == ' ') p++;
        if (e < TCET_NB201_EDGES - 1) {
            if (p >= end || s[p] != ',')
                return perr(err, p, "NAS-Bench-201 tuple: expected ',' (six operation indices)");
            p++;
        }
    }
    if (paren) {
        if (p >= end || s[p] != ')') return perr(err, p, "NAS-Bench-201 tuple: expected ')' after six indices");
        p++;
    }
    while (p < end && s[p] == ' ') p++;
    if (p != end) return perr(err, p, "NAS-Bench-201 tuple: unexpected text after the six indices");
    return 0;
}

static int parse_string(const char *s, size_t p, size_t end, tcet_arch *out, tcet_parse_error *err)
{
    int k = 0; /* string position of the edge */
    for (int node = 1; node <= 3; node++) {
        if (node > 1) {
            if (p >= end || s[p] != '+') return perr(err, p, "NAS-Bench-201 cell: expected '+' between nodes");
            p++;
        }
        if (p >= end || s[p] != '|') return perr(err, p, "NAS-Bench-201 cell: expected '|'");
        p++;
        for (int from = 0; from < node; from++) {
            size_t q = p;
            while (q < end && s[q] != '~' && s[q] != '|') q++;
            int op = -1;
            for (int o = 0; o < TCET_NB201_NOPS; o++)
                if (strlen(op_names[o]) == q - p && !strncmp(s + p, op_names[o], q - p)) op = o;
            if (op < 0)
                return perr(err, p, "NAS-Bench-201 cell: unknown operation (skip_connect, none, "
                                    "nor_conv_3x3, nor_conv_1x1, avg_pool_3x3)");
            if (q >= end || s[q] != '~') return perr(err, q, "NAS-Bench-201 cell: expected '~' and the input node");
            q++;
            if (q >= end || s[q] - '0' != from || (q + 1 < end && isdigit((unsigned char)s[q + 1]))) {
                char m[120];
                snprintf(m, sizeof m, "NAS-Bench-201 cell: node %d's edge %d must come from node %d", node,
                         from + 1, from);
                return perr(err, q, m);
            }
            q++;
            if (q >= end || s[q] != '|') return perr(err, q, "NAS-Bench-201 cell: expected '|' after the edge");
            p = q + 1;
            out->cell[str_to_tuple[k++]] = op;
        }
    }
    if (p != end) return perr(err, p, "NAS-Bench-201 cell: unexpected text after node 3");
    return 0;
}

int tcet_nb201_parse(const char *s, tcet_arch *out, tcet_parse_error *err)
{
    if (err) {
        err->column = 0;
        err->msg[0] = 0;
    }
    memset(out, 0, sizeof *out);
    out->grammar = TCET_GRAMMAR_NB201;
    if (!s) return perr(err, 0, "empty structure string");
    size_t len = strnlen(s, TCET_MAX_STRUCT + 1);
    if (len > TCET_MAX_STRUCT) return perr(err, TCET_MAX_STRUCT, "structure string too long");
    size_t p = 0, end = len;
    while (p < end && isspace((unsigned char)s[p])) p++;
    while (end > p && isspace((unsigned char)s[end - 1])) end--;
    if (p == end) return perr(err, 0, "empty structure string");
    int rc = s[p] == '|' ? parse_string(s, p, end, out, err) : parse_tuple(s, p, end, out, err);
    if (rc) memset(out->cell, 0, sizeof out->cell);
    return rc;
}

size_t tcet_nb201_print(const tcet_arch *a, char *buf, size_t cap)
{
    char tmp[200];
    size_t n = 0;
    int k = 0;
    for (int node = 1; node <= 3; node++) {
        n += (size_t)snprintf(tmp + n, sizeof tmp - n, "%s|", node > 1 ? "+" : "");
        for (int from = 0; from < node; from++)
            n += (size_t)snprintf(tmp + n, sizeof tmp - n, "%s~%d|", tcet_nb201_op_name(a->cell[str_to_tuple[k++]]),
                                  from);
    }
    int w = snprintf(buf, cap, "%s", tmp);
    return w < 0 ? 0 : (size_t)w;
}

size_t tcet_nb201_print_tuple(const tcet_arch *a, char *buf, size_t cap)
{
    int w = snprintf(buf, cap, "(%d, %d, %d, %d, %d, %d)", a->cell[0], a->cell[1], a->cell[2], a->cell[3],
                     a->cell[4], a->cell[5]);
    return w < 0 ? 0 : (size_t)w;
}

/* ---- the graph plan --------------------------------------------------- */

typedef struct {
    tcet_plan *p;
    int block;
} gb;

static int push(gb *G, int kind, int src, int c, int h, const char *name)
{
    tcet_plan *p = G->p;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->ops = xrealloc(p->ops, (size_t)p->cap * sizeof *p->ops);
    }
    tcet_op *op = &p->ops[p->n];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->block = G->block;
    op->cin = op->cout = c;
    op->k = op->stride = op->groups = 1;
    op->hin = op->hout = h;
    op->nsrc = kind == TCET_OP_ZERO ? 0 : 1;
    op->src[0] = src;
    if (name) snprintf(op->name, sizeof op->name, "%s", name);
    return p->n++;
}

static int conv(gb *G, int src, int cin, int cout, int k, int stride, int h, const char *name)
{
    int i = push(G, TCET_OP_CONV, src, cin, h, name);
    tcet_op *op = &G->p->ops[i];
    op->cout = cout;
    op->k = k;
    op->stride = stride;
    op->pad = (k - 1) / 2;
    op->hout = (h + 2 * op->pad - k) / stride + 1;
    return i;
}

static int bn(gb *G, int src, const char *name)
{
    if (!G->p->opts.bn) return src;
    const tcet_op *s = &G->p->ops[src];
    return push(G, TCET_OP_BN, src, s->cout, s->hout, name);
}

static int out_c(const gb *G, int i) { return G->p->ops[i].cout; }
static int out_h(const gb *G, int i) { return G->p->ops[i].hout; }

/* ReLU -> Conv(k, stride, no bias) -> BN; returns the last op. */
static int relu_conv_bn(gb *G, int src, int cout, int k, int stride, const char *prefix)
{
    char name[96];
    snprintf(name, sizeof name, "%s.op.0", prefix);
    int r = push(G, TCET_OP_RELU, src, out_c(G, src), out_h(G, src), name);
    snprintf(name, sizeof name, "%s.op.1", prefix);
    int c = conv(G, r, out_c(G, src), cout, k, stride, out_h(G, src), name);
    snprintf(name, sizeof name, "%s.op.2", prefix);
    return bn(G, c, name);
}

static int avgpool(gb *G, int src, int k, int stride, int pad, int count_pad, const char *name)
{
    int h = out_h(G, src);
    int i = push(G, TCET_OP_AVGPOOL, src, out_c(G, src), h, name);
    tcet_op *op = &G->p->ops[i];
    op->k = k;
    op->stride = stride;
    op->pad = pad;
    op->count_pad = count_pad;
    op->hout = (h + 2 * pad - k) / stride + 1;
    return i;
}

/* node value = sum of the contributions (a ZERO op when there are none) */
static int node_sum(gb *G, const int *v, int n, int c, int h, const char *name)
{
    if (n == 0) return push(G, TCET_OP_ZERO, -1, c, h, name);
    if (n == 1) return v[0];
    int i = push(G, TCET_OP_SUM, v[0], c, h, name);
    tcet_op *op = &G->p->ops[i];
    op->nsrc = n;
    for (int k = 0; k < n; k++) op->src[k] = v[k];
    return i;
}

static int cell(gb *G, const int *ops, int in, int ci)
{
    int node[4] = {in, -1, -1, -1};
    int c = out_c(G, in), h = out_h(G, in);
    int k = 0; /* string position = the module index in the cell's layers list */
    for (int j = 1; j <= 3; j++) {
        int v[3], n = 0;
        for (int from = 0; from < j; from++, k++) {
            int op = ops[str_to_tuple[k]];
            char prefix[64];
            snprintf(prefix, sizeof prefix, "cells.%d.layers.%d", ci, k);
            switch (op) {
            case TCET_NB201_SKIP: v[n++] = node[from]; break;
            case TCET_NB201_NONE: break;
            case TCET_NB201_CONV3: v[n++] = relu_conv_bn(G, node[from], c, 3, 1, prefix); break;
            case TCET_NB201_CONV1: v[n++] = relu_conv_bn(G, node[from], c, 1, 1, prefix); break;
            case TCET_NB201_POOL3: {
                char name[96];
                snprintf(name, sizeof name, "%s.op", prefix);
                v[n++] = avgpool(G, node[from], 3, 1, 1, 0, name);
                break;
            }
            default: return -TCET_FAIL(TCET_ERR_USAGE, "NAS-Bench-201 operation index %d out of range", op);
            }
        }
        char name[64];
        snprintf(name, sizeof name, "cells.%d.node.%d", ci, j);
        node[j] = node_sum(G, v, n, c, h, name);
    }
    return node[3];
}

static int reduction(gb *G, int in, int cout, int ci)
{
    char prefix[64], name[96];
    snprintf(prefix, sizeof prefix, "cells.%d.conv_a", ci);
    int a = relu_conv_bn(G, in, cout, 3, 2, prefix);
    snprintf(prefix, sizeof prefix, "cells.%d.conv_b", ci);
    int b = relu_conv_bn(G, a, cout, 3, 1, prefix);
    snprintf(name, sizeof name, "cells.%d.downsample.0", ci);
    int pl = avgpool(G, in, 2, 2, 0, 1, name);
    snprintf(name, sizeof name, "cells.%d.downsample.1", ci);
    int sc = conv(G, pl, out_c(G, in), cout, 1, 1, out_h(G, pl), name);
    snprintf(name, sizeof name, "cells.%d.sum", ci);
    int v[2] = {sc, b}; /* residual + basicblock */
    return node_sum(G, v, 2, cout, out_h(G, b), name);
}

int tcet_nb201_plan(const tcet_arch *a, const tcet_plan_opts *o, tcet_plan *out)
{
    memset(out, 0, sizeof *out);
    out->opts = *o;
    out->dag = 1;
    if (a->grammar != TCET_GRAMMAR_NB201) return TCET_FAIL(TCET_ERR_USAGE, "not a NAS-Bench-201 cell");
    if (o->num_classes < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "number of classes must be positive, got %d", o->num_classes);
    if (o->resolution < 4 || o->resolution % 4)
        return TCET_FAIL(TCET_ERR_USAGE, "NAS-Bench-201 networks need a resolution that is a positive "
                         "multiple of 4 (two stride-2 reductions), got %d", o->resolution);
    for (int e = 0; e < TCET_NB201_EDGES; e++)
        if (a->cell[e] < 0 || a->cell[e] >= TCET_NB201_NOPS)
            return TCET_FAIL(TCET_ERR_USAGE, "NAS-Bench-201 edge %d: operation index %d out of range 0-4", e,
                             a->cell[e]);
    gb G = {out, 0};
    int s = conv(&G, -1, 3, TCET_NB201_STEM, 3, 1, o->resolution, "stem.0");
    int x = bn(&G, s, "stem.1");
    int ci = 0, c = TCET_NB201_STEM;
    for (int stage = 0; stage < 3; stage++) {
        if (stage > 0) {
            G.block = ci + 1;
            x = reduction(&G, x, 2 * c, ci++);
            c *= 2;
        }
        for (int k = 0; k < TCET_NB201_CELLS; k++) {
            G.block = ci + 1;
            int rc = cell(&G, a->cell, x, ci++);
            if (rc < 0) {
                tcet_plan_free(out);
                return tcet_trace(-rc, __FILE__, __LINE__, "cell");
            }
            x = rc;
        }
    }
    G.block = -1;
    x = bn(&G, x, "lastact.0");
    x = push(&G, TCET_OP_RELU, x, c, out_h(&G, x), "lastact.1");
    int g = push(&G, TCET_OP_GAP, x, c, out_h(&G, x), "global_pooling");
    out->ops[g].hout = 1;
    int l = push(&G, TCET_OP_LINEAR, g, c, 1, "classifier");
    out->ops[l].cout = o->num_classes;
    out->ops[l].bias = 1;
    out->num_scored = 0;
    for (int i = 0; i < out->n; i++)
        out->num_scored += out->ops[i].kind == TCET_OP_CONV || out->ops[i].kind == TCET_OP_LINEAR;
    return 0;
}

int tcet_nb201_count(const tcet_arch *a, int num_classes, int resolution, tcet_nb201_counts *out)
{
    memset(out, 0, sizeof *out);
    tcet_plan p;
    tcet_plan_opts o = {.reslink = 0, .bn = 1, .num_classes = num_classes, .resolution = resolution};
    TCET_TRY(tcet_nb201_plan(a, &o, &p));
    for (int i = 0; i < p.n; i++) {
        const tcet_op *op = &p.ops[i];
        long long hw = (long long)op->hout * op->hout;
        switch (op->kind) {
        case TCET_OP_CONV: {
            long long w = (long long)op->cout * (op->cin / op->groups) * op->k * op->k;
            out->params += w + (op->bias ? op->cout : 0);
            out->conv_macs += w * hw;
            out->convs++;
            break;
        }
        case TCET_OP_BN:
            out->params += 2LL * op->cout;
            out->bn_elems += op->cout * hw;
            out->bns++;
            break;
        case TCET_OP_AVGPOOL:
            out->pool_flops += (long long)op->k * op->k * op->cout * hw;
            out->pools++;
            break;
        case TCET_OP_LINEAR:
            out->params += (long long)op->cin * op->cout + op->cout;
            out->fc_macs += (long long)op->cin * op->cout;
            out->fc_bias += op->cout;
            break;
        default:
            break;
        }
    }
    tcet_plan_free(&p);
    return 0;
}
