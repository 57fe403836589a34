/* Several candidates in flight inside one worker rank ("lanes").
 *
 * A lane is one thread with its own backend instance (on a GPU: its own
 * stream, cuDNN and cuBLAS handles on the rank's device; on the CPU: its own
 * scratch space), its own scorer and its own latency network.  A task batch
 * is shared out dynamically: each lane takes the next unscored candidate, so
 * a slow candidate does not hold the others back.  Scores depend only on
 * (seed, candidate id) and every lane computes exactly what a single lane
 * would, so results are bit-identical whatever the number of lanes.
 *
 * The latency filter is a wall-clock timing: a lane times a budget network
 * only while no other lane of the rank is scoring (a writer-preferring
 * read/write lock: scoring shares it, timing takes it alone), so lanes do
 * not inflate each other's latencies.  (Other ranks on the same GPU still
 * can: give each worker rank its own GPU when a latency budget is set.)
 *
 * Only the thread that created the pool calls MPI (MPI_THREAD_FUNNELED); the
 * lanes never do.  The dataset is shared read-only by the lanes (lazy HDF5
 * reads are serialised inside common/data). */
#ifndef TCET_LANES_H
#define TCET_LANES_H

#include <stdint.h>

#include "common/config.h"
#include "common/data.h"
#include "common/cand.h"
#include "worker/scorer.h"
#include "worker/task.h"

#define TCET_MAX_LANES 64

typedef struct tcet_lanes tcet_lanes;

typedef struct {
    uint64_t id;
    const char *structure;  /* not NUL-terminated: len bytes */
    int len;
} tcet_lane_task;

/* k lanes, each with a backend from tcet_backend_create(backend, device,
 * threads) and a scorer of sc_cfg (sc_cfg->data shared).  search_cfg
 * (nullable) enables the latency filter as in tcet_worker_score_one.
 * Errors: USAGE (k out of range), BACKEND, NOMEM. */
int tcet_lanes_create(int k, const char *backend, int device, int threads,
                      const tcet_score_config *sc_cfg, const tcet_search_config *search_cfg,
                      tcet_lanes **out);
void tcet_lanes_destroy(tcet_lanes *p);

int tcet_lanes_count(const tcet_lanes *p);
/* Lane 0's backend (for its name and device description). */
tcet_backend *tcet_lanes_backend(tcet_lanes *p, int lane);

/* Task batches ("jobs") form a FIFO of at most TCET_LANES_MAX_JOBS: the lanes
 * take tasks from the oldest job with tasks left, in index order.  tasks and
 * results must stay valid until the job is popped.  Only the owner thread
 * submits, waits and pops. */
#define TCET_LANES_MAX_JOBS 4
void tcet_lanes_submit(tcet_lanes *p, const tcet_lane_task *tasks, int n, tcet_cand_result *results);
/* Jobs submitted and not yet popped. */
int tcet_lanes_queued(tcet_lanes *p);
/* Wait up to timeout_s until the oldest job is done (every task it will run
 * has finished): 1 when it is (or no job is queued), 0 on timeout. */
int tcet_lanes_wait_oldest(tcet_lanes *p, double timeout_s);
/* Remove the oldest job, which must be done; returns how many of its
 * results, results[0 .. ret), are valid (all n unless cancelled). */
int tcet_lanes_pop(tcet_lanes *p);
/* Wait up to timeout_s until every queued job is done: 1 / 0. */
int tcet_lanes_wait_all(tcet_lanes *p, double timeout_s);
/* No lane takes another task of any queued job; returns at once (wait for
 * the candidates being scored with tcet_lanes_wait_all).  The next submit
 * into an empty queue starts afresh. */
void tcet_lanes_cancel(tcet_lanes *p);

/* One batch at a time (tcet bench, tests): start = submit into an empty
 * queue (a finished previous batch is dropped first); wait = wait_oldest;
 * finished = how many results of the current batch are valid (a prefix). */
void tcet_lanes_start(tcet_lanes *p, const tcet_lane_task *tasks, int n, tcet_cand_result *results);
int tcet_lanes_wait(tcet_lanes *p, double timeout_s);
int tcet_lanes_finished(tcet_lanes *p);

/* CPUs this process may run on (sched_getaffinity); 0 if unknown.  With
 * k > 1 lanes, tcet_lanes_create warns when this is below k x threads. */
int tcet_lanes_cpus_available(void);

/* The most candidates other lanes were scoring while a latency was being
 * timed (0: the latency filter times alone, as it must; for tests). */
int tcet_lanes_busy_at_latency(tcet_lanes *p);

#endif
