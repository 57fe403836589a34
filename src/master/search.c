/* The master loop (see search.h; docs/search.md). */
#include "master/search.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/check.h"
#include "common/checkpoint.h"
#include "common/counters.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/json.h"
#include "common/mpi_util.h"
#include "common/msg.h"
#include "common/mutate.h"
#include "master/population.h"
#include "master/signals.h"
#include "master/transport.h"
#include "tcet_version.h"
#include "worker/task.h"

enum { SLOT_QUEUED = 1, SLOT_INFLIGHT = 2, SLOT_DONE = 3 };
enum { MAX_BATCH = 512 };           /* tasks per message */
#define BATCH_WORK_S 0.01           /* work per task message when candidates are cheap */
#define STOP_GRACE_S 20.0           /* how long a stop waits for busy workers */

typedef struct {
    tcet_cand c;
    tcet_arch a;
    int state;
} slot;

typedef struct {
    const tcet_search_config *cfg;
    const char *backend;
    char dir[TCET_PATH_MAX], ckpt[TCET_PATH_MAX + 32];
    tcet_arch init;
    tcet_population pop;
    tcet_cand *hist;
    size_t nhist, hcap;
    slot *slots;
    uint64_t W;
    uint64_t next_iter, committed, next_dispatch;
    tcet_rng rng;
    uint64_t counts[TCET_CAND_NSTATUS];
    double elapsed0, t_start, last_ckpt, last_progress;
    uint64_t committed0, dispatched;
    FILE *log, *events;
    int tty;
    int nworkers;
    tcet_transport tr;      /* to the workers (MPI unless the caller gave another) */
    int *wbusy;             /* task messages outstanding per worker (<= TCET_TASK_DEPTH) */
    double cand_s;          /* running mean of a candidate's scoring time (0: none seen yet) */
    tcet_worker *local;
    tcet_buf sbuf;
    unsigned char *rbuf;
    size_t rcap;
    char outcome[512];      /* why the run cannot finish (checkpoint attribute "outcome") */
} master;

