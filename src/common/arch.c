/* Structure strings: parsing and printing (docs/semantics.md#grammar, docs/semantics.md#super-blocks).
 *
 * The parser is a single left-to-right scan without allocation: each block is
 * NAME "(" [label "|"] INT {"," INT} ")".  Every error names the problem and
 * the 1-based column of the offending character (len+1 for "ran off the
 * end"), so the CLI can point at it. */
#include "arch.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "nb201.h"

/* Limits that keep every derived quantity (FLOPs in 64-bit integers before
 * the floor division, plan sizes) far from overflow; the published networks
 * use at most 6704 channels, stride 2 and 5 sub-layers. */
enum { MAX_CHANNELS = 65536, MAX_STRIDE = 64, MAX_SUBLAYERS = 1000, MAX_INT_DIGITS = 9 };

typedef struct {
    const char *name;
    int family, kernel, expansion;
} block_type;

static const block_type types[] = {
    {"SuperConvK1BNRELU", TCET_FAM_CONV, 1, 0},   {"SuperConvK3BNRELU", TCET_FAM_CONV, 3, 0},
    {"SuperConvK5BNRELU", TCET_FAM_CONV, 5, 0},   {"SuperConvK7BNRELU", TCET_FAM_CONV, 7, 0},
    {"SuperResK3K3", TCET_FAM_KXKX, 3, 0},        {"SuperResK5K5", TCET_FAM_KXKX, 5, 0},
    {"SuperResK7K7", TCET_FAM_KXKX, 7, 0},        {"SuperResK1K3K1", TCET_FAM_K1KXK1, 3, 0},
    {"SuperResK1K5K1", TCET_FAM_K1KXK1, 5, 0},    {"SuperResK1K7K1", TCET_FAM_K1KXK1, 7, 0},
    {"SuperResIDWE1K3", TCET_FAM_IDW, 3, 1},      {"SuperResIDWE2K3", TCET_FAM_IDW, 3, 2},
    {"SuperResIDWE4K3", TCET_FAM_IDW, 3, 4},      {"SuperResIDWE6K3", TCET_FAM_IDW, 3, 6},
    {"SuperResIDWE1K5", TCET_FAM_IDW, 5, 1},      {"SuperResIDWE2K5", TCET_FAM_IDW, 5, 2},
    {"SuperResIDWE4K5", TCET_FAM_IDW, 5, 4},      {"SuperResIDWE6K5", TCET_FAM_IDW, 5, 6},
    {"SuperResIDWE1K7", TCET_FAM_IDW, 7, 1},      {"SuperResIDWE2K7", TCET_FAM_IDW, 7, 2},
    {"SuperResIDWE4K7", TCET_FAM_IDW, 7, 4},      {"SuperResIDWE6K7", TCET_FAM_IDW, 7, 6},
};
enum { NTYPES = sizeof types / sizeof types[0] };

static const block_type *find_type(const tcet_block *b)
{
    for (int i = 0; i < NTYPES; i++)
        if (types[i].family == b->family && types[i].kernel == b->kernel &&
            types[i].expansion == b->expansion)
            return &types[i];
    return NULL;
}

const char *tcet_block_name(const tcet_block *b, char *buf, size_t cap)
{
    const block_type *t = find_type(b);
    snprintf(buf, cap, "%s", t ? t->name : "SuperInvalid");
    return buf;
}

size_t tcet_block_print(const tcet_block *b, char *buf, size_t cap)
{
    const block_type *t = find_type(b);
    const char *name = t ? t->name : "SuperInvalid";
    int n;
    if (b->family == TCET_FAM_CONV)
        n = snprintf(buf, cap, "%s(%d,%d,%d,%d)", name, b->in, b->out, b->stride, b->layers);
    else
        n = snprintf(buf, cap, "%s(%d,%d,%d,%d,%d)", name, b->in, b->out, b->stride, b->btl, b->layers);
    return n < 0 ? 0 : (size_t)n;
}

size_t tcet_arch_print(const tcet_arch *a, char *buf, size_t cap)
{
    if (a->grammar == TCET_GRAMMAR_NB201) return tcet_nb201_print(a, buf, cap);
    size_t total = 0;
    if (cap) buf[0] = 0;
    for (int i = 0; i < a->n; i++) {
        size_t room = total < cap ? cap - total : 0;
        total += tcet_block_print(&a->b[i], room ? buf + total : NULL, room);
    }
    return total;
}

int tcet_arch_num_layers(const tcet_arch *a)
{
    int s = 0;
    for (int i = 0; i < a->n; i++) s += a->b[i].layers;
    return s;
}

/* ---- parser ------------------------------------------------------------ */

