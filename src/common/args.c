#include "common/args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* Every value tcet accepts is non-negative and written plainly: the first
 * character must be a digit.  strto* would otherwise skip leading blanks and
 * accept a sign, so " -1" became 2^64-1 for --seed. */
static int starts_with_digit(const char *val) { return val[0] >= '0' && val[0] <= '9'; }

int tcet_parse_long(const char *flag, const char *val, long lo, long hi, long *out, int code)
{
    char *end = NULL;
    errno = 0;
    if (!starts_with_digit(val)) return TCET_FAIL(code, "%s expects an integer, got '%s'", flag, val);
    long v = strtol(val, &end, 10);
    if (*end || errno == ERANGE) return TCET_FAIL(code, "%s expects an integer, got '%s'", flag, val);
    if (v < lo || v > hi) return TCET_FAIL(code, "%s %s is out of range [%ld, %ld]", flag, val, lo, hi);
    *out = v;
    return 0;
}

int tcet_parse_u64(const char *flag, const char *val, uint64_t *out, int code)
{
    char *end = NULL;
    errno = 0;
    if (!starts_with_digit(val)) return TCET_FAIL(code, "%s expects a non-negative integer, got '%s'", flag, val);
    unsigned long long v = strtoull(val, &end, 10);
    if (*end || errno == ERANGE) return TCET_FAIL(code, "%s expects a non-negative integer, got '%s'", flag, val);
    *out = (uint64_t)v;
    return 0;
}

int tcet_parse_double(const char *flag, const char *val, double lo, double hi, double *out, int code)
{
    char *end = NULL;
    errno = 0;
    if (!starts_with_digit(val)) return TCET_FAIL(code, "%s expects a non-negative number, got '%s'", flag, val);
    double v = strtod(val, &end);
    if (*end || errno == ERANGE || !isfinite(v)) return TCET_FAIL(code, "%s expects a number, got '%s'", flag, val);
    if (v < lo || v > hi) return TCET_FAIL(code, "%s %s is out of range [%g, %g]", flag, val, lo, hi);
    *out = v;
    return 0;
}

int arg_long(const char *flag, const char *val, long lo, long hi, long *out)
{
    return tcet_parse_long(flag, val, lo, hi, out, TCET_ERR_USAGE);
}

int arg_int(const char *flag, const char *val, int lo, int hi, int *out)
{
    long v = 0;
    TCET_TRY(arg_long(flag, val, lo, hi, &v));
    *out = (int)v;
    return 0;
}

int arg_u64(const char *flag, const char *val, uint64_t *out) { return tcet_parse_u64(flag, val, out, TCET_ERR_USAGE); }

int arg_double(const char *flag, const char *val, double lo, double hi, double *out)
{
    return tcet_parse_double(flag, val, lo, hi, out, TCET_ERR_USAGE);
}

/* Older spellings, accepted by every command (docs/search.md, "Options"). */
static const char *const aliases[][2] = {
    {"--resolution", "--input-image-size"}, /* tcet search's name before the flags were unified */
    {"--mode", "--tcet-mode"},
};

const char *arg_alias(const char *flag)
{
    for (size_t k = 0; k < sizeof aliases / sizeof aliases[0]; k++)
        if (!strcmp(flag, aliases[k][0])) return aliases[k][1];
    return NULL;
}

static int value_of(int argc, char **argv, int *i, const char *flag, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(flag);
    if (strncmp(a, flag, n) != 0) return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != 0) return 0;
    if (*i + 1 >= argc) {
        TCET_FAIL(TCET_ERR_USAGE, "%s needs a value", flag);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int arg_value(int argc, char **argv, int *i, const char *flag, const char **val)
{
    int r = value_of(argc, argv, i, flag, val);
    const char *alias = arg_alias(flag);
    return r == 0 && alias ? value_of(argc, argv, i, alias, val) : r;
}

/* An unknown option, reported the same way by every command. */
static int arg_unknown(const char *cmd, const char *arg)
{
    return TCET_FAIL(TCET_ERR_USAGE, "unknown option '%s' for 'tcet %s' (see 'tcet %s --help')", arg, cmd, cmd);
}

static int arg_positional(const char *cmd, const char *what, const char *arg, const char **slot)
{
    if (arg[0] == '-' && arg[1] != 0) return arg_unknown(cmd, arg);
    if (*slot)
        return TCET_FAIL(TCET_ERR_USAGE, "'tcet %s' takes one %s, got a second argument '%s'", cmd, what, arg);
    *slot = arg;
    return 0;
}

static int spec_value(const arg_spec *s, const char *flag, const char *val)
{
    switch (s->kind) {
    case ARG_STR: *(const char **)s->dst = val; return 0;
    case ARG_INT: {
        long v = 0;
        TCET_TRY(arg_long(flag, val, s->lo, s->hi, &v));
        *(int *)s->dst = (int)v;
        return 0;
    }
    case ARG_LONG: return arg_long(flag, val, s->lo, s->hi, (long *)s->dst);
    case ARG_U64: return arg_u64(flag, val, (uint64_t *)s->dst);
    case ARG_SWITCH: break;
    }
    return TCET_FAIL(TCET_ERR_USAGE, "internal: bad flag kind for %s", flag);
}

/* 1: argv[*i] was s (value parsed), 0: not, -1: error recorded. */
static int spec_match(const arg_spec *s, int argc, char **argv, int *i)
{
    for (int k = 0; k < 2; k++) {
        const char *flag = k ? s->alt : s->flag, *val = NULL;
        if (!flag) continue;
        if (s->kind == ARG_SWITCH) {
            if (strcmp(argv[*i], flag)) continue;
            *(int *)s->dst = (int)s->lo;
            return 1;
        }
        int r = arg_value(argc, argv, i, flag, &val);
        if (r == 0) continue;
        return r < 0 || spec_value(s, flag, val) ? -1 : 1;
    }
    return 0;
}

int arg_parse(const char *cmd, int argc, char **argv, const arg_spec *specs, int n, arg_hook hook, void *ctx,
              const char *what, const char **positional, int *help)
{
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = 1;
            return 0;
        }
        int r = hook ? hook(argc, argv, &i, ctx) : 0;
        for (int k = 0; k < n && r == 0; k++) r = spec_match(&specs[k], argc, argv, &i);
        if (r < 0) return TCET_ERR_USAGE;
        if (r > 0) continue;
        if (!positional) return arg_unknown(cmd, a);
        TCET_TRY(arg_positional(cmd, what, a, positional));
    }
    return 0;
}