/* ---- logging ------------------------------------------------------------- */
static void logline(master *m, int to_stdout, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logline(master *m, int to_stdout, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (m->log) {
        va_list aq;
        va_copy(aq, ap);
        vfprintf(m->log, fmt, aq);
        fputc('\n', m->log);
        fflush(m->log);
        va_end(aq);
    }
    if (to_stdout) {
        if (m->tty) fputs("\r\033[K", stderr);
        vprintf(fmt, ap);
        putchar('\n');
        fflush(stdout);
    }
    va_end(ap);
}

static void event_candidate(master *m, const tcet_cand *c)
{
    FILE *f = m->events;
    fprintf(f, "{\"event\":\"candidate\",\"id\":%lld,\"parent\":%lld,\"status\":\"%s\"", (long long)c->id,
            (long long)c->parent, tcet_cand_status_name(c->status));
    if (isfinite(c->score)) fprintf(f, ",\"score\":%.17g", c->score);
    else fputs(",\"score\":null", f);
    if (isfinite(c->raw_score)) fprintf(f, ",\"raw\":%.17g", c->raw_score);
    else if (isnan(c->raw_score)) fputs(",\"raw\":null", f);
    else fprintf(f, ",\"raw\":\"%s\"", c->raw_score > 0 ? "inf" : "-inf");
    fprintf(f, ",\"params\":%.17g,\"flops\":%.17g,\"layers\":%d,\"seconds\":%.6g,\"structure\":", c->params,
            c->flops, c->layers, c->seconds);
    json_write_string(f, c->structure);
    if (isfinite(c->latency)) fprintf(f, ",\"latency\":%.6g", c->latency);
    if (c->reason && c->reason[0]) {
        fputs(",\"reason\":", f);
        json_write_string(f, c->reason);
    }
    fputs("}\n", f);
}

/* ---- generation ---------------------------------------------------------- */
static void generate(master *m)
{
    const tcet_search_config *cfg = m->cfg;
    uint64_t t = m->next_iter++;
    slot *s = &m->slots[t % m->W];
    memset(s, 0, sizeof *s);
    tcet_pop_trim(&m->pop, (size_t)cfg->population_size);
    const tcet_arch *parent = &m->init;
    int64_t pid = -1;
    int nrep = 1;
    if (m->pop.n > 10) {
        size_t k = (size_t)tcet_rng_below(&m->rng, m->pop.n);
        parent = &m->pop.a[k];
        pid = m->pop.c[k].id;
        nrep = 2;
    }
    tcet_mutate(parent, nrep, cfg->space, cfg->weights, &m->rng, &s->a);
    tcet_split(&s->a, 6);
    char buf[TCET_MAX_STRUCT];
    tcet_arch_print(&s->a, buf, sizeof buf);
    tcet_cand *c = &s->c;
    c->id = (int64_t)t;
    c->parent = pid;
    c->birth = (int64_t)m->committed;
    c->structure = xstrdup(buf);
    c->reason = xstrdup("");
    c->score = c->raw_score = NAN;
    c->latency = INFINITY;
    c->layers = tcet_arch_num_layers(&s->a);
    c->status = TCET_CAND_PENDING;
    tcet_counts cnt;
    if (tcet_count(&s->a, 1, cfg->num_classes, cfg->resolution, &cnt) == 0) {
        c->params = cnt.params;
        c->flops = cnt.flops;
    } else {
        c->params = c->flops = NAN;
    }
    /* Budget filters on the budget (reslink) network; equality passes. */
    if (cfg->max_layers > 0 && cfg->max_layers < c->layers) c->status = TCET_CAND_REJ_LAYERS;
    else if (cfg->budget_params > 0 && !(cfg->budget_params >= c->params)) c->status = TCET_CAND_REJ_PARAMS;
    else if (cfg->budget_flops > 0 && !(cfg->budget_flops >= c->flops)) c->status = TCET_CAND_REJ_FLOPS;
    s->state = tcet_cand_is_rejected(c->status) ? SLOT_DONE : SLOT_QUEUED;
}

static void refill(master *m)
{
    while (m->next_iter < (uint64_t)m->cfg->max_iter && m->next_iter < m->committed + m->W) generate(m);
}

static void hist_push(master *m, tcet_cand *c)
{
    if (m->nhist == m->hcap) {
        m->hcap = m->hcap ? 2 * m->hcap : 4096;
        m->hist = xrealloc(m->hist, m->hcap * sizeof *m->hist);
    }
    m->hist[m->nhist++] = *c; /* takes the strings */
    memset(c, 0, sizeof *c);
}

static int commit_one(master *m)
{
    slot *s = &m->slots[m->committed % m->W];
    tcet_cand *c = &s->c;
    if (!tcet_cand_is_rejected(c->status)) {
        TCET_TRY(tcet_pop_add(&m->pop, c, &s->a));
        if (c->status != TCET_CAND_OK)
            logline(m, 0, "candidate %lld: %s\n--- Failed structure: %s", (long long)c->id, c->reason, c->structure);
    }
    if (c->status >= 0 && c->status < TCET_CAND_NSTATUS) m->counts[c->status]++;
    event_candidate(m, c);
    hist_push(m, c);
    s->state = 0;
    m->committed++;
    if (m->committed % 1000 == 0 && m->pop.n > 0) {
        double now = tcet_now();
        logline(m, 0, "loop_count=%llu/%ld, max_score=%4g, min_score=%4g, time=%4gh",
                (unsigned long long)m->committed, m->cfg->max_iter, m->pop.c[tcet_pop_best(&m->pop)].score,
                m->pop.c[tcet_pop_worst(&m->pop)].score, (m->elapsed0 + now - m->t_start) / 3600.0);
    }
    return 0;
}

/* ---- checkpoint ---------------------------------------------------------- */
static int checkpoint(master *m, int finished)
{
    tcet_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.format_version = TCET_CKPT_FORMAT;
    snprintf(ck.tcet_version, sizeof ck.tcet_version, "%s", TCET_VERSION);
    ck.config_text = tcet_config_to_text(m->cfg, 0);
    ck.next_iter = m->next_iter;
    ck.committed = m->committed;
    ck.rng = m->rng;
    ck.naswot_seed = m->cfg->seed;
    memcpy(ck.counts, m->counts, sizeof ck.counts);
    ck.finished = finished;
    snprintf(ck.backend, sizeof ck.backend, "%s", m->backend);
    ck.threads = m->cfg->threads;
    snprintf(ck.outcome, sizeof ck.outcome, "%s", m->outcome);
    ck.elapsed = m->elapsed0 + tcet_now() - m->t_start;
    ck.population = m->pop.c;
    ck.npop = m->pop.n;
    ck.history = m->hist;
    ck.nhist = m->nhist;
    /* Candidates generated but not committed: kept so that a resume
     * re-dispatches exactly them (their scores depend only on (seed, id)). */
    ck.npending = (size_t)(m->next_iter - m->committed);
    ck.pending = xcalloc(ck.npending + 1, sizeof *ck.pending);
    for (size_t i = 0; i < ck.npending; i++) {
        const slot *s = &m->slots[(m->committed + i) % m->W];
        ck.pending[i] = s->c; /* shallow: strings stay owned by the slot */
        if (!tcet_cand_is_rejected(s->c.status)) {
            ck.pending[i].status = TCET_CAND_PENDING;
            ck.pending[i].score = ck.pending[i].raw_score = NAN;
            ck.pending[i].seconds = 0;
            ck.pending[i].reason = (char *)"";
        }
    }
    fprintf(m->events, "{\"event\":\"checkpoint\",\"committed\":%llu,\"next_iter\":%llu,\"finished\":%d,\"elapsed\":%.3f}\n",
            (unsigned long long)m->committed, (unsigned long long)m->next_iter, finished, ck.elapsed);
    /* The checkpoint records how far events.jsonl goes: those bytes must be
     * on disk before the checkpoint that points past them. */
    if (fflush(m->events) || fsync(fileno(m->events))) {
        free(ck.pending);
        free(ck.config_text);
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot write %s/events.jsonl: %s", m->dir, strerror(errno));
    }
    long off = ftell(m->events);
    ck.events_offset = off > 0 ? (uint64_t)off : 0;
    double t0 = tcet_now();
    int rc = tcet_checkpoint_write(m->ckpt, &ck);
    free(ck.pending);
    free(ck.config_text);
    m->last_ckpt = tcet_now();
    if (rc) return rc;
    logline(m, 0, "checkpoint: %llu iterations committed, %zu in the population (written in %.2f s)",
            (unsigned long long)m->committed, m->pop.n, m->last_ckpt - t0);
    return 0;
}

/* ---- progress ------------------------------------------------------------ */
static void progress(master *m, int force)
{
    double now = tcet_now();
    double period = m->tty ? 0.5 : 10.0;
    if (!force && now - m->last_progress < period) return;
    m->last_progress = now;
    double dt = now - m->t_start;
    double rate = dt > 0 ? (double)(m->committed - m->committed0) / dt : 0;
    uint64_t rej = 0;
    for (int i = TCET_CAND_REJ_LAYERS; i <= TCET_CAND_REJ_LATENCY; i++) rej += m->counts[i];
    double eta = rate > 0 ? (double)((uint64_t)m->cfg->max_iter - m->committed) / rate : 0;
    long b = tcet_pop_best(&m->pop);
    char line[256];
    snprintf(line, sizeof line, "it %llu/%ld  scored %llu  rejected %llu  %.1f cand/s  best %.6g  ETA %dh%02dm%02ds",
             (unsigned long long)m->committed, m->cfg->max_iter, (unsigned long long)(m->committed - rej),
             (unsigned long long)rej, rate, b >= 0 ? m->pop.c[b].score : NAN, (int)(eta / 3600),
             (int)fmod(eta / 60, 60), (int)fmod(eta, 60));
    if (m->tty) {
        fprintf(stderr, "\r\033[K%s", line);
        fflush(stderr);
    } else {
        printf("%s\n", line);
        fflush(stdout);
    }
}

/* ---- workers ------------------------------------------------------------- */
/* Tasks per message.  Cheap candidates (Params, FLOPs: microseconds) travel
 * in batches of about BATCH_WORK_S of work, so the message rate does not
 * limit them; expensive ones one per message, so that a worker never holds
 * more than TCET_TASK_DEPTH of them: a candidate queued behind several others
 * would hold up the in-order commit, and with it the generation of new
 * candidates, while other workers run dry.  Until a first result tells the
 * cost, one per message. */
static uint64_t batch_cap(const master *m)
{
    if (!(m->cand_s > 0)) return 1;
    double k = BATCH_WORK_S / m->cand_s;
    return k < 1 ? 1 : k > MAX_BATCH ? MAX_BATCH : (uint64_t)k;
}

static void dispatch(master *m)
{
    /* Up to TCET_TASK_DEPTH messages per worker: idle workers first, then a
     * second batch for the busy ones; the available tasks are split evenly
     * over the free places. */
    int places = 0;
    for (int w = 0; w < m->nworkers; w++) places += TCET_TASK_DEPTH - m->wbusy[w];
    for (int level = 0; level < TCET_TASK_DEPTH && places > 0; level++)
        for (int w = 0; w < m->nworkers && places > 0; w++) {
            if (m->wbusy[w] != level) continue;
            while (m->next_dispatch < m->next_iter && m->slots[m->next_dispatch % m->W].state != SLOT_QUEUED)
                m->next_dispatch++;
            uint64_t avail = m->next_iter - m->next_dispatch;
            if (!avail) return;
            uint64_t batch = (avail + (uint64_t)places - 1) / (uint64_t)places;
            if (batch > batch_cap(m)) batch = batch_cap(m);
            tcet_msg_begin(&m->sbuf);
            while (m->next_dispatch < m->next_iter && tcet_msg_count(&m->sbuf) < batch) {
                slot *s = &m->slots[m->next_dispatch % m->W];
                if (s->state == SLOT_QUEUED) {
                    tcet_msg_add_task(&m->sbuf, (uint64_t)s->c.id, m->cfg->seed, s->c.structure);
                    s->state = SLOT_INFLIGHT;
                }
                m->next_dispatch++;
            }
            if (!tcet_msg_count(&m->sbuf)) return;
            m->dispatched += tcet_msg_count(&m->sbuf);
            m->tr.send(&m->tr, w, TCET_TAG_TASK, m->sbuf.p, m->sbuf.len);
            m->wbusy[w]++;
            places--;
        }
}

/* A candidate's result arrived (from a worker or scored in-process). */
static void slot_done(slot *s, const tcet_cand_result *r)
{
    s->c.score = r->score;
    s->c.raw_score = r->raw;
    s->c.status = r->status;
    s->c.seconds = r->seconds;
    s->c.latency = r->latency;
    free(s->c.reason);
    s->c.reason = xstrdup(r->reason);
    s->state = SLOT_DONE;
}

/* Receive one pending message if any; returns 1 if one was handled. */
static int receive(master *m, int *tag_out)
{
    size_t count = 0;
    int tag = -1, from = -1;
    if (!m->tr.poll(&m->tr, &m->rbuf, &m->rcap, &count, &tag, &from)) return 0;
    if (tag_out) *tag_out = tag;
    if (tag != TCET_TAG_RESULT) return 1;
    if (from >= 0 && from < m->nworkers && m->wbusy[from] > 0) m->wbusy[from]--;
    size_t pos;
    uint32_t n;
    if (tcet_msg_read_count(m->rbuf, count, &pos, &n)) tcet_die(__FILE__, __LINE__, "%s", tcet_error_message());
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id;
        tcet_cand_result r;
        if (tcet_msg_next_result(m->rbuf, count, &pos, &id, &r))
            tcet_die(__FILE__, __LINE__, "%s", tcet_error_message());
        slot *s = &m->slots[id % m->W];
        if (s->state != SLOT_INFLIGHT || (uint64_t)s->c.id != id) continue; /* stale (after a stop) */
        slot_done(s, &r);
        if (r.seconds >= 0 && isfinite(r.seconds)) /* exponential mean over ~100 results */
            m->cand_s = m->cand_s > 0 ? 0.99 * m->cand_s + 0.01 * r.seconds : r.seconds;
    }
    return 1;
}

