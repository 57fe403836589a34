/* Batch scoring: structure lists, the result file with resume, and the
 * in-process / MPI master-worker execution (see batch.h). */
#include "master/batch.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check.h"
#include "common/data.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/msg.h"
#include "kernels/backend.h"
#include "worker/selfcheck.h"

/* ---- structure lists ---------------------------------------------------- */

static int add_line(char *line, const char *src, long lineno, tcet_arch **archs, char ***names, int *n, int *cap)
{
    line[strcspn(line, "\r\n")] = 0;
    char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p || *p == '#') return 0;
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *archs = xrealloc(*archs, (size_t)*cap * sizeof **archs);
        *names = xrealloc(*names, (size_t)*cap * sizeof **names);
    }
    tcet_parse_error e;
    if (tcet_arch_parse(p, &(*archs)[*n], &e))
        return TCET_FAIL(TCET_ERR_USAGE, "%s line %ld: %s at column %d", src, lineno, e.msg, e.column);
    char buf[TCET_MAX_STRUCT + 1];
    tcet_arch_print(&(*archs)[*n], buf, sizeof buf);
    (*names)[(*n)++] = xstrdup(buf);
    return 0;
}

int tcet_batch_load_structures(const char *arg, tcet_arch **archs, char ***names, int *n)
{
    *archs = NULL;
    *names = NULL;
    *n = 0;
    int cap = 0, rc = 0;
    if (!arg) return TCET_FAIL(TCET_ERR_USAGE, "missing structure");
    if (arg[0] != '@' && strcmp(arg, "-") != 0) {
        char *tmp = xstrdup(arg);
        rc = add_line(tmp, "structure", 1, archs, names, n, &cap);
        free(tmp);
        if (rc == 0 && *n == 0) rc = TCET_FAIL(TCET_ERR_USAGE, "empty structure string");
        if (rc) tcet_batch_free_structures(*archs, *names, *n);
        return rc;
    }
    const char *path = arg[0] == '@' ? arg + 1 : NULL;
    FILE *f = path ? fopen(path, "r") : stdin;
    if (!f)
        return TCET_FAIL(TCET_ERR_USAGE, "cannot open structure file '%s': fopen: %s (hint: @FILE lists one "
                         "structure per line)", path, strerror(errno));
    char *line = NULL;
    size_t lcap = 0;
    long lineno = 0;
    const char *src = path ? path : "stdin";
    while (rc == 0 && getline(&line, &lcap, f) >= 0) rc = add_line(line, src, ++lineno, archs, names, n, &cap);
    int rerr = ferror(f);
    free(line);
    if (path) fclose(f);
    if (rc == 0 && rerr) rc = TCET_FAIL(TCET_ERR_USAGE, "cannot read %s: read error", src);
    if (rc == 0 && *n == 0) rc = TCET_FAIL(TCET_ERR_USAGE, "%s lists no structure", src);
    if (rc) {
        tcet_batch_free_structures(*archs, *names, *n);
        *archs = NULL;
        *names = NULL;
        *n = 0;
    }
    return rc;
}

void tcet_batch_free_structures(tcet_arch *archs, char **names, int n)
{
    for (int i = 0; i < n && names; i++) free(names[i]);
    free(names);
    free(archs);
}

/* ---- result file --------------------------------------------------------- */

static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
    fputc('"', f);
}

