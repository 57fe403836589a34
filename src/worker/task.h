/* One task as a worker scores it: a structure string and its candidate id,
 * through the latency filter (when a latency budget is set) and then the
 * scorer.  Used by every lane of a worker rank (worker/lanes.h) and by the
 * in-process mode of the master (master/search.h). */
#ifndef TCET_TASK_H
#define TCET_TASK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/cand.h"
#include "common/config.h"
#include "worker/latency.h"
#include "worker/scorer.h"

/* Shared by the lanes of one worker rank (worker/lanes.h): a latency
 * measurement is a wall-clock timing, so it runs alone (write lock) while
 * scoring holds the read lock; `scoring` counts the candidates being scored
 * and `busy_at_latency` the most seen during a timed measurement (0 when
 * the exclusion works; for tests). */
typedef struct {
    pthread_rwlock_t lock;
    atomic_int scoring;
    atomic_int busy_at_latency;
} tcet_lane_sync;

typedef struct tcet_worker {
    tcet_scorer *sc;
    tcet_backend *be;
    const tcet_search_config *cfg;
    tcet_latency_cache latency;   /* the budget network, kept between candidates */
    tcet_lane_sync *sync;         /* NULL: a single scorer, nothing to exclude */
    long delay_us;                /* TCET_TEST_SCORE_DELAY_US (tests), read at init */
} tcet_worker;

void tcet_worker_init(tcet_worker *w, tcet_scorer *sc, tcet_backend *be, const tcet_search_config *cfg);
void tcet_worker_free(tcet_worker *w);
/* Score one task given as a structure string (len bytes, not NUL-terminated):
 * the latency filter first when a latency budget is set (over budget:
 * TCET_CAND_REJ_LATENCY, not scored), then the proxy; parse failures become
 * a FAILED result. */
void tcet_worker_score_one(tcet_worker *w, uint64_t id, const char *structure, int len, tcet_cand_result *out);

#endif