static int score_local(master *m)
{
    while (m->next_dispatch < m->next_iter && m->slots[m->next_dispatch % m->W].state != SLOT_QUEUED)
        m->next_dispatch++;
    if (m->next_dispatch >= m->next_iter) return 0;
    slot *s = &m->slots[m->next_dispatch++ % m->W];
    tcet_cand_result r;
    tcet_worker_score_one(m->local, (uint64_t)s->c.id, s->c.structure, (int)strlen(s->c.structure), &r);
    slot_done(s, &r);
    m->dispatched++;
    return 1;
}

/* Tell every worker to stop; wait for their BYE (discarding late results)
 * at most STOP_GRACE_S, then abort the ones still busy (the checkpoint is
 * already on disk). */
static void stop_workers(master *m, int exit_code)
{
    if (tcet_signals_launcher_gone()) {
        /* mpirun/srun died: the workers died with it (tcet_signals_follow_
         * launcher) and MPI can no longer end in order.  The checkpoint is on
         * disk; end here. */
        if (!tcet_signals_launcher_noted())
            logline(m, 1, "the launcher (mpirun or srun) is gone; the workers ended with it; exiting");
        else
            logline(m, 0, "exiting without the workers (they ended with the launcher)");
        if (m->events) fflush(m->events);
        fflush(NULL);
        _exit(exit_code);
    }
    for (int w = 0; w < m->nworkers; w++) m->tr.send(&m->tr, w, TCET_TAG_STOP, NULL, 0);
    int left = m->nworkers;
    double grace = STOP_GRACE_S;
    const char *g = getenv("TCET_STOP_GRACE_S"); /* test hook */
    if (g && atof(g) > 0) grace = atof(g);
    double deadline = tcet_now() + grace;
    while (left > 0 && tcet_now() < deadline) {
        int tag = -1;
        if (receive(m, &tag)) {
            if (tag == TCET_TAG_BYE) left--;
        } else {
            tcet_sleep_us(1000);
        }
    }
    if (left > 0) {
        logline(m, 1, "%d worker(s) still busy %.0f s after the stop request; aborting them (the checkpoint is safe)",
                left, grace);
        m->tr.abort(&m->tr, exit_code);
    }
}

