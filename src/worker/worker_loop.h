/* A worker rank: receive task batches from rank 0, score them, send the
 * results back; on STOP, no lane starts another candidate. */
#ifndef TCET_WORKER_LOOP_H
#define TCET_WORKER_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

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

typedef struct {
    tcet_scorer *sc;
    tcet_backend *be;
    const tcet_search_config *cfg;
    tcet_latency_cache latency;   /* the budget network, kept between candidates */
    tcet_lane_sync *sync;         /* NULL: a single scorer, nothing to exclude */
    long delay_us;                /* TCET_TEST_SCORE_DELAY_US (tests), read at init */
} tcet_worker;

typedef struct {
    double score, raw, seconds, latency;
    int status;          /* tcet_score_status, or TCET_CAND_REJ_LATENCY */
    char reason[160];
} tcet_worker_result;

void tcet_worker_init(tcet_worker *w, tcet_scorer *sc, tcet_backend *be, const tcet_search_config *cfg);
void tcet_worker_free(tcet_worker *w);
/* The receive/score/reply loop of a worker rank, scoring each task batch
 * on the lanes (worker/lanes.h); called by the MPI thread.  Returns 0 after
 * a STOP from the master. */
typedef struct tcet_lanes tcet_lanes;
int tcet_worker_loop(tcet_lanes *lanes);
/* Score one task given as a structure string (also used by the in-process
 * mode of the master): the latency filter first when a latency budget is set
 * (over budget: TCET_CAND_REJ_LATENCY, not scored), then the proxy; parse
 * failures become a FAILED result. */
void tcet_worker_score_one(tcet_worker *w, uint64_t id, const char *structure, int len, tcet_worker_result *out);

#endif
