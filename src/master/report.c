/* Helpers for tcet inspect/plot/export (see report.h). */
#include "master/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"

const char *tcet_run_data_label(const tcet_run *r, char *buf, size_t cap, int *synthetic)
{
    const tcet_search_config *c = &r->ck.config;
    int syn = !strcmp(c->dataset, "synthetic");
    int reads = tcet_config_proxy_reads_images(c->proxy);
    if (synthetic) *synthetic = syn && reads;
    if (syn && reads)
        snprintf(buf, cap, "SYNTHETIC data (N(0,1) images, uniform random labels): scores are not comparable with "
                           "published ones");
    else if (syn)
        snprintf(buf, cap, "no training images (the proxy reads none)");
    else
        snprintf(buf, cap, "%s data from %s", c->dataset, c->data);
    return buf;
}

/* A run directory whose latest checkpoint is missing or damaged shows the
 * previous one (checkpoint.prev.h5), with a warning, as a resume would use it. */
static int open_previous(tcet_run *r, const char *dir, int have_latest)
{
    char prev[TCET_PATH_MAX + 32];
    struct stat st;
    snprintf(prev, sizeof prev, "%s/%s", dir, TCET_CKPT_PREV_NAME);
    if (stat(prev, &st) != 0) return -1;
    char why[600];
    snprintf(why, sizeof why, "%s", have_latest ? tcet_error_message() : "it is missing");
    tcet_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    if (tcet_checkpoint_read(prev, &ck) != 0) return -1;
    tcet_error_clear();
    fprintf(stderr, "tcet: WARNING: the latest checkpoint %s is unusable (%s); showing the previous checkpoint %s\n",
            r->ckpt_path, why, prev);
    r->ck = ck;
    snprintf(r->ckpt_path, sizeof r->ckpt_path, "%s", prev);
    return 0;
}

int tcet_run_open(const char *arg, tcet_run *r)
{
    memset(r, 0, sizeof *r);
    struct stat st;
    if (stat(arg, &st) != 0)
        return TCET_FAIL(TCET_ERR_USAGE, "%s: no such run directory or checkpoint file", arg);
    if (S_ISDIR(st.st_mode)) {
        snprintf(r->run_dir, sizeof r->run_dir, "%s", arg);
        snprintf(r->ckpt_path, sizeof r->ckpt_path, "%s/%s", arg, TCET_CKPT_NAME);
        int have_latest = stat(r->ckpt_path, &st) == 0;
        if (have_latest) {
            int rc = tcet_checkpoint_read(r->ckpt_path, &r->ck);
            if (rc == 0) return TCET_OK;
            char why[600];
            snprintf(why, sizeof why, "%s", tcet_error_message());
            memset(&r->ck, 0, sizeof r->ck);
            if (open_previous(r, arg, 1) == 0) return TCET_OK;
            return TCET_FAIL(rc, "%s", why); /* the latest's own error */
        }
        if (open_previous(r, arg, 0) == 0) return TCET_OK;
        return TCET_FAIL(TCET_ERR_USAGE,
                         "%s: no %s in this directory (not a tcet run, or the search has not "
                         "written its first checkpoint yet)", arg, TCET_CKPT_NAME);
    }
    snprintf(r->ckpt_path, sizeof r->ckpt_path, "%s", arg);
    snprintf(r->run_dir, sizeof r->run_dir, "%s", arg);
    char *slash = strrchr(r->run_dir, '/');
    if (slash) *slash = '\0';
    else snprintf(r->run_dir, sizeof r->run_dir, ".");
    TCET_TRY(tcet_checkpoint_read(r->ckpt_path, &r->ck));
    return TCET_OK;
}

void tcet_run_close(tcet_run *r) { tcet_checkpoint_free(&r->ck); }

static int scored(int status)
{
    return status == TCET_CAND_OK || status == TCET_CAND_NONFINITE || status == TCET_CAND_FAILED;
}