/* ---- setup --------------------------------------------------------------- */
/* No candidate was scored successfully (all failed, non-finite or rejected):
 * there is no best structure.  Says why in m->outcome: the counts and the
 * most frequent failure reason. */
static int no_success(master *m)
{
    enum { NR = 16 }; /* distinct reasons counted (the rest are rare enough) */
    const char *rs[NR];
    uint64_t rn[NR], best_n = 0;
    int nr = 0;
    const char *reason = "";
    for (size_t i = 0; i < m->nhist; i++) {
        const tcet_cand *c = &m->hist[i];
        if (c->status != TCET_CAND_FAILED && c->status != TCET_CAND_NONFINITE) continue;
        const char *r = c->reason ? c->reason : "";
        int k = 0;
        while (k < nr && strcmp(rs[k], r)) k++;
        if (k == nr) {
            if (nr == NR) continue;
            rs[nr] = r;
            rn[nr++] = 0;
        }
        if (++rn[k] > best_n) {
            best_n = rn[k];
            reason = r;
        }
    }
    uint64_t rej = 0;
    for (int i = TCET_CAND_REJ_LAYERS; i <= TCET_CAND_REJ_LATENCY; i++) rej += m->counts[i];
    snprintf(m->outcome, sizeof m->outcome,
             "%sno candidate was scored successfully in %llu iterations (%llu failed, %llu non-finite, %llu rejected "
             "by the budgets)%s%.300s%s",
             m->pop.n == 0 ? "the population is empty: " : "", (unsigned long long)m->committed, (unsigned long long)m->counts[TCET_CAND_FAILED],
             (unsigned long long)m->counts[TCET_CAND_NONFINITE], (unsigned long long)rej,
             best_n ? "; most frequent reason: \"" : "", best_n ? reason : "", best_n ? "\"" : "");
    return TCET_FAIL(TCET_ERR_RUNTIME, "%s; there is no best structure, so none was written (hint: see the "
                     "failures in %s/search.log or with tcet inspect; loosen the budgets, lower --batch-size or "
                     "change --init-structure)", m->outcome, m->dir);
}

