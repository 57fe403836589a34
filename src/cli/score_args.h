/* The scoring options shared by `tcet score`, `bench` and `validate`: one set of
 * defaults and one parser, so the two commands cannot drift apart. */
#ifndef TCET_SCORE_ARGS_H
#define TCET_SCORE_ARGS_H

#include "worker/scorer.h"

/* Defaults: tcet-snip settings of the reference (batch 64, res 32, 100
 * classes, gamma 1e-2, log mode, seed 1, 2 ZiCo batches), proxy unset (-1). */
void score_config_defaults(tcet_score_config *cfg);
/* The arg_hook (common/args.h) of the scoring flags, ctx a score_common:
 * consumes argv[*i] when it is one of --batch-size, --resolution,
 * --num-classes, --seed, --gamma, --mode, --same-batch, --precision, --backend, --threads:
 * returns 1; 0 when it is another argument; -1 with the usage error recorded. */
typedef struct {
    tcet_score_config *cfg;
    const char **backend;
    int *threads;
} score_common;
int score_common_hook(int argc, char **argv, int *i, void *ctx);
/* Parses a proxy name, or records a usage error listing the known ones (-1). */
int score_parse_proxy(const char *name);

#endif