size_t tcet_run_trajectory(const tcet_run *r, tcet_pop_point *pts, size_t max)
{
    const tcet_checkpoint *ck = &r->ck;
    if (max == 0 || ck->nhist == 0) return 0;
    size_t cap = (size_t)(ck->config.population_size > 0 ? ck->config.population_size : 1);
    /* Scores kept sorted ascending: trimming removes element 0. */
    double *s = xmalloc((cap + 1) * sizeof *s);
    size_t n = 0, np = 0;
    size_t step = (ck->nhist + max - 1) / max;
    if (step == 0) step = 1;
    for (size_t i = 0; i < ck->nhist; i++) {
        const tcet_cand *c = &ck->history[i];
        if (scored(c->status)) {
            double v = isfinite(c->score) ? c->score : -9999.0;
            size_t k = n;
            while (k > 0 && s[k - 1] > v) {
                s[k] = s[k - 1];
                k--;
            }
            s[k] = v;
            n++;
            if (n > cap) {
                memmove(s, s + 1, (n - 1) * sizeof *s);
                n--;
            }
        }
        int last = i + 1 == ck->nhist;
        if (((i + 1) % step == 0 || last) && np < max) {
            tcet_pop_point *p = &pts[np++];
            p->iter = (uint64_t)(i + 1);
            p->size = n;
            p->best = n ? s[n - 1] : NAN;
            p->median = n == 0 ? NAN : (n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]));
        } else if (last && np == max) {
            /* Keep the final state even when the budget is used up. */
            tcet_pop_point *p = &pts[np - 1];
            p->iter = (uint64_t)(i + 1);
            p->size = n;
            p->best = n ? s[n - 1] : NAN;
            p->median = n == 0 ? NAN : (n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]));
        }
    }
    free(s);
    return np;
}

static const tcet_cand *sort_hist;

static int by_score_desc(const void *a, const void *b)
{
    const tcet_cand *x = &sort_hist[*(const size_t *)a], *y = &sort_hist[*(const size_t *)b];
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return (x->id > y->id) - (x->id < y->id);
}

size_t tcet_run_top(const tcet_run *r, size_t k, size_t *idx)
{
    const tcet_checkpoint *ck = &r->ck;
    size_t n = 0;
    size_t *all = xmalloc((ck->nhist + 1) * sizeof *all);
    for (size_t i = 0; i < ck->nhist; i++)
        if (ck->history[i].status == TCET_CAND_OK && isfinite(ck->history[i].score)) all[n++] = i;
    sort_hist = ck->history;
    qsort(all, n, sizeof *all, by_score_desc);
    size_t got = 0;
    for (size_t i = 0; i < n && got < k; i++) {
        const char *s = ck->history[all[i]].structure;
        int dup = 0;
        for (size_t j = 0; j < got && !dup; j++) dup = strcmp(ck->history[idx[j]].structure, s) == 0;
        if (!dup) idx[got++] = all[i];
    }
    free(all);
    return got;
}

long tcet_run_best_member(const tcet_run *r) { return tcet_cand_best(r->ck.population, r->ck.npop); }

static int by_count_desc(const void *a, const void *b)
{
    const tcet_failure_group *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return (x->first_id > y->first_id) - (x->first_id < y->first_id);
}

size_t tcet_run_failures(const tcet_run *r, tcet_failure_group **out)
{
    const tcet_checkpoint *ck = &r->ck;
    size_t n = 0, cap = 16;
    tcet_failure_group *g = xmalloc(cap * sizeof *g);
    for (size_t i = 0; i < ck->nhist; i++) {
        const tcet_cand *c = &ck->history[i];
        if (c->status != TCET_CAND_NONFINITE && c->status != TCET_CAND_FAILED) continue;
        const char *reason = c->reason ? c->reason : "";
        size_t j = 0;
        while (j < n && !(g[j].status == c->status && strcmp(g[j].reason, reason) == 0)) j++;
        if (j == n) {
            if (n == cap) {
                cap *= 2;
                g = xrealloc(g, cap * sizeof *g);
            }
            g[n].status = c->status;
            g[n].reason = reason;
            g[n].count = 0;
            g[n].first_id = c->id;
            n++;
        }
        g[j].count++;
    }
    qsort(g, n, sizeof *g, by_count_desc);
    *out = g;
    return n;
}

const char *tcet_run_config(const tcet_run *r, const char *key, char *buf, size_t cap)
{
    buf[0] = '\0';
    const char *t = r->ck.config_text;
    size_t kl = strlen(key);
    while (t && *t) {
        const char *eol = strchr(t, '\n');
        size_t len = eol ? (size_t)(eol - t) : strlen(t);
        if (len > kl + 2 && strncmp(t, key, kl) == 0 && strncmp(t + kl, " = ", 3) == 0) {
            size_t vl = len - kl - 3;
            if (vl >= cap) vl = cap - 1;
            memcpy(buf, t + kl + 3, vl);
            buf[vl] = '\0';
            return buf;
        }
        if (len > kl && strncmp(t, key, kl) == 0 && strcmp(t + kl, " =") == 0) return buf;
        t = eol ? eol + 1 : NULL;
    }
    return buf;
}