static int write_best(master *m)
{
    long b = tcet_pop_best(&m->pop);
    if (b < 0 || m->counts[TCET_CAND_OK] == 0) return no_success(m);
    char path[TCET_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/best_structure.txt", m->dir);
    /* Atomic and durable: the finished checkpoint, written after this,
     * promises the file exists.  No newline, as the reference. */
    const char *st = m->pop.c[b].structure;
    TCET_TRY(tcet_write_file_atomic(path, st, strlen(st)));
    logline(m, 1, "best (id %lld, score %.17g): %s", (long long)m->pop.c[b].id, m->pop.c[b].score, m->pop.c[b].structure);
    return 0;
}

static int open_outputs(master *m, const tcet_checkpoint *ck)
{
    char path[TCET_PATH_MAX + 64];
    TCET_TRY(tcet_mkdir_run_dir(m->dir));
    /* Both files are opened without following links (fsutil.h). */
    int fd = -1;
    snprintf(path, sizeof path, "%s/search.log", m->dir);
    TCET_TRY(tcet_open_own(path, O_WRONLY | O_CREAT | O_APPEND, 0666, &fd));
    if (!(m->log = fdopen(fd, "a"))) {
        close(fd);
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot open %s: %s", path, strerror(errno));
    }
    tcet_signals_log_fd(fd);
    snprintf(path, sizeof path, "%s/events.jsonl", m->dir);
    TCET_TRY(tcet_open_own(path, ck ? O_RDWR | O_CREAT : O_WRONLY | O_CREAT | O_TRUNC, 0666, &fd));
    if (ck) {
        /* Drop events written after the checkpoint we resume from: they are
         * regenerated identically. */
        struct stat sb;
        if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size > ck->events_offset &&
            ftruncate(fd, (off_t)ck->events_offset)) {
            int err = errno;
            close(fd);
            return TCET_FAIL(TCET_ERR_RUNTIME, "cannot truncate %s: %s", path, strerror(err));
        }
        /* Shorter than the checkpoint says: events were lost (a crash before
         * tcet fsynced them, or the file was edited).  The search itself is
         * intact; only the log of past candidates has a hole. */
        uint64_t have = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
        if (have < ck->events_offset) {
            /* Cut inside a line: drop the partial line, or the next event
             * would be glued to it. */
            uint64_t keep = have;
            char c = '\n';
            while (keep > 0 && pread(fd, &c, 1, (off_t)keep - 1) == 1 && c != '\n') keep--;
            if (keep < have && ftruncate(fd, (off_t)keep)) {
                int err = errno;
                close(fd);
                return TCET_FAIL(TCET_ERR_RUNTIME, "cannot truncate %s: %s", path, strerror(err));
            }
            fprintf(stderr, "tcet: WARNING: %s has %llu bytes but the checkpoint recorded %llu: events were lost; "
                            "the search continues, but events.jsonl is incomplete (search.log and the checkpoint's "
                            "history are not)%s\n",
                    path, (unsigned long long)have, (unsigned long long)ck->events_offset,
                    keep < have ? "; its last, cut line was removed" : "");
        }
        if (lseek(fd, 0, SEEK_END) < 0) {
            int err = errno;
            close(fd);
            return TCET_FAIL(TCET_ERR_RUNTIME, "cannot seek %s: %s", path, strerror(err));
        }
    }
    if (!(m->events = fdopen(fd, ck ? "a" : "w"))) {
        close(fd);
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot open %s: %s", path, strerror(errno));
    }
    setvbuf(m->events, NULL, _IOFBF, 1 << 20);
    return 0;
}

