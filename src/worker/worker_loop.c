/* The worker side of the master/worker protocol (common/msg.h). */
#include "worker/worker_loop.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "common/checkpoint.h"
#include "common/msg.h"
#include "common/mpi_util.h"
#include "master/signals.h"
#include "worker/lanes.h"
#include "worker/latency.h"

void tcet_worker_init(tcet_worker *w, tcet_scorer *sc, tcet_backend *be, const tcet_search_config *cfg)
{
    memset(w, 0, sizeof *w);
    w->sc = sc;
    w->be = be;
    w->cfg = cfg;
}

void tcet_worker_free(tcet_worker *w)
{
    tcet_latency_release(&w->latency); /* before the backend goes */
    memset(w, 0, sizeof *w);
}

static void lock_check(int rc)
{
    if (rc) tcet_die(__FILE__, __LINE__, "pthread rwlock operation failed: %s", strerror(rc));
}

void tcet_worker_score_one(tcet_worker *w, uint64_t id, const char *structure, int len, tcet_worker_result *out)
{
    char s[TCET_MAX_STRUCT + 1];
    tcet_arch a;
    tcet_parse_error err;
    memset(out, 0, sizeof *out);
    out->latency = INFINITY;
    if (len > TCET_MAX_STRUCT) len = TCET_MAX_STRUCT;
    memcpy(s, structure, (size_t)len);
    s[len] = 0;
    if (tcet_arch_parse(s, &a, &err)) {
        out->score = out->raw = TCET_FAIL_SCORE;
        out->status = TCET_SCORE_FAILED;
        snprintf(out->reason, sizeof out->reason, "structure does not parse: %.120s", err.msg);
        return;
    }
    /* Test hook: TCET_TEST_SCORE_DELAY_US slows every candidate down so that
     * the integration tests can interrupt a run in the middle. */
    const char *delay = getenv("TCET_TEST_SCORE_DELAY_US");
    long delay_us = delay ? atol(delay) : 0;
    if (delay_us > 0) tcet_sleep_us(delay_us);
    double t0 = tcet_now();
    if (w->cfg && w->cfg->budget_latency > 0) {
        tcet_error_clear();
        /* spec §5.2: budget network, eval, 3 warm-ups + 1 timed forward
         * (worker/latency.h), timed while no other lane of this rank runs. */
        if (w->sync) lock_check(pthread_rwlock_wrlock(&w->sync->lock));
        if (w->sync) {
            int busy = atomic_load(&w->sync->scoring), seen = atomic_load(&w->sync->busy_at_latency);
            if (busy > seen) atomic_store(&w->sync->busy_at_latency, busy);
        }
        int lat_rc = tcet_measure_latency(&w->latency, w->be, &a, w->cfg->batch_size, w->cfg->resolution,
                                          w->cfg->num_classes, w->cfg->seed, &out->latency);
        if (w->sync) lock_check(pthread_rwlock_unlock(&w->sync->lock));
        if (lat_rc) {
            out->score = out->raw = TCET_FAIL_SCORE;
            out->status = TCET_SCORE_FAILED;
            snprintf(out->reason, sizeof out->reason, "latency measurement failed: %s", tcet_error_message());
            tcet_error_clear();
            out->seconds = tcet_now() - t0;
            return;
        }
        if (!(w->cfg->budget_latency >= out->latency)) {
            out->score = out->raw = NAN;
            out->status = TCET_CAND_REJ_LATENCY;
            out->seconds = tcet_now() - t0;
            return;
        }
    }
    tcet_score_result res;
    memset(&res, 0, sizeof res);
    if (w->sync) {
        lock_check(pthread_rwlock_rdlock(&w->sync->lock));
        atomic_fetch_add(&w->sync->scoring, 1);
    }
    tcet_scorer_score(w->sc, id, &a, &res);
    if (w->sync) {
        atomic_fetch_sub(&w->sync->scoring, 1);
        lock_check(pthread_rwlock_unlock(&w->sync->lock));
    }
    out->score = res.score;
    out->raw = res.raw_score;
    out->status = res.status;
    snprintf(out->reason, sizeof out->reason, "%s", res.reason);
    out->seconds = tcet_now() - t0;
}

