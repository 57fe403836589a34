/* Reader of NASLib's NAS-Bench-201 zero-cost table (see nb201_table.h): a
 * small recursive-descent JSON scanner that keeps only what the table
 * layout needs (numbers, and objects of numbers) and skips anything else. */
#include "nb201_table.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "nb201.h"

typedef struct {
    const char *s;
    size_t n, p;
    const char *path;
} scan;

static int bad(scan *S, const char *what)
{
    return TCET_FAIL(TCET_ERR_DATA, "%s: malformed NAS-Bench-201 table at byte %zu: expected %s "
                     "(hint: pass NASLib's zc_nasbench201.json unchanged)", S->path, S->p, what);
}

static void ws(scan *S)
{
    while (S->p < S->n && isspace((unsigned char)S->s[S->p])) S->p++;
}

static int expect(scan *S, char c)
{
    ws(S);
    if (S->p >= S->n || S->s[S->p] != c) {
        char w[8] = {'\'', c, '\'', 0};
        return bad(S, w);
    }
    S->p++;
    return 0;
}

/* a string without escapes beyond \" and \\ (all the table has); copied into buf */
static int str(scan *S, char *buf, size_t cap)
{
    TCET_TRY(expect(S, '"'));
    size_t k = 0;
    while (S->p < S->n && S->s[S->p] != '"') {
        char c = S->s[S->p++];
        if (c == '\\' && S->p < S->n) c = S->s[S->p++];
        if (k + 1 < cap) buf[k++] = c;
    }
    if (S->p >= S->n) return bad(S, "the end of a string");
    S->p++;
    buf[k] = 0;
    return 0;
}

static int num(scan *S, double *v)
{
    ws(S);
    const char *b = S->s + S->p;
    char *e;
    errno = 0;
    *v = strtod(b, &e);
    if (e == b) {
        if (S->n - S->p >= 4 && !strncmp(b, "null", 4)) {
            *v = NAN;
            S->p += 4;
            return 0;
        }
        return bad(S, "a number");
    }
    S->p += (size_t)(e - b);
    return 0;
}

static int skip_value(scan *S, int depth)
{
    ws(S);
    if (depth > 32) return bad(S, "less nesting");
    if (S->p >= S->n) return bad(S, "a value");
    char c = S->s[S->p];
    char tmp[8];
    if (c == '"') return str(S, tmp, sizeof tmp);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        S->p++;
        ws(S);
        if (S->p < S->n && S->s[S->p] == close) {
            S->p++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                TCET_TRY(str(S, tmp, sizeof tmp));
                TCET_TRY(expect(S, ':'));
            }
            TCET_TRY(skip_value(S, depth + 1));
            ws(S);
            if (S->p < S->n && S->s[S->p] == ',') {
                S->p++;
                continue;
            }
            return expect(S, close);
        }
    }
    if (S->n - S->p >= 4 && (!strncmp(S->s + S->p, "true", 4) || !strncmp(S->s + S->p, "null", 4))) {
        S->p += 4;
        return 0;
    }
    if (S->n - S->p >= 5 && !strncmp(S->s + S->p, "false", 5)) {
        S->p += 5;
        return 0;
    }
    double v;
    return num(S, &v);
}

int tcet_nb201_table_proxy(const tcet_nb201_table *t, const char *name)
{
    for (int i = 0; i < t->nproxy; i++)
        if (!strcmp(t->proxy[i], name)) return i;
    return -1;
}

