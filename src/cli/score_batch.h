/* Batch mode of `tcet score` (and the scoring part of `tcet validate`). */
#ifndef TCET_SCORE_BATCH_H
#define TCET_SCORE_BATCH_H

#include "master/batch.h"
#include "worker/scorer.h"

enum { SCORE_FMT_TABLE = 0, SCORE_FMT_CSV = 1, SCORE_FMT_JSON = 2 };

/* "tcet-snip,naswot" -> proxy ids (no duplicates); usage error recorded. */
int score_parse_proxy_list(const char *list, int *proxies, int *n);
/* Load the structures (literal, @file, -), run the batch (MPI when launched
 * so), print on rank 0.  Returns the exit code. */
int score_batch_main(const char *structures, const int *proxies, int nproxy, const tcet_score_config *cfg,
                     const char *backend, int threads, const char *out_path, int format);

#endif
