/* Command-line flags, shared by the commands and the search options
 * (common/config.c).  Checked parsing of option values: every bad value gets one message naming
 * the flag, the value and the accepted range, and TCET_ERR_USAGE. */
#ifndef TCET_ARGS_H
#define TCET_ARGS_H

#include <stdint.h>

int arg_long(const char *flag, const char *val, long lo, long hi, long *out);
int arg_int(const char *flag, const char *val, int lo, int hi, int *out);
int arg_u64(const char *flag, const char *val, uint64_t *out);
int arg_double(const char *flag, const char *val, double lo, double hi, double *out);
/* Fetch the value of a flag that takes one: "--flag value" or "--flag=value".
 * Returns 1 and advances *i when argv[*i] is `flag`; 0 when it is another
 * flag; -1 (usage error recorded) when the value is missing. */
int arg_value(int argc, char **argv, int *i, const char *flag, const char **val);
/* The one positional argument of a command (`what`: "structure", "run"):
 * anything starting with '-' (but "-" itself) is an unknown option; a second
 * positional is an error.  Returns 0 or TCET_ERR_USAGE (recorded). */
int arg_positional(const char *cmd, const char *what, const char *arg, const char **slot);
/* Reports an unknown option the same way everywhere. */
int arg_unknown(const char *cmd, const char *arg);

#endif