static int restore(master *m, tcet_checkpoint *ck)
{
    for (size_t i = 0; i < ck->npop; i++) TCET_TRY(tcet_pop_add(&m->pop, &ck->population[i], NULL));
    m->hist = ck->history; /* take over */
    m->nhist = m->hcap = ck->nhist;
    ck->history = NULL;
    ck->nhist = 0;
    m->rng = ck->rng;
    memcpy(m->counts, ck->counts, sizeof m->counts);
    m->next_iter = ck->next_iter;
    m->committed = m->next_dispatch = ck->committed;
    m->elapsed0 = ck->elapsed;
    if (m->next_iter - m->committed != ck->npending || ck->npending > m->W)
        return TCET_FAIL(TCET_ERR_CHECKPOINT, "checkpoint: %zu pending candidates for window %llu", ck->npending,
                         (unsigned long long)m->W);
    for (size_t i = 0; i < ck->npending; i++) {
        const tcet_cand *p = &ck->pending[i];
        if ((uint64_t)p->id != m->committed + i) return TCET_FAIL(TCET_ERR_CHECKPOINT, "checkpoint: pending ids out of order");
        slot *s = &m->slots[(uint64_t)p->id % m->W];
        tcet_parse_error err;
        if (tcet_arch_parse(p->structure, &s->a, &err))
            return TCET_FAIL(TCET_ERR_CHECKPOINT, "checkpoint: pending structure does not parse: %s", err.msg);
        tcet_cand_copy(&s->c, p);
        s->state = tcet_cand_is_rejected(p->status) ? SLOT_DONE : SLOT_QUEUED;
    }
    return 0;
}

