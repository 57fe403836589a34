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
#include "worker/lanes.h"
#include "worker/latency.h"

void tcet_worker_init(tcet_worker *w, tcet_scorer *sc, tcet_backend *be, const tcet_search_config *cfg)
{
    memset(w, 0, sizeof *w);
    w->sc = sc;
    w->be = be;
    w->cfg = cfg;
    /* Test hook: TCET_TEST_SCORE_DELAY_US slows every candidate down so that
     * the integration tests can interrupt a run in the middle. */
    const char *delay = getenv("TCET_TEST_SCORE_DELAY_US");
    w->delay_us = delay ? atol(delay) : 0;
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
    if (w->delay_us > 0) tcet_sleep_us(w->delay_us);
    double t0 = tcet_now();
    if (w->cfg && w->cfg->budget_latency > 0) {
        tcet_error_clear();
        /* docs/semantics.md#main-loop: budget network, eval, 3 warm-ups + 1 timed forward
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

/* How long a worker with batches in progress waits for its lanes before it
 * looks for messages again: often enough that a STOP or the next batch is
 * seen promptly, rarely enough to cost nothing (the lanes wake it as soon
 * as its oldest batch is done). */
#define POLL_S 0.002

/* One task message held by the worker: the received bytes (the tasks'
 * structures point into them), the tasks and results, and the reply being
 * sent (non-blocking, so that the worker never waits on the master while
 * the master may be sending it the next batch). */
typedef struct {
    unsigned char *in;
    size_t incap;
    tcet_lane_task *tasks;
    tcet_worker_result *results;
    size_t cap;
    uint32_t n;
    tcet_buf out;
    MPI_Request req;
} batch_slot;

static void receive_batch(batch_slot *b, int count, tcet_lanes *lanes)
{
    if ((size_t)count > b->incap) {
        b->incap = (size_t)count + 1024;
        b->in = xrealloc(b->in, b->incap);
    }
    CHECK_MPI(MPI_Recv(b->in, count, MPI_BYTE, 0, TCET_TAG_TASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    size_t pos;
    if (tcet_msg_read_count(b->in, (size_t)count, &pos, &b->n)) tcet_die(__FILE__, __LINE__, "%s", tcet_error_message());
    if (b->n > b->cap) {
        b->cap = b->n;
        b->tasks = xrealloc(b->tasks, b->cap * sizeof *b->tasks);
        b->results = xrealloc(b->results, b->cap * sizeof *b->results);
    }
    for (uint32_t i = 0; i < b->n; i++) {
        tcet_msg_task t;
        if (tcet_msg_next_task(b->in, (size_t)count, &pos, &t)) tcet_die(__FILE__, __LINE__, "%s", tcet_error_message());
        b->tasks[i] = (tcet_lane_task){.id = t.id, .structure = t.structure, .len = t.len};
    }
    tcet_lanes_submit(lanes, b->tasks, (int)b->n, b->results);
}

static void send_results(batch_slot *b)
{
    tcet_msg_begin(&b->out);
    for (uint32_t i = 0; i < b->n; i++) {
        const tcet_worker_result *wr = &b->results[i];
        tcet_msg_result r;
        memset(&r, 0, sizeof r);
        r.id = b->tasks[i].id;
        r.score = wr->score;
        r.raw = wr->raw;
        r.status = wr->status;
        r.seconds = wr->seconds;
        r.latency = wr->latency;
        snprintf(r.reason, sizeof r.reason, "%s", wr->reason);
        tcet_msg_add_result(&b->out, &r);
    }
    CHECK_MPI(MPI_Isend(b->out.p, (int)b->out.len, MPI_BYTE, 0, TCET_TAG_RESULT, MPI_COMM_WORLD, &b->req));
}

int tcet_worker_loop(tcet_lanes *lanes)
{
    enum { SLOTS = TCET_LANES_MAX_JOBS };
    batch_slot slots[SLOTS];
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < SLOTS; i++) slots[i].req = MPI_REQUEST_NULL;
    int head = 0, held = 0; /* slots[head .. head+held) are with the lanes, oldest first */
    tcet_idle idle = {0};
    for (;;) {
        int progressed = 0;
        /* Answer finished batches, oldest first (the lanes finish them in order
         * of submission only roughly; the master does not care). */
        while (held > 0 && tcet_lanes_wait_oldest(lanes, 0)) {
            batch_slot *b = &slots[head];
            int sent = 0;
            CHECK_MPI(MPI_Test(&b->req, &sent, MPI_STATUS_IGNORE)); /* its out buffer is free */
            if (!sent) break;
            tcet_lanes_pop(lanes);
            send_results(b);
            head = (head + 1) % SLOTS;
            held--;
            progressed = 1;
        }
        /* Poll + sleep instead of a blocking receive: an idle worker must not
         * take CPU from the master or a busy worker on an oversubscribed node. */
        int flag = 0;
        MPI_Status st;
        CHECK_MPI(MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
        if (flag) {
            progressed = 1;
            int count = 0;
            CHECK_MPI(MPI_Get_count(&st, MPI_BYTE, &count));
            if (st.MPI_TAG == TCET_TAG_TASK) {
                if (held == SLOTS)
                    tcet_die(__FILE__, __LINE__, "the master sent more than %d task batches at once", SLOTS);
                batch_slot *b = &slots[(head + held) % SLOTS];
                receive_batch(b, count, lanes);
                held++;
            } else {
                unsigned char *junk = count > 0 ? xmalloc((size_t)count) : NULL;
                CHECK_MPI(MPI_Recv(junk, count, MPI_BYTE, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
                free(junk);
                if (st.MPI_TAG == TCET_TAG_STOP) {
                    /* drop what was not started: the master no longer waits for it */
                    tcet_lanes_cancel(lanes);
                    while (!tcet_lanes_wait_all(lanes, 0.1)) {}
                    while (tcet_lanes_queued(lanes) > 0) tcet_lanes_pop(lanes);
                    break;
                }
            }
        }
        if (progressed) {
            tcet_idle_reset(&idle);
        } else if (held > 0) {
            tcet_lanes_wait_oldest(lanes, POLL_S);
        } else {
            tcet_idle_wait(&idle);
        }
    }
    /* replies already on their way complete as the master drains them */
    for (int i = 0; i < SLOTS; i++) CHECK_MPI(MPI_Wait(&slots[i].req, MPI_STATUS_IGNORE));
    CHECK_MPI(MPI_Send(NULL, 0, MPI_BYTE, 0, TCET_TAG_BYE, MPI_COMM_WORLD));
    for (int i = 0; i < SLOTS; i++) {
        tcet_buf_free(&slots[i].out);
        free(slots[i].in);
        free(slots[i].tasks);
        free(slots[i].results);
    }
    return 0;
}
