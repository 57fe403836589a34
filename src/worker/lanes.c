/* Worker lanes: one thread + backend + scorer per candidate in flight (lanes.h). */
#include "worker/lanes.h"
#include "worker/selfcheck.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

typedef struct {
    const tcet_lane_task *tasks;
    tcet_cand_result *results;
    int n, next, finished; /* next: tasks taken; finished: tasks done */
} job;

typedef struct {
    tcet_lanes *pool;
    int index;
    pthread_t thread;
    int started;
    tcet_backend *be;
    tcet_scorer *sc;
    tcet_worker w;
} lane;

struct tcet_lanes {
    int k;
    lane *lanes;
    tcet_lane_sync sync; /* latency timing alone (worker/task.h) */
    pthread_mutex_t mu;
    pthread_cond_t work;  /* lanes wait here for tasks or quit */
    pthread_cond_t done;  /* the owner waits here for its oldest job */
    /* FIFO of submitted jobs (task batches), guarded by mu: lanes take
     * tasks from the oldest job that has any left, so a second queued batch
     * keeps them busy while the first one's last tasks finish. */
    job jobs[TCET_LANES_MAX_JOBS];
    int head, count, cancel, quit;
};

#define LOCK(p) tcet_pthread_check(pthread_mutex_lock(&(p)->mu), "pthread_mutex_lock")
#define UNLOCK(p) tcet_pthread_check(pthread_mutex_unlock(&(p)->mu), "pthread_mutex_unlock")

static void tcet_pthread_check(int rc, const char *call)
{
    /* These fail only on programming errors (EINVAL, EDEADLK). */
    if (rc) tcet_die(__FILE__, __LINE__, "%s failed: %s", call, strerror(rc));
}

static void fail_result(tcet_cand_result *r, const char *why)
{
    memset(r, 0, sizeof *r);
    r->score = r->raw = TCET_FAIL_SCORE;
    r->latency = INFINITY;
    r->status = TCET_CAND_FAILED;
    snprintf(r->reason, sizeof r->reason, "%s", why);
}

/* A job is done when every task it will run has finished: all n, or after
 * a cancel the ones already taken.  Caller holds mu. */
static int job_done(const tcet_lanes *p, const job *j) { return j->finished == (p->cancel ? j->next : j->n); }

/* The oldest job with a task left to take (none after a cancel). */
static job *next_job(tcet_lanes *p)
{
    if (p->cancel) return NULL;
    for (int q = 0; q < p->count; q++) {
        job *j = &p->jobs[(p->head + q) % TCET_LANES_MAX_JOBS];
        if (j->next < j->n) return j;
    }
    return NULL;
}

static void *lane_main(void *arg)
{
    lane *l = arg;
    tcet_lanes *p = l->pool;
    /* A GPU backend is bound to its device per host thread. */
    char bind_error[160] = "";
    if (tcet_backend_bind_thread(l->be)) {
        snprintf(bind_error, sizeof bind_error, "lane %d: %s", l->index, tcet_error_message());
        tcet_error_clear();
    }
    LOCK(p);
    for (;;) {
        job *j = NULL;
        while (!p->quit && !(j = next_job(p)))
            tcet_pthread_check(pthread_cond_wait(&p->work, &p->mu), "pthread_cond_wait");
        if (p->quit) break;
        int i = j->next++;
        const tcet_lane_task t = j->tasks[i];
        tcet_cand_result *r = &j->results[i];
        UNLOCK(p);
        if (bind_error[0])
            fail_result(r, bind_error);
        else
            tcet_worker_score_one(&l->w, t.id, t.structure, t.len, r);
        LOCK(p);
        j->finished++;
        if (job_done(p, j)) tcet_pthread_check(pthread_cond_broadcast(&p->done), "pthread_cond_broadcast");
    }
    UNLOCK(p);
    return NULL;
}

/* CPUs this process may run on (its affinity mask); 0 if unknown. */
int tcet_lanes_cpus_available(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return CPU_COUNT(&set);
}

/* Lanes are threads of one process: a launcher that binds each rank to one
 * core (mpirun does for -np <= 2, srun without --cpus-per-task) makes them
 * take turns on it and the lanes gain nothing.  Say so, with the fix. */
