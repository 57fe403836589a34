/* Simulated workers (master_sim.h). */
#include "master_sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arch.h"
#include "common/counters.h"
#include "common/error.h"
#include "common/mpi_util.h"
#include "common/msg.h"
#include "common/rng.h"
#include "worker/scorer.h"

typedef struct {
    double due;        /* when its last candidate is done */
    tcet_buf result;   /* the RESULT message, built when the batch arrives */
    int kind;          /* TCET_TAG_RESULT or TCET_TAG_BYE */
} batch;

typedef struct {
    batch *q;          /* FIFO ring */
    int head, n, cap;
    double free_at;    /* when the worker finishes what it holds */
} vworker;

struct tcet_sim {
    int nworkers, classes, res;
    double delay, jitter;
    vworker *w;
    int *heap, nheap;  /* workers with a pending batch, by the due time of their oldest */
    int *pos;          /* heap position of each worker, -1 if absent */
    tcet_sim_stats st;
    double cpu0, waited; /* the virtual clock (vnow) */
};

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The simulation runs on a virtual clock: the master thread's CPU time
 * (less the simulator's own) plus the time it chose to wait when idle.  So
 * the master is modelled on a core of its own, whatever else loads this
 * machine, and its wake-up latency is its real idle schedule's. */
static double vnow(const tcet_sim *s) { return thread_cpu() - s->cpu0 - s->st.sim_cpu_s + s->waited; }

static double head_due(const tcet_sim *s, int w) { return s->w[w].q[s->w[w].head].due; }

static void heap_swap(tcet_sim *s, int i, int j)
{
    int a = s->heap[i], b = s->heap[j];
    s->heap[i] = b;
    s->heap[j] = a;
    s->pos[b] = i;
    s->pos[a] = j;
}

static void heap_up(tcet_sim *s, int i)
{
    while (i > 0 && head_due(s, s->heap[(i - 1) / 2]) > head_due(s, s->heap[i])) {
        heap_swap(s, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(tcet_sim *s, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && head_due(s, s->heap[l]) < head_due(s, s->heap[m])) m = l;
        if (r < s->nheap && head_due(s, s->heap[r]) < head_due(s, s->heap[m])) m = r;
        if (m == i) return;
        heap_swap(s, i, m);
        i = m;
    }
}

static batch *push_batch(tcet_sim *s, int w)
{
    vworker *v = &s->w[w];
    if (v->n == v->cap) {
        int cap = v->cap ? 2 * v->cap : 4;
        batch *q = xcalloc((size_t)cap, sizeof *q);
        for (int i = 0; i < v->n; i++) q[i] = v->q[(v->head + i) % v->cap];
        free(v->q);
        v->q = q;
        v->head = 0;
        v->cap = cap;
    }
    batch *b = &v->q[(v->head + v->n) % v->cap];
    memset(b, 0, sizeof *b);
    v->n++;
    if (v->n == 1) { /* it becomes the worker's oldest */
        s->pos[w] = s->nheap;
        s->heap[s->nheap++] = w;
    }
    return b;
}

/* A per-candidate factor in [1 - jitter, 1 + jitter], keyed by the id. */
static double factor(const tcet_sim *s, uint64_t id)
{
    if (s->jitter <= 0) return 1;
    tcet_rng r;
    tcet_rng_seed(&r, 0x51u, 99, id);
    return 1 + s->jitter * (2 * tcet_rng_uniform(&r) - 1);
}

static void sim_send(tcet_transport *t, int w, int tag, const void *p, size_t len)
{
    tcet_sim *s = t->ctx;
    double c0 = thread_cpu(), now = vnow(s);
    if (w < 0 || w >= s->nworkers) tcet_die(__FILE__, __LINE__, "simulated worker %d does not exist", w);
    vworker *v = &s->w[w];
    if (tag == TCET_TAG_STOP) { /* drop what was not started; answer BYE */
        batch *b = push_batch(s, w);
        b->kind = TCET_TAG_BYE;
        b->due = now;
        if (v->n == 1) heap_up(s, s->pos[w]);
        s->st.sim_cpu_s += thread_cpu() - c0;
        return;
    }
    size_t pos;
    uint32_t n;
    if (tcet_msg_read_count(p, len, &pos, &n)) tcet_die(__FILE__, __LINE__, "%s", tcet_error_message());
    batch *b = push_batch(s, w);
    b->kind = TCET_TAG_RESULT;
    double start = v->free_at > now ? v->free_at : now;
    if (s->st.tasks == 0) s->st.first_task = now;
    tcet_msg_begin(&b->result);
    for (uint32_t i = 0; i < n; i++) {
        tcet_msg_task task;
        if (tcet_msg_next_task(p, len, &pos, &task)) tcet_die(__FILE__, __LINE__, "%s", tcet_error_message());
        char str[TCET_MAX_STRUCT + 1];
        memcpy(str, task.structure, (size_t)task.len);
        str[task.len] = 0;
        tcet_cand_result r;
        memset(&r, 0, sizeof r);
        r.latency = INFINITY;
        tcet_arch a;
        tcet_counts c;
        if (tcet_arch_parse(str, &a, NULL) || tcet_count(&a, 0, s->classes, s->res, &c)) {
            r.score = r.raw = TCET_FAIL_SCORE;
            r.status = TCET_CAND_FAILED;
            snprintf(r.reason, sizeof r.reason, "simulated worker: structure does not parse");
        } else {
            r.score = r.raw = c.params;
        }
        double d = s->delay * factor(s, task.id);
        r.seconds = d;
        start += d;
        s->st.busy_s += d;
        tcet_msg_add_result(&b->result, task.id, &r);
    }
    b->due = start;
    v->free_at = start;
    s->st.tasks += n;
    s->st.messages++;
    if (v->n == 1) heap_up(s, s->pos[w]);
    s->st.sim_cpu_s += thread_cpu() - c0;
}

static int sim_poll(tcet_transport *t, unsigned char **buf, size_t *cap, size_t *len, int *tag, int *from)
{
    tcet_sim *s = t->ctx;
    double c0 = thread_cpu();
    if (s->nheap == 0 || head_due(s, s->heap[0]) > vnow(s)) {
        s->st.sim_cpu_s += thread_cpu() - c0;
        return 0;
    }
    int w = s->heap[0];
    vworker *v = &s->w[w];
    batch *b = &v->q[v->head];
    size_t n = b->kind == TCET_TAG_RESULT ? b->result.len : 0;
    if (n > *cap || !*buf) {
        *cap = n + 4096;
        *buf = xrealloc(*buf, *cap);
    }
    if (n) memcpy(*buf, b->result.p, n);
    *len = n;
    *tag = b->kind;
    *from = w;
    if (b->kind == TCET_TAG_RESULT) s->st.last_result = vnow(s);
    tcet_buf_free(&b->result);
    v->head = (v->head + 1) % v->cap;
    v->n--;
    if (v->n > 0) {
        heap_down(s, 0);
    } else {
        heap_swap(s, 0, --s->nheap);
        s->pos[w] = -1;
        if (s->nheap > 0) heap_down(s, 0);
    }
    s->st.sim_cpu_s += thread_cpu() - c0;
    return 1;
}

static void sim_idle(tcet_transport *t, tcet_idle *w)
{
    tcet_sim *s = t->ctx;
    long us = tcet_idle_next_us(w);
    s->waited += us > 0 ? 1e-6 * (double)us : 1e-6; /* a yield: about a microsecond */
}

static void sim_abort(tcet_transport *t, int code)
{
    (void)t;
    tcet_die(__FILE__, __LINE__, "simulated run aborted with code %d", code);
}

tcet_sim *tcet_sim_create(int nworkers, double delay_s, double jitter, int classes, int res, tcet_transport *t)
{
    tcet_sim *s = xcalloc(1, sizeof *s);
    s->nworkers = nworkers;
    s->delay = delay_s;
    s->jitter = jitter;
    s->classes = classes;
    s->res = res;
    s->w = xcalloc((size_t)nworkers, sizeof *s->w);
    s->heap = xcalloc((size_t)nworkers, sizeof *s->heap);
    s->pos = xcalloc((size_t)nworkers, sizeof *s->pos);
    for (int i = 0; i < nworkers; i++) s->pos[i] = -1;
    s->cpu0 = thread_cpu();
    t->nworkers = nworkers;
    t->send = sim_send;
    t->poll = sim_poll;
    t->idle = sim_idle;
    t->abort = sim_abort;
    t->ctx = s;
    return s;
}

void tcet_sim_destroy(tcet_sim *s)
{
    if (!s) return;
    for (int i = 0; i < s->nworkers; i++) {
        vworker *v = &s->w[i];
        for (int k = 0; k < v->n; k++) tcet_buf_free(&v->q[(v->head + k) % v->cap].result);
        free(v->q);
    }
    free(s->w);
    free(s->heap);
    free(s->pos);
    free(s);
}

void tcet_sim_stats_get(const tcet_sim *s, tcet_sim_stats *out) { *out = s->st; }
