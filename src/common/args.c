#include "common/args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

int arg_long(const char *flag, const char *val, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (!*val || *end || errno == ERANGE)
        return TCET_FAIL(TCET_ERR_USAGE, "%s expects an integer, got '%s'", flag, val);
    if (v < lo || v > hi)
        return TCET_FAIL(TCET_ERR_USAGE, "%s %s is out of range [%ld, %ld]", flag, val, lo, hi);
    *out = v;
    return 0;
}

int arg_int(const char *flag, const char *val, int lo, int hi, int *out)
{
    long v = 0;
    TCET_TRY(arg_long(flag, val, lo, hi, &v));
    *out = (int)v;
    return 0;
}

int arg_u64(const char *flag, const char *val, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    /* strtoull skips blanks and accepts a sign: only plain digits are a seed */
    if (*val < '0' || *val > '9')
        return TCET_FAIL(TCET_ERR_USAGE, "%s expects a non-negative integer, got '%s'", flag, val);
    unsigned long long v = strtoull(val, &end, 10);
    if (*end || errno == ERANGE)
        return TCET_FAIL(TCET_ERR_USAGE, "%s expects a non-negative integer, got '%s'", flag, val);
    *out = (uint64_t)v;
    return 0;
}

int arg_double(const char *flag, const char *val, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(val, &end);
    if (!*val || *end || errno == ERANGE || !isfinite(v))
        return TCET_FAIL(TCET_ERR_USAGE, "%s expects a number, got '%s'", flag, val);
    if (v < lo || v > hi)
        return TCET_FAIL(TCET_ERR_USAGE, "%s %s is out of range [%g, %g]", flag, val, lo, hi);
    *out = v;
    return 0;
}

int arg_value(int argc, char **argv, int *i, const char *flag, const char **val)
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

int arg_unknown(const char *cmd, const char *arg)
{
    return TCET_FAIL(TCET_ERR_USAGE, "unknown option '%s' for 'tcet %s' (see 'tcet %s --help')", arg, cmd, cmd);
}

int arg_positional(const char *cmd, const char *what, const char *arg, const char **slot)
{
    if (arg[0] == '-' && arg[1] != 0) return arg_unknown(cmd, arg);
    if (*slot)
        return TCET_FAIL(TCET_ERR_USAGE, "'tcet %s' takes one %s, got a second argument '%s'", cmd, what, arg);
    *slot = arg;
    return 0;
}