/* one architecture's entry */
static int entry(scan *S, tcet_nb201_table *t, tcet_nb201_row *r)
{
    r->val_accuracy = NAN;
    for (int k = 0; k < TCET_NB201_TABLE_MAXPROXY; k++) r->score[k] = NAN;
    TCET_TRY(expect(S, '{'));
    ws(S);
    if (S->p < S->n && S->s[S->p] == '}') {
        S->p++;
        return 0;
    }
    for (;;) {
        char key[64];
        TCET_TRY(str(S, key, sizeof key));
        TCET_TRY(expect(S, ':'));
        ws(S);
        if (!strcmp(key, "val_accuracy")) {
            TCET_TRY(num(S, &r->val_accuracy));
        } else if (S->p < S->n && S->s[S->p] == '{') {
            /* a proxy: {"score": x, "time": y} */
            int k = tcet_nb201_table_proxy(t, key);
            if (k < 0 && t->nproxy < TCET_NB201_TABLE_MAXPROXY) {
                k = t->nproxy++;
                snprintf(t->proxy[k], sizeof t->proxy[k], "%.23s", key);
            }
            S->p++;
            for (;;) {
                char f[32];
                TCET_TRY(str(S, f, sizeof f));
                TCET_TRY(expect(S, ':'));
                if (!strcmp(f, "score") && k >= 0) TCET_TRY(num(S, &r->score[k]));
                else TCET_TRY(skip_value(S, 1));
                ws(S);
                if (S->p < S->n && S->s[S->p] == ',') {
                    S->p++;
                    continue;
                }
                TCET_TRY(expect(S, '}'));
                break;
            }
        } else {
            TCET_TRY(skip_value(S, 1));
        }
        ws(S);
        if (S->p < S->n && S->s[S->p] == ',') {
            S->p++;
            continue;
        }
        return expect(S, '}');
    }
}

static int split_object(scan *S, tcet_nb201_table *t)
{
    TCET_TRY(expect(S, '{'));
    int cap = 0;
    ws(S);
    if (S->p < S->n && S->s[S->p] == '}') {
        S->p++;
        return 0;
    }
    for (;;) {
        if (t->n == cap) {
            cap = cap ? 2 * cap : 1024;
            t->rows = xrealloc(t->rows, (size_t)cap * sizeof *t->rows);
        }
        tcet_nb201_row *r = &t->rows[t->n];
        memset(r, 0, sizeof *r);
        TCET_TRY(str(S, r->key, sizeof r->key));
        tcet_parse_error e;
        if (tcet_nb201_parse(r->key, &r->arch, &e))
            return TCET_FAIL(TCET_ERR_DATA, "%s: architecture key '%s' near byte %zu: %s", S->path, r->key, S->p,
                             e.msg);
        TCET_TRY(expect(S, ':'));
        TCET_TRY(entry(S, t, r));
        t->n++;
        ws(S);
        if (S->p < S->n && S->s[S->p] == ',') {
            S->p++;
            continue;
        }
        return expect(S, '}');
    }
}

int tcet_nb201_table_load(const char *path, const char *split, tcet_nb201_table *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) return TCET_FAIL(TCET_ERR_DATA, "%s: fopen: %s (hint: --table takes NASLib's zc_nasbench201.json)",
                             path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n == cap) buf = xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        return TCET_FAIL(TCET_ERR_DATA, "%s: fread: read error", path);
    }
    scan S = {buf, n, 0, path};
    int rc = expect(&S, '{'), found = 0;
    while (rc == 0) {
        ws(&S);
        if (S.p < S.n && S.s[S.p] == '}') break;
        char key[64];
        if ((rc = str(&S, key, sizeof key)) || (rc = expect(&S, ':'))) break;
        if (!found && !strcmp(key, split)) {
            rc = split_object(&S, t);
            found = 1;
        } else {
            rc = skip_value(&S, 0);
        }
        if (rc) break;
        ws(&S);
        if (S.p < S.n && S.s[S.p] == ',') S.p++;
        else if ((rc = expect(&S, '}'))) break;
        else break;
    }
    free(buf);
    if (rc) {
        tcet_nb201_table_free(t);
        return tcet_trace(rc, __FILE__, __LINE__, "reading the NAS-Bench-201 table");
    }
    if (!found) {
        tcet_nb201_table_free(t);
        return TCET_FAIL(TCET_ERR_DATA, "%s: no split '%s' (the table has cifar10, cifar100, ImageNet16-120)", path,
                         split);
    }
    return 0;
}

void tcet_nb201_table_free(tcet_nb201_table *t)
{
    free(t->rows);
    memset(t, 0, sizeof *t);
}
