/* The mutation operator and its candidate lists (docs/semantics.md,
 * "Mutation").
 *
 * A SuperRes block's distinct candidates are the product types x
 * out-choices x sub-layer-choices x btl-choices (nested in that order, the
 * canonical order).  The choice lists are deduplicated and the types differ,
 * so the product has no duplicates and the i-th candidate is found by index
 * arithmetic: the master never materialises the (up to a few thousand)
 * strings of a list.
 *
 * The reference draws from a list in which the candidates of a type occur
 * several times (its generator appends each type's strings to a list that is
 * already in its output); how often depends only on the type's position in
 * its group, so the weighted list is the distinct product with each type's
 * block of s = out x L x btl candidates repeated type_weight() times. */
#include "mutate.h"

#include <math.h>
#include <string.h>
#include <strings.h>

typedef struct {
    int family, kernel, expansion;
} rtype;

/* Type groups in canonical order.  XXBL: [K1K3K1, K1K5K1, K1K7K1] then
 * [K3K3, K5K5, K7K7] (equal sizes, so concatenation keeps each family at 1/2);
 * IDW_fixfc: the 12 IDW types in one group, kernel-major. */
static const rtype xxbl_types[] = {
    {TCET_FAM_K1KXK1, 3, 0}, {TCET_FAM_K1KXK1, 5, 0}, {TCET_FAM_K1KXK1, 7, 0},
    {TCET_FAM_KXKX, 3, 0},   {TCET_FAM_KXKX, 5, 0},   {TCET_FAM_KXKX, 7, 0},
};
static const rtype idw_types[] = {
    {TCET_FAM_IDW, 3, 1}, {TCET_FAM_IDW, 3, 2}, {TCET_FAM_IDW, 3, 4}, {TCET_FAM_IDW, 3, 6},
    {TCET_FAM_IDW, 5, 1}, {TCET_FAM_IDW, 5, 2}, {TCET_FAM_IDW, 5, 4}, {TCET_FAM_IDW, 5, 6},
    {TCET_FAM_IDW, 7, 1}, {TCET_FAM_IDW, 7, 2}, {TCET_FAM_IDW, 7, 4}, {TCET_FAM_IDW, 7, 6},
};

int tcet_space_parse(const char *s)
{
    if (!s) return -1;
    if (!strcasecmp(s, "XXBL")) return TCET_SPACE_XXBL;
    if (!strcasecmp(s, "IDW_fixfc") || !strcasecmp(s, "IDW")) return TCET_SPACE_IDW_FIXFC;
    return -1;
}

const char *tcet_space_name(int space)
{
    return space == TCET_SPACE_IDW_FIXFC ? "IDW_fixfc" : space == TCET_SPACE_XXBL ? "XXBL" : "unknown";
}

int tcet_weights_parse(const char *s)
{
    if (!s) return -1;
    if (!strcmp(s, "reference")) return TCET_WEIGHTS_REFERENCE;
    if (!strcmp(s, "uniform")) return TCET_WEIGHTS_UNIFORM;
    return -1;
}

const char *tcet_weights_name(int weights)
{
    return weights == TCET_WEIGHTS_UNIFORM ? "uniform" : weights == TCET_WEIGHTS_REFERENCE ? "reference" : "unknown";
}

int tcet_smart_round(double x, int base)
{
    /* Python round() is half-to-even: nearbyint under the default mode. */
    double r = nearbyint(x / (double)base) * base;
    return r < base ? base : (int)r;
}

int tcet_channel_choices(int c, int space, int out[9])
{
    const double x[9] = {c * 2.5, c * 2.0, c * 1.5, c * 1.25, (double)c, c / 1.25, c / 1.5, c / 2.0, c / 2.5};
    int n = 0;
    for (int i = 0; i < 9; i++) {
        double v = x[i] < 8 ? 8 : x[i];
        if (space == TCET_SPACE_XXBL && v > 2048) v = 2048;
        int r = tcet_smart_round(v, 8);
        int dup = 0;
        for (int j = 0; j < n; j++) dup |= out[j] == r;
        if (!dup) out[n++] = r;
    }
    return n;
}

int tcet_sublayer_choices(int L, int out[5])
{
    const int x[5] = {L, L + 1, L + 2, L - 1, L - 2};
    int n = 0;
    for (int i = 0; i < 5; i++) {
        if (x[i] <= 0) continue;
        int dup = 0;
        for (int j = 0; j < n; j++) dup |= out[j] == x[i];
        if (!dup) out[n++] = x[i];
    }
    return n;
}

/* Occurrences of each candidate of type t (index into group_types) in the
 * reference's list.  Its generator loops over a group's types T1..Tn: it
 * deduplicates the strings gathered so far into a new list, appends that list
 * object to the output, and appends the next type's strings to it in place.
 * The output is therefore set(T1)+T2, set(T1..T2)+T3, ..., set(T1..Tn): the
 * strings of Tj occur in n - j + 1 of the sets and once more as an in-place
 * append when j >= 2.  XXBL (two groups of 3): 3, 3, 2; IDW_fixfc (one group
 * of 12): 12, 12, 11, ..., 2. */
static long type_weight(int space, int weights, int t)
{
    if (weights == TCET_WEIGHTS_UNIFORM) return 1;
    int n = space == TCET_SPACE_IDW_FIXFC ? 12 : 3; /* types per group */
    int j = t % n + 1;                              /* 1-based position in the group */
    return (n - j + 1) + (j >= 2);
}

