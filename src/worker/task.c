/* One task as a worker scores it (task.h). */
#include "worker/task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/mpi_util.h"

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

void tcet_worker_score_one(tcet_worker *w, uint64_t id, const char *structure, int len, tcet_cand_result *out)
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
        out->status = TCET_CAND_FAILED;
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
            out->status = TCET_CAND_FAILED;
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
    double latency = out->latency; /* measured above, or +inf */
    *out = res.r;
    out->latency = latency;
    out->seconds = tcet_now() - t0;  /* the latency measurement included */
}