/* Split one CSV line (quoted fields, "" inside quotes) in place. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            char *w = ++p;
            fields[n++] = w;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            *w = 0;
        } else {
            fields[n++] = p;
            while (*p && *p != ',') p++;
        }
        if (*p == ',') {
            *p++ = 0;
            continue;
        }
        if (*p) return -1;
        break;
    }
    return n;
}

#define CSV_HEADER "index,structure,proxy,score,raw_score,status,seconds,reason\n"

/* Read what an earlier run wrote; cut a torn last line; mark the rows found. */
static int resume_read(const tcet_batch *b, tcet_batch_row *rows, int *kept)
{
    *kept = 0;
    int fd = open(b->out_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: open: %s (hint: the result file must be a regular file you "
                         "can write)", b->out_path, strerror(errno));
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: fdopen: %s", b->out_path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    off_t good = 0;
    long lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len == 0 || line[len - 1] != '\n') break; /* torn: written when the run was killed */
        lineno++;
        line[len - 1] = 0;
        if (lineno == 1) {
            if (strncmp(line, "index,structure,proxy,", 22) != 0) {
                rc = TCET_FAIL(TCET_ERR_USAGE, "%s is not a tcet batch result file (no header); refusing to "
                               "append to it (hint: choose another --out)", b->out_path);
                break;
            }
            good += len;
            continue;
        }
        char *fl[8];
        if (csv_split(line, fl, 8) != 8) {
            rc = TCET_FAIL(TCET_ERR_USAGE, "%s line %ld: not 8 CSV fields (hint: the file was edited; remove "
                           "the line or choose another --out)", b->out_path, lineno);
            break;
        }
        good += len;
        int p = tcet_proxy_parse(fl[2]), pi = -1;
        for (int k = 0; k < b->nproxy; k++)
            if (b->proxy[k] == p) pi = k;
        if (pi < 0) continue;
        for (int s = 0; s < b->nstruct; s++) {
            if (strcmp(b->names[s], fl[1]) != 0) continue;
            tcet_batch_row *r = &rows[(size_t)s * (size_t)b->nproxy + (size_t)pi];
            if (r->done) continue;
            r->done = 2;
            r->r.score = strtod(fl[3], NULL);
            r->r.raw = strtod(fl[4], NULL);
            r->r.status = !strcmp(fl[5], "ok") ? TCET_CAND_OK : !strcmp(fl[5], "nonfinite") ? TCET_CAND_NONFINITE
                                                                                            : TCET_CAND_FAILED;
            r->r.seconds = strtod(fl[6], NULL);
            snprintf(r->r.reason, sizeof r->r.reason, "%s", fl[7]);
            (*kept)++;
        }
    }
    free(line);
    if (rc == 0 && ferror(f)) rc = TCET_FAIL(TCET_ERR_RUNTIME, "%s: read error", b->out_path);
    if (rc == 0 && ftruncate(fd, good) != 0)
        rc = TCET_FAIL(TCET_ERR_RUNTIME, "%s: ftruncate: %s", b->out_path, strerror(errno));
    fclose(f);
    return rc;
}

/* ---- the settings a result file was scored with --------------------------
 * All rows of one result file must come from the same scoring settings: a
 * rerun with another seed, batch, precision, ... would otherwise append rows
 * that cannot be compared with the ones it keeps.  The settings that change
 * a score are written beside the result file (FILE.settings, one line) when
 * it is created, and compared on every resume; --backend and --threads may
 * change, as on a search resume (docs/proxies.md#batch-scoring). */
static void settings_line(const tcet_batch *b, char *buf, size_t cap)
{
    const tcet_score_config *c = &b->cfg;
    snprintf(buf, cap,
             "tcet batch settings v1: dataset=%s seed=%llu batch_size=%d resolution=%d num_classes=%d mode=%s "
             "same_batch=%d reslink=%d precision=%s gamma=%.17g zico_batches=%d\n",
             tcet_data_kind_name(tcet_dataset_kind(c->data)), (unsigned long long)c->seed, c->batch_size, c->resolution,
             c->num_classes, tcet_mode_name(c->mode), c->same_batch, c->reslink,
             c->dtype == TCET_F64 ? "float64" : "float32", c->gamma, c->zico_batches);
}

/* the line without its "tcet batch settings v1: " prefix (when it has it) */
static const char *settings_body(const char *line)
{
    static const char prefix[] = "tcet batch settings v1: ";
    return strncmp(line, prefix, sizeof prefix - 1) ? line : line + sizeof prefix - 1;
}

static int settings_write(const char *path, const char *line)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd;
    TCET_TRY(tcet_open_own(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd));
    size_t len = strlen(line);
    int ok = write(fd, line, len) == (ssize_t)len && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0 && ok) ok = 0, err = errno;
    if (!ok || rename(tmp, path) != 0) {
        if (ok) err = errno;
        unlink(tmp);
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: write: %s (hint: disk full?)", path, strerror(err));
    }
    return 0;
}