static void warn_if_bound(int k, int threads)
{
    int cpus = tcet_lanes_cpus_available();
    if (cpus <= 0 || cpus >= k * threads) return;
    fprintf(stderr,
            "tcet: WARNING: %d lane(s) x %d BLAS thread(s), but this process may use only %d CPU(s): the "
            "lanes will share %s. Give each worker rank %d CPUs: `mpirun --bind-to none` or "
            "`--map-by slot:PE=%d`, `srun --cpus-per-task=%d`\n",
            k, threads, cpus, cpus == 1 ? "one core" : "those cores", k * threads, k * threads, k * threads);
}

int tcet_lanes_create(int k, const char *backend, int device, int threads,
                      const tcet_score_config *sc_cfg, const tcet_search_config *search_cfg,
                      tcet_lanes **out)
{
    *out = NULL;
    if (k < 1 || k > TCET_MAX_LANES)
        return TCET_FAIL(TCET_ERR_USAGE, "--lanes must be between 1 and %d (got %d)", TCET_MAX_LANES, k);
    if (k > 1) warn_if_bound(k, threads > 0 ? threads : 1);
    tcet_lanes *p = xcalloc(1, sizeof *p);
    p->lanes = xcalloc((size_t)k, sizeof *p->lanes);
    tcet_pthread_check(pthread_mutex_init(&p->mu, NULL), "pthread_mutex_init");
    tcet_pthread_check(pthread_cond_init(&p->work, NULL), "pthread_cond_init");
    tcet_pthread_check(pthread_cond_init(&p->done, NULL), "pthread_cond_init");
    /* Writer preference: a lane waiting to time a latency must not starve
     * behind a stream of candidates being scored. */
    pthread_rwlockattr_t ra;
    tcet_pthread_check(pthread_rwlockattr_init(&ra), "pthread_rwlockattr_init");
    tcet_pthread_check(pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP),
                       "pthread_rwlockattr_setkind_np");
    tcet_pthread_check(pthread_rwlock_init(&p->sync.lock, &ra), "pthread_rwlock_init");
    pthread_rwlockattr_destroy(&ra);
    atomic_init(&p->sync.scoring, 0);
    atomic_init(&p->sync.busy_at_latency, 0);
    int rc = 0;
    for (int i = 0; i < k && !rc; i++) {
        lane *l = &p->lanes[i];
        l->pool = p;
        l->index = i;
        p->k = i + 1; /* destroy frees exactly what was made */
        rc = tcet_backend_create_checked(backend, device, threads, &l->be);
        if (!rc) rc = tcet_scorer_create(sc_cfg, l->be, &l->sc);
        if (!rc) {
            tcet_worker_init(&l->w, l->sc, l->be, search_cfg);
            if (k > 1) l->w.sync = &p->sync;
        }
        if (!rc) {
            int e = pthread_create(&l->thread, NULL, lane_main, l);
            if (e) rc = TCET_FAIL(TCET_ERR_NOMEM, "cannot start worker lane %d: pthread_create: %s "
                                  "(hint: lower --lanes)", i, strerror(e));
            else l->started = 1;
        }
    }
    if (rc) {
        tcet_lanes_destroy(p);
        return tcet_trace(rc, __FILE__, __LINE__, "creating the worker lanes");
    }
    *out = p;
    return 0;
}

void tcet_lanes_destroy(tcet_lanes *p)
{
    if (!p) return;
    LOCK(p);
    p->quit = 1;
    tcet_pthread_check(pthread_cond_broadcast(&p->work), "pthread_cond_broadcast");
    UNLOCK(p);
    for (int i = 0; i < p->k; i++) {
        lane *l = &p->lanes[i];
        if (l->started) tcet_pthread_check(pthread_join(l->thread, NULL), "pthread_join");
        tcet_worker_free(&l->w); /* the latency network lives on l->be */
        if (l->sc) tcet_scorer_destroy(l->sc);
        if (l->be) l->be->destroy(l->be);
    }
    pthread_rwlock_destroy(&p->sync.lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->lanes);
    free(p);
}

int tcet_lanes_count(const tcet_lanes *p) { return p->k; }
tcet_backend *tcet_lanes_backend(tcet_lanes *p, int lane_index) { return p->lanes[lane_index].be; }

