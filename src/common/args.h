/* Command-line flags, shared by the commands and the search options
 * (common/config.c).  Checked parsing of option values: every bad value gets one message naming
 * the flag, the value and the accepted range, and TCET_ERR_USAGE. */
#ifndef TCET_ARGS_H
#define TCET_ARGS_H

#include <stdint.h>

/* The one numeric parser, for every flag of every command and every value of
 * a configuration text (common/config.c): the value is written plainly, as a
 * non-negative number starting with a digit (no blank, no sign), with nothing
 * after it, and in range (no overflow; [lo, hi]).  A bad value gets one
 * message naming the flag, the value and the range, and the status `code`
 * (TCET_ERR_USAGE on the command line, TCET_ERR_CHECKPOINT for a file). */
int tcet_parse_long(const char *flag, const char *val, long lo, long hi, long *out, int code);
int tcet_parse_u64(const char *flag, const char *val, uint64_t *out, int code);
int tcet_parse_double(const char *flag, const char *val, double lo, double hi, double *out, int code);
/* The same with TCET_ERR_USAGE. */
int arg_long(const char *flag, const char *val, long lo, long hi, long *out);
int arg_int(const char *flag, const char *val, int lo, int hi, int *out);
int arg_u64(const char *flag, const char *val, uint64_t *out);
int arg_double(const char *flag, const char *val, double lo, double hi, double *out);
/* Fetch the value of a flag that takes one: "--flag value" or "--flag=value"
 * (or the flag's older spelling, arg_alias).  Returns 1 and advances *i when
 * argv[*i] is `flag`; 0 when it is another flag; -1 (usage error recorded)
 * when the value is missing. */
int arg_value(int argc, char **argv, int *i, const char *flag, const char **val);
/* The older spelling every command still accepts for `flag`, or NULL:
 * --input-image-size for --resolution, --tcet-mode for --mode. */
const char *arg_alias(const char *flag);

/* The flags of one subcommand, for arg_parse. */
typedef enum { ARG_SWITCH, ARG_STR, ARG_INT, ARG_LONG, ARG_U64 } arg_kind;
typedef struct {
    const char *flag;   /* "--top" */
    arg_kind kind;
    void *dst;          /* ARG_SWITCH and ARG_INT: int *; ARG_STR: const char ** (into argv);
                           ARG_LONG: long *; ARG_U64: uint64_t * */
    long lo, hi;        /* ARG_INT, ARG_LONG: the range; ARG_SWITCH: lo is the value stored */
    const char *alt;    /* another spelling ("-o" for "--output"), or NULL */
} arg_spec;
/* Flags a command parses itself (e.g. the scoring flags shared by score,
 * bench and validate): 1 when argv[*i] was one (*i advanced past its value),
 * 0 when not, -1 on a bad value (error recorded). */
typedef int (*arg_hook)(int argc, char **argv, int *i, void *ctx);
/* The argv loop of `tcet cmd`: "--help" / "-h" sets *help and stops (0);
 * each argument goes to `hook` (nullable) first, then to specs[0..n); anything
 * else is the one positional `what` (anything starting with '-', but "-"
 * itself, is an unknown option; a second positional is an error; refused
 * when positional is NULL).  Returns 0 or TCET_ERR_USAGE (recorded). */
int arg_parse(const char *cmd, int argc, char **argv, const arg_spec *specs, int n, arg_hook hook, void *ctx,
              const char *what, const char **positional, int *help);

#endif