/* had_rows: the result file already held rows scored by an earlier run */
static int settings_check(const tcet_batch *b, int had_rows)
{
    char path[4096], want[512], have[512] = "";
    if (snprintf(path, sizeof path, "%s.settings", b->out_path) >= (int)sizeof path)
        return TCET_FAIL(TCET_ERR_USAGE, "--out %s: path too long", b->out_path);
    settings_line(b, want, sizeof want);
    TCET_TRY(tcet_check_own(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno != ENOENT)
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: open: %s", path, strerror(errno));
    if (fd >= 0) {
        ssize_t n = read(fd, have, sizeof have - 1);
        close(fd);
        if (n < 0) return TCET_FAIL(TCET_ERR_RUNTIME, "%s: read: %s", path, strerror(errno));
        have[n] = 0;
        if (had_rows && strcmp(have, want) != 0) {
            have[strcspn(have, "\n")] = 0;
            want[strcspn(want, "\n")] = 0;
            return TCET_FAIL(TCET_ERR_USAGE, "%s holds rows scored with other settings than this run asks for; "
                             "refusing to mix them (hint: rerun with the same options, or choose another --out)\n"
                             "  file: %s\n  now:  %s", b->out_path, settings_body(have), settings_body(want));
        }
        if (had_rows) return 0;
    } else if (had_rows) {
        fprintf(stderr, "tcet: notice: %s has no %s (written by an older tcet): its rows are kept without "
                "checking the settings they were scored with\n", b->out_path, path);
    }
    return settings_write(path, want);
}

static int out_open(const tcet_batch *b, FILE **out)
{
    *out = NULL;
    int fd = open(b->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: open: %s (hint: check the directory exists and is writable)",
                         b->out_path, strerror(errno));
    off_t end = lseek(fd, 0, SEEK_END);
    FILE *f = fdopen(fd, "a");
    if (!f) {
        close(fd);
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: fdopen: %s", b->out_path, strerror(errno));
    }
    if (end == 0 && (fputs(CSV_HEADER, f) < 0 || fflush(f) != 0)) {
        fclose(f);
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: write: %s (hint: disk full?)", b->out_path, strerror(errno));
    }
    *out = f;
    return 0;
}

static int out_row(const tcet_batch *b, FILE *f, int s, int p, const tcet_batch_row *r)
{
    if (!f) return 0;
    fprintf(f, "%d,", s);
    csv_field(f, b->names[s]);
    /* a scored row is ok, nonfinite or failed */
    fprintf(f, ",%s,%.17g,%.17g,%s,%.17g,", tcet_proxy_name(b->proxy[p]), r->r.score, r->r.raw,
            tcet_cand_status_name(r->r.status), r->r.seconds);
    csv_field(f, r->r.reason);
    fputc('\n', f);
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0)
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: write: %s (hint: disk full? the rows written so far are kept; "
                         "rerun the same command to resume)", b->out_path, strerror(errno));
    return 0;
}

/* ---- scoring ------------------------------------------------------------- */

typedef struct {
    tcet_backend *be;
    tcet_scorer *sc[TCET_PROXY_COUNT];
    tcet_score_config cfg[TCET_PROXY_COUNT];
} scorers;

static int score_row(const tcet_batch *b, scorers *S, int s, const tcet_arch *arch, int p, tcet_batch_row *r)
{
    int proxy = b->proxy[p];
    if (!S->sc[proxy]) {
        S->cfg[proxy] = b->cfg;
        S->cfg[proxy].proxy = proxy;
        TCET_TRY(tcet_scorer_create(&S->cfg[proxy], S->be, &S->sc[proxy]));
    }
    tcet_score_result res;
    tcet_scorer_score(S->sc[proxy], (uint64_t)s, arch, &res);
    r->done = 1;
    r->r = res.r;
    return 0;
}

static void scorers_free(scorers *S)
{
    for (int k = 0; k < TCET_PROXY_COUNT; k++) tcet_scorer_destroy(S->sc[k]);
    if (S->be) S->be->destroy(S->be);
}

static void progress(const tcet_batch *b, int done, int total, double t0, int force)
{
    static double last = 0;
    double now = tcet_now();
    if (!b->progress || (!force && now - last < 10.0)) return;
    last = now;
    fprintf(stderr, "tcet: batch: %d/%d rows, %.0f s\n", done, total, now - t0);
}

/* one rank: everything in process */
static int run_local(const tcet_batch *b, tcet_batch_row *rows, FILE *out, int todo)
{
    scorers S;
    memset(&S, 0, sizeof S);
    int rc = tcet_backend_create_checked(b->backend, 0, b->threads, &S.be), done = 0;
    double t0 = tcet_now();
    for (int s = 0; s < b->nstruct && rc == 0; s++)
        for (int p = 0; p < b->nproxy && rc == 0; p++) {
            tcet_batch_row *r = &rows[(size_t)s * (size_t)b->nproxy + (size_t)p];
            if (r->done) continue;
            rc = score_row(b, &S, s, &b->archs[s], p, r);
            if (rc == 0) rc = out_row(b, out, s, p, r);
            progress(b, ++done, todo, t0, 0);
        }
    scorers_free(&S);
    return rc;
}