static int perr(tcet_parse_error *err, size_t pos, const char *fmt, const char *s1)
{
    if (err) {
        err->column = (int)pos + 1;
        snprintf(err->msg, sizeof err->msg, fmt, s1);
    }
    return TCET_ERR_USAGE;
}

static int is_ident(int c) { return isalnum(c) || c == '_'; }

/* A printable, bounded excerpt of s[a, b) for messages. */
static const char *excerpt(const char *s, size_t a, size_t b, char *buf, size_t cap)
{
    size_t n = b - a, w = 0;
    for (size_t i = 0; i < n && w + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[a + i];
        buf[w++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        if (i == 40 && n > 44) {
            memcpy(buf + w, "...", 3);
            w += 3;
            break;
        }
    }
    buf[w] = 0;
    return buf;
}

static int parse_int(const char *s, size_t *p, int lo, int hi, const char *what, int *out,
                     tcet_parse_error *err)
{
    size_t start = *p;
    char m[120];
    if (s[start] == '-' || s[start] == '+') {
        snprintf(m, sizeof m, "%s must be a positive integer, got a sign", what);
        return perr(err, start, "%s", m);
    }
    if (!isdigit((unsigned char)s[start])) {
        char ex[8];
        if (!s[start]) snprintf(m, sizeof m, "expected %s (an integer), got end of input", what);
        else
            snprintf(m, sizeof m, "expected %s (an integer), got '%s'", what, excerpt(s, start, start + 1, ex, sizeof ex));
        return perr(err, start, "%s", m);
    }
    long v = 0;
    size_t q = start;
    int digits = 0;
    while (isdigit((unsigned char)s[q])) {
        if (v > 0 || s[q] != '0') digits++; /* leading zeros are harmless */
        if (digits > MAX_INT_DIGITS) {
            snprintf(m, sizeof m, "%s is too large (at most %d)", what, hi);
            return perr(err, start, "%s", m);
        }
        v = v * 10 + (s[q] - '0');
        q++;
    }
    if (v < lo || v > hi) {
        snprintf(m, sizeof m, "%s %ld is out of range [%d, %d]", what, v, lo, hi);
        return perr(err, start, "%s", m);
    }
    *out = (int)v;
    *p = q;
    return 0;
}

static int parse_block(const char *s, size_t *p, tcet_block *b, tcet_parse_error *err)
{
    size_t start = *p, q = start;
    char ex[64], m[160];
    while (is_ident((unsigned char)s[q])) q++;
    if (q == start) {
        if (s[q] == ')') return perr(err, q, "%s", "unbalanced parentheses: unexpected ')'");
        return perr(err, q, "unexpected character '%s' (expected a block name)", excerpt(s, q, q + 1, ex, sizeof ex));
    }
    if (s[q] != '(') {
        if (!s[q]) return perr(err, start, "trailing characters '%s' after the last block", excerpt(s, start, q, ex, sizeof ex));
        snprintf(m, sizeof m, "expected '(' after block name '%s'", excerpt(s, start, q, ex, sizeof ex));
        return perr(err, q, "%s", m);
    }
    const block_type *t = NULL;
    for (int i = 0; i < NTYPES; i++)
        if (strlen(types[i].name) == q - start && !memcmp(types[i].name, s + start, q - start)) t = &types[i];
    if (!t) return perr(err, start, "unknown block name '%s'", excerpt(s, start, q, ex, sizeof ex));
    q++; /* '(' */

    /* optional label "name|" (ignored) */
    size_t r = q;
    while (s[r] && s[r] != '|' && s[r] != ')' && s[r] != '(' && s[r] != ',') r++;
    if (s[r] == '|') {
        for (size_t i = q; i < r; i++)
            if (!is_ident((unsigned char)s[i]))
                return perr(err, i, "invalid character '%s' in block label", excerpt(s, i, i + 1, ex, sizeof ex));
        q = r + 1;
    }

    int nargs = t->family == TCET_FAM_CONV ? 4 : 5;
    static const char *const names_conv[] = {"in channels", "out channels", "stride", "sub_layers"};
    static const char *const names_res[] = {"in channels", "out channels", "stride", "bottleneck", "sub_layers"};
    const char *const *nm = t->family == TCET_FAM_CONV ? names_conv : names_res;
    int v[5];
    for (int i = 0; i < nargs; i++) {
        if (i > 0) {
            if (s[q] != ',') {
                if (s[q] == ')') {
                    snprintf(m, sizeof m, "%s takes %d arguments, got %d", t->name, nargs, i);
                    return perr(err, q, "%s", m);
                }
                if (!s[q]) return perr(err, q, "%s", "unbalanced parentheses: missing ')' at end of input");
                if (s[q] == '(') return perr(err, q, "%s", "unbalanced parentheses: unexpected '('");
                return perr(err, q, "expected ',' between arguments, got '%s'", excerpt(s, q, q + 1, ex, sizeof ex));
            }
            q++;
        }
        const char *what = nm[i];
        int hi = MAX_CHANNELS;
        if (i == 2) hi = MAX_STRIDE;
        if (i == nargs - 1) hi = MAX_SUBLAYERS;
        if (!s[q] && i == 0) return perr(err, q, "%s", "unbalanced parentheses: missing ')' at end of input");
        if (s[q] == ')' && i == 0) {
            snprintf(m, sizeof m, "%s takes %d arguments, got 0", t->name, nargs);
            return perr(err, q, "%s", m);
        }
        TCET_TRY(parse_int(s, &q, 1, hi, what, &v[i], err));
    }
    if (s[q] != ')') {
        if (!s[q]) return perr(err, q, "%s", "unbalanced parentheses: missing ')' at end of input");
        if (s[q] == ',') {
            snprintf(m, sizeof m, "%s takes %d arguments, got more", t->name, nargs);
            return perr(err, q, "%s", m);
        }
        if (s[q] == '(') return perr(err, q, "%s", "unbalanced parentheses: unexpected '('");
        return perr(err, q, "unexpected character '%s' in arguments", excerpt(s, q, q + 1, ex, sizeof ex));
    }
    q++;
    memset(b, 0, sizeof *b);
    b->family = t->family;
    b->kernel = t->kernel;
    b->expansion = t->expansion;
    b->in = v[0];
    b->out = v[1];
    b->stride = v[2];
    if (t->family == TCET_FAM_CONV) {
        b->btl = 0;
        b->layers = v[3];
    } else {
        b->btl = v[3];
        b->layers = v[4];
    }
    *p = q;
    return 0;
}

int tcet_arch_parse(const char *s, tcet_arch *out, tcet_parse_error *err)
{
    if (err) {
        err->column = 0;
        err->msg[0] = 0;
    }
    memset(out, 0, sizeof *out); /* unused blocks zero: archs compare with memcmp */
    if (!s) return perr(err, 0, "%s", "empty structure string");
    size_t len = strnlen(s, TCET_MAX_STRUCT + 1);
    if (len > TCET_MAX_STRUCT) {
        char m[80];
        snprintf(m, sizeof m, "structure string too long (more than %d characters)", TCET_MAX_STRUCT);
        return perr(err, TCET_MAX_STRUCT, "%s", m);
    }
    size_t p = 0;
    /* Surrounding blanks are tolerated (files, shell quoting); none inside. */
    while (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r') p++;
    size_t end = len;
    while (end > p && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\n' || s[end - 1] == '\r')) end--;
    if (p == end) return perr(err, 0, "%s", "empty structure string");
    if (s[p] == '|' || s[p] == '(' || (s[p] >= '0' && s[p] <= '9')) return tcet_nb201_parse(s, out, err);
    while (p < end) {
        if (out->n == TCET_MAX_BLOCKS) {
            char m[80];
            snprintf(m, sizeof m, "too many blocks (at most %d)", TCET_MAX_BLOCKS);
            return perr(err, p, "%s", m);
        }
        int rc = parse_block(s, &p, &out->b[out->n], err);
        if (rc) return rc;
        if (p > end) { /* a block consumed trailing blanks: impossible by grammar */
            return perr(err, end, "%s", "unexpected end of input");
        }
        out->n++;
    }
    return 0;
}

int tcet_arch_load(const char *arg, tcet_arch *out)
{
    tcet_parse_error e;
    if (!arg) return TCET_FAIL(TCET_ERR_USAGE, "missing structure string");
    if (arg[0] != '@') {
        if (tcet_arch_parse(arg, out, &e))
            return TCET_FAIL(TCET_ERR_USAGE, "%s at column %d", e.msg, e.column);
        return 0;
    }
    const char *path = arg + 1;
    FILE *f = fopen(path, "r");
    if (!f) return TCET_FAIL(TCET_ERR_USAGE, "cannot open structure file '%s': %s", path, strerror(errno));
    char line[TCET_MAX_STRUCT + 8]; /* a longer line is cut and then rejected as too long */
    char *got = fgets(line, sizeof line, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) return TCET_FAIL(TCET_ERR_USAGE, "cannot read structure file '%s'", path);
    if (!got) return TCET_FAIL(TCET_ERR_USAGE, "structure file '%s' is empty", path);
    line[strcspn(line, "\r\n")] = 0;
    if (tcet_arch_parse(line, out, &e))
        return TCET_FAIL(TCET_ERR_USAGE, "structure file '%s': %s at column %d", path, e.msg, e.column);
    return 0;
}