static int stop_pending(void)
{
    int flag = 0;
    CHECK_MPI(MPI_Iprobe(0, TCET_TAG_STOP, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE));
    return flag;
}

/* How often a worker waiting for its lanes looks for a STOP from the
 * master: often enough that a stop is prompt, rarely enough to cost nothing
 * (the lanes wake the waiter as soon as the batch is done). */
#define STOP_POLL_S 0.002

int tcet_worker_loop(tcet_lanes *lanes)
{
    tcet_buf out = {0};
    unsigned char *in = NULL;
    size_t incap = 0;
    tcet_lane_task *tasks = NULL;
    tcet_worker_result *results = NULL;
    size_t cap = 0;
    tcet_idle idle = {0};
    for (;;) {
        int flag = 0;
        MPI_Status st;
        /* Poll + sleep instead of a blocking receive: an idle worker must not
         * take CPU from the master or a busy worker on an oversubscribed node. */
        CHECK_MPI(MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
        if (!flag) {
            tcet_idle_wait(&idle);
            continue;
        }
        tcet_idle_reset(&idle);
        int count = 0;
        CHECK_MPI(MPI_Get_count(&st, MPI_BYTE, &count));
        if ((size_t)count > incap) {
            incap = (size_t)count + 1024;
            in = xrealloc(in, incap);
        }
        CHECK_MPI(MPI_Recv(in, count, MPI_BYTE, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        if (st.MPI_TAG == TCET_TAG_STOP) break;
        if (st.MPI_TAG != TCET_TAG_TASK) continue;
        size_t pos;
        uint32_t n;
        if (tcet_msg_read_count(in, (size_t)count, &pos, &n)) tcet_die(__FILE__, __LINE__, "%s", tcet_error_message());
        if (n > cap) {
            cap = n;
            tasks = xrealloc(tasks, cap * sizeof *tasks);
            results = xrealloc(results, cap * sizeof *results);
        }
        for (uint32_t i = 0; i < n; i++) { /* the structures stay in `in` until the batch is done */
            tcet_msg_task t;
            if (tcet_msg_next_task(in, (size_t)count, &pos, &t))
                tcet_die(__FILE__, __LINE__, "%s", tcet_error_message());
            tasks[i] = (tcet_lane_task){.id = t.id, .structure = t.structure, .len = t.len};
        }
        tcet_lanes_start(lanes, tasks, (int)n, results);
        int stopped = 0;
        while (!tcet_lanes_wait(lanes, STOP_POLL_S)) {
            if (!stopped && stop_pending()) { /* drop the rest: the master no longer waits for them */
                stopped = 1;
                tcet_lanes_cancel(lanes);
            }
        }
        if (stopped) {
            CHECK_MPI(MPI_Recv(NULL, 0, MPI_BYTE, 0, TCET_TAG_STOP, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
            break;
        }
        tcet_msg_begin(&out);
        for (uint32_t i = 0; i < n; i++) {
            const tcet_worker_result *wr = &results[i];
            tcet_msg_result r;
            memset(&r, 0, sizeof r);
            r.id = tasks[i].id;
            r.score = wr->score;
            r.raw = wr->raw;
            r.status = wr->status;
            r.seconds = wr->seconds;
            r.latency = wr->latency;
            snprintf(r.reason, sizeof r.reason, "%s", wr->reason);
            tcet_msg_add_result(&out, &r);
        }
        CHECK_MPI(MPI_Send(out.p, (int)out.len, MPI_BYTE, 0, TCET_TAG_RESULT, MPI_COMM_WORLD));
    }
    CHECK_MPI(MPI_Send(NULL, 0, MPI_BYTE, 0, TCET_TAG_BYE, MPI_COMM_WORLD));
    tcet_buf_free(&out);
    free(in);
    free(tasks);
    free(results);
    return 0;
}