/* A task's "structure" is "<row index>\t<structure string>"; the result id is the row index. */
#define TASKS_PER_MSG 4

static int run_master(const tcet_batch *b, const tcet_mpi *mpi, tcet_batch_row *rows, FILE *out, int todo)
{
    int W = mpi->size - 1, total = b->nstruct * b->nproxy;
    int *pending = xmalloc(((size_t)total + 1) * sizeof *pending), npend = 0, next = 0, done = 0, rc = 0;
    for (int i = 0; i < total; i++)
        if (!rows[i].done) pending[npend++] = i;
    int *outstanding = xcalloc((size_t)W, sizeof *outstanding);
    tcet_buf sb = {0};
    unsigned char *rbuf = NULL;
    int rcap = 0;
    tcet_idle idle = {0};
    double t0 = tcet_now();
    char *task = xmalloc(TCET_MAX_STRUCT + 32);
    while (done < npend) {
        int sent = 0;
        for (int w = 0; w < W && next < npend; w++) {
            if (outstanding[w] >= 2 * TASKS_PER_MSG) continue;
            tcet_msg_begin(&sb);
            int k = 0;
            while (k < TASKS_PER_MSG && next < npend) {
                int row = pending[next++];
                int s = row / b->nproxy;
                snprintf(task, TCET_MAX_STRUCT + 32, "%d\t%s", row, b->names[s]);
                tcet_msg_add_task(&sb, (uint64_t)s, b->cfg.seed, task);
                k++;
            }
            outstanding[w] += k;
            CHECK_MPI(MPI_Send(sb.p, (int)sb.len, MPI_BYTE, w + 1, TCET_TAG_TASK, MPI_COMM_WORLD));
            sent = 1;
        }
        int flag = 0;
        MPI_Status st;
        CHECK_MPI(MPI_Iprobe(MPI_ANY_SOURCE, TCET_TAG_RESULT, MPI_COMM_WORLD, &flag, &st));
        if (!flag) {
            if (!sent) tcet_idle_wait(&idle);
            continue;
        }
        tcet_idle_reset(&idle);
        int count = 0;
        CHECK_MPI(MPI_Get_count(&st, MPI_BYTE, &count));
        if (count > rcap) {
            rcap = count;
            rbuf = xrealloc(rbuf, (size_t)rcap);
        }
        CHECK_MPI(MPI_Recv(rbuf, count, MPI_BYTE, st.MPI_SOURCE, TCET_TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        size_t pos = 0;
        uint32_t n = 0;
        if ((rc = tcet_msg_read_count(rbuf, (size_t)count, &pos, &n))) break;
        for (uint32_t i = 0; i < n && rc == 0; i++) {
            uint64_t id;
            tcet_cand_result m;
            if ((rc = tcet_msg_next_result(rbuf, (size_t)count, &pos, &id, &m))) break;
            if (id >= (uint64_t)total) {
                rc = TCET_FAIL(TCET_ERR_RUNTIME, "batch: rank %d returned row %llu of %d", st.MPI_SOURCE,
                               (unsigned long long)id, total);
                break;
            }
            tcet_batch_row *r = &rows[id];
            r->done = 1;
            r->r = m;
            outstanding[st.MPI_SOURCE - 1]--;
            done++;
            int s = (int)(id / (uint64_t)b->nproxy), p = (int)(id % (uint64_t)b->nproxy);
            rc = out_row(b, out, s, p, r);
            progress(b, done, todo, t0, 0);
        }
        if (rc) break;
    }
    for (int w = 0; w < W; w++) CHECK_MPI(MPI_Send(NULL, 0, MPI_BYTE, w + 1, TCET_TAG_STOP, MPI_COMM_WORLD));
    free(task);
    free(rbuf);
    tcet_buf_free(&sb);
    free(outstanding);
    free(pending);
    return rc;
}

static int run_worker(const tcet_batch *b)
{
    scorers S;
    memset(&S, 0, sizeof S);
    int rc = tcet_backend_create_checked(b->backend, 0, b->threads, &S.be);
    unsigned char *buf = NULL;
    int cap = 0;
    tcet_buf out = {0};
    for (;;) {
        MPI_Status st;
        CHECK_MPI(MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
        int count = 0;
        CHECK_MPI(MPI_Get_count(&st, MPI_BYTE, &count));
        if (count > cap) {
            cap = count;
            buf = xrealloc(buf, (size_t)cap);
        }
        CHECK_MPI(MPI_Recv(buf, count, MPI_BYTE, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        if (st.MPI_TAG == TCET_TAG_STOP) break;
        if (st.MPI_TAG != TCET_TAG_TASK) continue;
        size_t pos = 0;
        uint32_t n = 0;
        tcet_msg_begin(&out);
        if (tcet_msg_read_count(buf, (size_t)count, &pos, &n)) tcet_die(__FILE__, __LINE__, "batch: malformed task message");
        for (uint32_t i = 0; i < n; i++) {
            tcet_msg_task t;
            if (tcet_msg_next_task(buf, (size_t)count, &pos, &t))
                tcet_die(__FILE__, __LINE__, "batch: malformed task message");
            char s[TCET_MAX_STRUCT + 32];
            snprintf(s, sizeof s, "%.*s", t.len, t.structure);
            char *tab = strchr(s, '\t');
            uint64_t id = tab ? strtoull(s, NULL, 10) : 0;
            tcet_batch_row r;
            memset(&r, 0, sizeof r);
            tcet_arch a;
            tcet_parse_error e;
            if (rc != 0) {
                r.r.status = TCET_CAND_FAILED;
                r.r.score = r.r.raw = TCET_FAIL_SCORE;
                snprintf(r.r.reason, sizeof r.r.reason, "worker has no backend: %.120s", tcet_error_message());
            } else if (!tab || tcet_arch_parse(tab + 1, &a, &e)) {
                r.r.status = TCET_CAND_FAILED;
                r.r.score = r.r.raw = TCET_FAIL_SCORE;
                snprintf(r.r.reason, sizeof r.r.reason, "bad task");
            } else if (score_row(b, &S, (int)t.id, &a, (int)(id % (uint64_t)b->nproxy), &r)) {
                r.r.status = TCET_CAND_FAILED;
                r.r.score = r.r.raw = TCET_FAIL_SCORE;
                snprintf(r.r.reason, sizeof r.r.reason, "%.150s", tcet_error_message());
                tcet_error_clear();
            }
            tcet_msg_add_result(&out, id, &r.r);
        }
        CHECK_MPI(MPI_Send(out.p, (int)out.len, MPI_BYTE, 0, TCET_TAG_RESULT, MPI_COMM_WORLD));
    }
    free(buf);
    tcet_buf_free(&out);
    scorers_free(&S);
    return 0;
}

void tcet_batch_init(tcet_batch *b, int n, const tcet_arch *archs, char *const *names, const int *proxies,
                     int nproxy, const tcet_score_config *cfg, const char *backend, int threads)
{
    memset(b, 0, sizeof *b);
    b->nstruct = n;
    b->archs = archs;
    b->names = names;
    b->nproxy = nproxy;
    memcpy(b->proxy, proxies, (size_t)nproxy * sizeof *proxies);
    b->cfg = *cfg;
    b->backend = backend;
    b->threads = threads;
}

int tcet_batch_run(const tcet_batch *b, const tcet_mpi *mpi, tcet_batch_row *rows)
{
    if (mpi && mpi->size > 1 && mpi->rank > 0) return run_worker(b);
    int total = b->nstruct * b->nproxy, kept = 0;
    for (int i = 0; i < total; i++) memset(&rows[i], 0, sizeof rows[i]);
    FILE *out = NULL;
    int rc = 0;
    if (b->out_path) {
        rc = resume_read(b, rows, &kept);
        if (rc == 0) rc = settings_check(b, kept > 0);
        if (rc == 0) rc = out_open(b, &out);
        if (rc == 0 && kept && b->progress)
            fprintf(stderr, "tcet: batch: %s holds %d of the %d rows; scoring the other %d\n", b->out_path, kept,
                    total, total - kept);
    }
    if (rc) {
        /* the workers still wait for work: release them */
        if (mpi && mpi->size > 1)
            for (int w = 1; w < mpi->size; w++) CHECK_MPI(MPI_Send(NULL, 0, MPI_BYTE, w, TCET_TAG_STOP, MPI_COMM_WORLD));
        return rc;
    }
    if (mpi && mpi->size > 1) rc = run_master(b, mpi, rows, out, total - kept);
    else rc = run_local(b, rows, out, total - kept);
    if (out && fclose(out) != 0 && rc == 0)
        rc = TCET_FAIL(TCET_ERR_RUNTIME, "%s: close: %s", b->out_path, strerror(errno));
    return rc;
}
