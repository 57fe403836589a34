/* The worker side of the master/worker protocol (common/msg.h). */
#include "worker/worker_loop.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "common/cand.h"
#include "common/msg.h"
#include "common/mpi_util.h"
#include "worker/lanes.h"
#include "worker/latency.h"

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
    tcet_cand_result *results;
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
    for (uint32_t i = 0; i < b->n; i++) tcet_msg_add_result(&b->out, b->tasks[i].id, &b->results[i]);
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
