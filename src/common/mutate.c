/* The mutation operator (spec §4) with candidate lists in canonical order
 * (spec §11.6: generation order, first occurrence kept).
 *
 * A SuperRes block's candidate list is the product types x out-choices x
 * sub-layer-choices x btl-choices (nested in that order).  The choice lists
 * are deduplicated and the types differ, so the product has no duplicates
 * and the i-th candidate is found by index arithmetic: the master never
 * materialises the (up to a few thousand) strings of a list. */
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
    if (!strcasecmp(s, "IDW_fixfc")) return TCET_SPACE_IDW_FIXFC;
    return -1;
}

const char *tcet_space_name(int space)
{
    return space == TCET_SPACE_IDW_FIXFC ? "IDW_fixfc" : space == TCET_SPACE_XXBL ? "XXBL" : "unknown";
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

long tcet_candidate_count(const tcet_arch *a, int id, int space)
{
    const tcet_block *b = &a->b[id];
    int outs[9], ls[5], btls[9];
    if (b->family == TCET_FAM_CONV) return fixed_fc(b, space) ? 1 : tcet_channel_choices(b->out, space, outs);
    int nt;
    group_types(space, &nt);
    long no = tcet_channel_choices(b->out, space, outs);
    long nl = tcet_sublayer_choices(b->layers, ls);
    long nb = tcet_channel_choices(b->btl, space, btls);
    return nt * no * nl * nb;
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

void tcet_mutate(const tcet_arch *parent, int num_replaces, int space, tcet_rng *rng, tcet_arch *child)
{
    *child = *parent;
    tcet_arch *B = child;
    uint64_t used = 0; /* n <= 64 */
    for (int r = 0; r < num_replaces; r++) {
        int id = (int)tcet_rng_below(rng, (uint64_t)B->n);
        if (used >> id & 1) continue; /* no redraw: fewer effective replacements */
        used |= (uint64_t)1 << id;
        long cnt = tcet_candidate_count(B, id, space);
        tcet_block nb;
        tcet_candidate_at(B, id, space, (long)tcet_rng_below(rng, (uint64_t)cnt), &nb);
        if (id > 0) nb.in = B->b[id - 1].out;
        B->b[id] = nb;
    }
    for (int j = 1; j < B->n; j++) B->b[j].in = B->b[j - 1].out;
    tcet_split(B, 6);
}