static void master_free(master *m)
{
    if (m->slots)
        for (uint64_t i = 0; i < m->W; i++) tcet_cand_free(&m->slots[i].c);
    free(m->slots);
    for (size_t i = 0; i < m->nhist; i++) tcet_cand_free(&m->hist[i]);
    free(m->hist);
    tcet_pop_free(&m->pop);
    free(m->wbusy);
    free(m->rbuf);
    tcet_buf_free(&m->sbuf);
    if (m->log) {
        tcet_signals_log_fd(-1);
        fclose(m->log);
    }
    if (m->events) fclose(m->events);
}

int tcet_master_run(const tcet_master_args *args)
{
    master m;
    memset(&m, 0, sizeof m);
    m.cfg = args->cfg;
    m.backend = args->backend ? args->backend : "";
    const tcet_search_config *cfg = args->cfg;
    snprintf(m.dir, sizeof m.dir, "%s", cfg->save_dir);
    snprintf(m.ckpt, sizeof m.ckpt, "%s/%s", m.dir, TCET_CKPT_NAME);
    m.W = (uint64_t)cfg->window;
    m.nworkers = args->nworkers;
    if (args->transport) m.tr = *args->transport;
    else tcet_transport_mpi(&m.tr, m.nworkers);
    m.local = args->local;
    m.wbusy = xcalloc((size_t)m.nworkers + 1, sizeof *m.wbusy);
    m.slots = xcalloc((size_t)m.W, sizeof *m.slots);
    m.tty = isatty(STDERR_FILENO);
    tcet_pop_init(&m.pop);
    int rc = 0;
    if (tcet_arch_parse(cfg->init_structure, &m.init, NULL)) {
        rc = TCET_FAIL(TCET_ERR_USAGE, "--init-structure does not parse");
        goto out;
    }
    tcet_rng_seed(&m.rng, cfg->seed, TCET_STREAM_MUTATION, 0);
    if ((rc = open_outputs(&m, args->resume))) goto out;
    tcet_checkpoint_remove_stale(m.ckpt);
    {   /* and those of best_structure.txt (same naming: NAME.tmp.<pid>) */
        char best[TCET_PATH_MAX + 64];
        snprintf(best, sizeof best, "%s/best_structure.txt", m.dir);
        tcet_checkpoint_remove_stale(best);
    }
    if (args->resume && (rc = restore(&m, args->resume))) goto out;
    m.t_start = m.last_ckpt = tcet_now();
    m.committed0 = m.committed;
    /* Before the start line: once search.log names our pid, a SIGTERM is a
     * clean stop (scripts and tests signal the pid they read there). */
    tcet_signals_master();
    {
        char *text = tcet_config_to_text(cfg, 0);
        logline(&m, 0, "tcet %s search %s in %s: %d worker rank(s)%s, window %llu, pid %d\n%s", TCET_VERSION,
                args->resume ? "resumed" : "started", m.dir, m.nworkers, m.nworkers ? "" : " (scoring in-process)",
                (unsigned long long)m.W, (int)getpid(), text);
        free(text);
        /* A run on noise must be recognisable as such in its log (and on stdout). */
        if (!strcmp(cfg->dataset, "synthetic") && tcet_config_proxy_reads_images(cfg->proxy))
            logline(&m, 1, "data: SYNTHETIC (N(0,1) images, uniform random labels), as asked: scores are not "
                           "comparable with published ones");
        else if (strcmp(cfg->dataset, "synthetic"))
            logline(&m, 0, "data: %s from %s", cfg->dataset, cfg->data);
        if (args->resume)
            logline(&m, 1, "resuming at iteration %llu/%ld (%zu in the population)",
                    (unsigned long long)m.committed, cfg->max_iter, m.pop.n);
    }
    refill(&m);
    tcet_idle idle = {0};
    int sig = 0;
    while (m.committed < (uint64_t)cfg->max_iter) {
        if ((sig = tcet_stop_signal())) break;
        int busy = 0;
        while (m.committed < m.next_iter && m.slots[m.committed % m.W].state == SLOT_DONE) {
            if ((rc = commit_one(&m))) goto out;
            refill(&m); /* exactly one generation per commit: the window rule */
            busy = 1;
        }
        if (m.committed >= (uint64_t)cfg->max_iter) break;
        if (m.nworkers) {
            dispatch(&m);
            while (receive(&m, NULL)) busy = 1;
        } else {
            busy |= score_local(&m);
        }
        if (cfg->checkpoint_every > 0 && tcet_now() - m.last_ckpt >= cfg->checkpoint_every &&
            (rc = checkpoint(&m, 0)))
            goto out;
        progress(&m, 0);
        if (busy) {
            tcet_idle_reset(&idle);
        } else { /* nothing to do: wait without spinning (toolchain notes §1) */
            if (m.nworkers) m.tr.idle(&m.tr, &idle);
            else tcet_idle_wait(&idle);
        }
    }
    double dt = tcet_now() - m.t_start;
    if (m.tty) fputs("\r\033[K", stderr);
    logline(&m, 1, "%llu candidates committed in %.2f s (%.0f/s), %llu scored by %s (%.0f/s)",
            (unsigned long long)(m.committed - m.committed0), dt, dt > 0 ? (double)(m.committed - m.committed0) / dt : 0,
            (unsigned long long)m.dispatched, m.nworkers ? "workers" : "rank 0",
            dt > 0 ? (double)m.dispatched / dt : 0);
    if (sig) {
        if ((rc = checkpoint(&m, 0))) goto out;
        tcet_signals_sealed(TCET_EXIT_INTERRUPTED);
        logline(&m, 1, "stopped by signal %d at iteration %llu; checkpoint written; continue with: tcet search --resume %s",
                sig, (unsigned long long)m.committed, m.dir);
        if (tcet_signals_further())
            logline(&m, 1, "%d further signal(s) arrived while stopping: noted, not acted on until the checkpoint "
                           "was complete", tcet_signals_further());
        fflush(m.events);
        stop_workers(&m, TCET_EXIT_INTERRUPTED);
        rc = TCET_EXIT_INTERRUPTED;
        goto out;
    }
    {
        uint64_t rej = 0;
        for (int i = TCET_CAND_REJ_LAYERS; i <= TCET_CAND_REJ_LATENCY; i++) rej += m.counts[i];
        logline(&m, 1, "done: %llu iterations: %llu ok, %llu non-finite, %llu failed, rejected %llu (layers %llu, "
                       "params %llu, flops %llu, latency %llu)",
                (unsigned long long)m.committed, (unsigned long long)m.counts[0], (unsigned long long)m.counts[1],
                (unsigned long long)m.counts[2], (unsigned long long)rej, (unsigned long long)m.counts[3],
                (unsigned long long)m.counts[4], (unsigned long long)m.counts[5], (unsigned long long)m.counts[6]);
    }
    /* best_structure.txt first: a finished checkpoint promises it exists.
     * An empty population is a failure; keep the work in an unfinished
     * checkpoint so a rerun reports the same instead of redoing it. */
    if ((rc = write_best(&m))) {
        checkpoint(&m, 0);
        goto out;
    }
    if ((rc = checkpoint(&m, 1))) goto out;
    tcet_signals_sealed(0);
    stop_workers(&m, TCET_ERR_RUNTIME);
out:
    if (rc && rc != TCET_EXIT_INTERRUPTED && m.nworkers) {
        /* An error on the master: the workers cannot finish the run alone.
         * Stop them in order (the caller prints the one-line message), so
         * that the job ends with tcet's exit code and without Open MPI's abort
         * report; stop_workers still aborts workers that do not answer. */
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", tcet_error_message());
        stop_workers(&m, rc);
        tcet_fail(rc, __FILE__, __LINE__, "%s", msg);
    }
    master_free(&m);
    return rc;
}