/* IDW_fixfc keeps the final 1x1 conv's width ("fix fc"). */
static int fixed_fc(const tcet_block *b, int space)
{
    return space == TCET_SPACE_IDW_FIXFC && b->family == TCET_FAM_CONV && b->kernel == 1;
}

static const rtype *group_types(int space, int *n)
{
    if (space == TCET_SPACE_IDW_FIXFC) {
        *n = (int)(sizeof idw_types / sizeof idw_types[0]);
        return idw_types;
    }
    *n = (int)(sizeof xxbl_types / sizeof xxbl_types[0]);
    return xxbl_types;
}

/* Distinct candidates per type (*ntypes of them); a SuperConv block is one
 * "type" whose list is deduplicated (every weight 1). */
static long per_type(const tcet_arch *a, int id, int space, int *ntypes)
{
    const tcet_block *b = &a->b[id];
    int outs[9], ls[5], btls[9];
    if (b->family == TCET_FAM_CONV) {
        *ntypes = 1;
        return fixed_fc(b, space) ? 1 : tcet_channel_choices(b->out, space, outs);
    }
    group_types(space, ntypes);
    long no = tcet_channel_choices(b->out, space, outs);
    long nl = tcet_sublayer_choices(b->layers, ls);
    long nb = tcet_channel_choices(b->btl, space, btls);
    return no * nl * nb;
}

long tcet_candidate_count(const tcet_arch *a, int id, int space)
{
    int nt;
    long s = per_type(a, id, space, &nt);
    return nt * s;
}

long tcet_candidate_weight(const tcet_arch *a, int id, int space, int weights, long i)
{
    if (a->b[id].family == TCET_FAM_CONV) return 1;
    int nt;
    long s = per_type(a, id, space, &nt);
    return type_weight(space, weights, (int)(i / s));
}

long tcet_candidate_list_length(const tcet_arch *a, int id, int space, int weights)
{
    int nt;
    long s = per_type(a, id, space, &nt);
    if (a->b[id].family == TCET_FAM_CONV) return s;
    long len = 0;
    for (int t = 0; t < nt; t++) len += type_weight(space, weights, t) * s;
    return len;
}

long tcet_candidate_pick(const tcet_arch *a, int id, int space, int weights, long pos)
{
    int nt;
    long s = per_type(a, id, space, &nt);
    if (a->b[id].family == TCET_FAM_CONV) return pos;
    for (int t = 0; t < nt; t++) {
        long span = type_weight(space, weights, t) * s;
        if (pos < span) return t * s + pos % s;
        pos -= span;
    }
    return -1; /* pos beyond the list: a caller's bug */
}

void tcet_candidate_at(const tcet_arch *a, int id, int space, long i, tcet_block *out)
{
    const tcet_block *b = &a->b[id];
    int outs[9], ls[5], btls[9];
    *out = *b;
    if (b->family == TCET_FAM_CONV) {
        out->layers = 1;
        if (!fixed_fc(b, space)) {
            tcet_channel_choices(b->out, space, outs);
            out->out = outs[i];
        }
        return;
    }
    int nt;
    const rtype *t = group_types(space, &nt);
    long no = tcet_channel_choices(b->out, space, outs);
    long nl = tcet_sublayer_choices(b->layers, ls);
    long nb = tcet_channel_choices(b->btl, space, btls);
    /* i = ((type * no + o) * nl + l) * nb + m */
    long m = i % nb;
    i /= nb;
    long l = i % nl;
    i /= nl;
    long o = i % no;
    long ti = i / no;
    out->family = t[ti].family;
    out->kernel = t[ti].kernel;
    out->expansion = t[ti].expansion;
    out->out = outs[o];
    out->layers = ls[l];
    out->btl = btls[m];
}

void tcet_split(tcet_arch *a, int threshold)
{
    /* Walk backwards so inserted halves are not revisited.  A split that would
     * exceed TCET_MAX_BLOCKS is not done (never reached by budgeted searches:
     * every block holds at least one sub-layer). */
    for (int i = a->n - 1; i >= 0; i--) {
        tcet_block *b = &a->b[i];
        if (b->family == TCET_FAM_CONV || b->layers < threshold || a->n >= TCET_MAX_BLOCKS) continue;
        int l1 = threshold / 2;
        memmove(&a->b[i + 2], &a->b[i + 1], (size_t)(a->n - i - 1) * sizeof a->b[0]);
        a->n++;
        tcet_block second = *b;
        second.in = b->out;
        second.stride = 1;
        second.layers = b->layers - l1;
        b->layers = l1;
        a->b[i + 1] = second;
    }
}

void tcet_mutate(const tcet_arch *parent, int num_replaces, int space, int weights, tcet_rng *rng,
                 tcet_arch *child)
{
    *child = *parent;
    tcet_arch *B = child;
    uint64_t used = 0; /* n <= 64 */
    for (int r = 0; r < num_replaces; r++) {
        int id = (int)tcet_rng_below(rng, (uint64_t)B->n);
        if (used >> id & 1) continue; /* no redraw: fewer effective replacements */
        used |= (uint64_t)1 << id;
        long len = tcet_candidate_list_length(B, id, space, weights);
        long pos = (long)tcet_rng_below(rng, (uint64_t)len);
        tcet_block nb;
        tcet_candidate_at(B, id, space, tcet_candidate_pick(B, id, space, weights, pos), &nb);
        if (id > 0) nb.in = B->b[id - 1].out;
        B->b[id] = nb;
    }
    for (int j = 1; j < B->n; j++) B->b[j].in = B->b[j - 1].out;
    tcet_split(B, 6);
}