static void deadline_in(double timeout_s, struct timespec *until)
{
    clock_gettime(CLOCK_REALTIME, until);
    double whole = floor(timeout_s);
    until->tv_sec += (time_t)whole;
    until->tv_nsec += (long)((timeout_s - whole) * 1e9);
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

void tcet_lanes_submit(tcet_lanes *p, const tcet_lane_task *tasks, int n, tcet_cand_result *results)
{
    LOCK(p);
    if (p->count == TCET_LANES_MAX_JOBS) tcet_die(__FILE__, __LINE__, "more than %d task batches queued", TCET_LANES_MAX_JOBS);
    if (p->count == 0) p->cancel = 0; /* a fresh start after a cancel */
    job *j = &p->jobs[(p->head + p->count) % TCET_LANES_MAX_JOBS];
    *j = (job){.tasks = tasks, .results = results, .n = n};
    p->count++;
    tcet_pthread_check(pthread_cond_broadcast(&p->work), "pthread_cond_broadcast");
    UNLOCK(p);
}

int tcet_lanes_queued(tcet_lanes *p)
{
    LOCK(p);
    int c = p->count;
    UNLOCK(p);
    return c;
}

/* Every queued job (all = 1) or the oldest one (all = 0) is done.  Caller holds mu. */
static int jobs_done(const tcet_lanes *p, int all)
{
    int n = all ? p->count : (p->count > 0);
    for (int q = 0; q < n; q++)
        if (!job_done(p, &p->jobs[(p->head + q) % TCET_LANES_MAX_JOBS])) return 0;
    return 1;
}

static int wait_jobs(tcet_lanes *p, int all, double timeout_s)
{
    struct timespec until;
    deadline_in(timeout_s, &until);
    LOCK(p);
    int done;
    while (!(done = jobs_done(p, all))) {
        int e = pthread_cond_timedwait(&p->done, &p->mu, &until);
        if (e == ETIMEDOUT) {
            done = jobs_done(p, all);
            break;
        }
        if (e) tcet_pthread_check(e, "pthread_cond_timedwait");
    }
    UNLOCK(p);
    return done;
}

int tcet_lanes_wait_oldest(tcet_lanes *p, double timeout_s) { return wait_jobs(p, 0, timeout_s); }

int tcet_lanes_pop(tcet_lanes *p)
{
    LOCK(p);
    if (p->count == 0 || !job_done(p, &p->jobs[p->head])) tcet_die(__FILE__, __LINE__, "tcet_lanes_pop: no finished job");
    int valid = p->jobs[p->head].finished; /* a done job: all n, or after a cancel the ones taken */
    p->head = (p->head + 1) % TCET_LANES_MAX_JOBS;
    p->count--;
    UNLOCK(p);
    return valid;
}

int tcet_lanes_wait_all(tcet_lanes *p, double timeout_s) { return wait_jobs(p, 1, timeout_s); }

/* ---- one batch at a time (tcet bench, tests) ---- */

void tcet_lanes_start(tcet_lanes *p, const tcet_lane_task *tasks, int n, tcet_cand_result *results)
{
    /* the previous batch, if any, must be finished: drop it */
    if (tcet_lanes_queued(p) == 1) {
        if (!tcet_lanes_wait_oldest(p, 0)) tcet_die(__FILE__, __LINE__, "tcet_lanes_start while a batch is running");
        tcet_lanes_pop(p);
    }
    if (tcet_lanes_queued(p) != 0) tcet_die(__FILE__, __LINE__, "tcet_lanes_start with batches queued");
    tcet_lanes_submit(p, tasks, n, results);
}

int tcet_lanes_wait(tcet_lanes *p, double timeout_s) { return tcet_lanes_wait_oldest(p, timeout_s); }

void tcet_lanes_cancel(tcet_lanes *p)
{
    LOCK(p);
    p->cancel = 1;
    /* the lanes already running finish; a job is now done at `next` */
    tcet_pthread_check(pthread_cond_broadcast(&p->done), "pthread_cond_broadcast");
    UNLOCK(p);
}

int tcet_lanes_finished(tcet_lanes *p)
{
    LOCK(p);
    int f = p->count > 0 ? p->jobs[p->head].finished : 0;
    UNLOCK(p);
    return f;
}

int tcet_lanes_busy_at_latency(tcet_lanes *p) { return atomic_load(&p->sync.busy_at_latency); }
