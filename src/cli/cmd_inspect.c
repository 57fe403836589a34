/* tcet inspect: what a run is, how far it got, what it found and what went
 * wrong (docs/jobs.md "Looking at a run"). Reads RUN_DIR/checkpoint.h5
 * read-only, so it is safe on a running search. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "commands.h"
#include "common/error.h"
#include "common/json.h"
#include "master/report.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tcet inspect RUN_DIR|checkpoint.h5 [--top K] [--json]\n\n"
            "Show a search run: configuration, progress (iteration / max, scored, rejected by\n"
            "reason), the population, the best K distinct structures (score, params, FLOPs,\n"
            "layers) and the failures grouped by reason. Safe while the search is running\n"
            "(it reads the last checkpoint).\n\n"
            "  --top K     how many structures to list (default 10)\n"
            "  --json      machine-readable output\n\n"
            "exit codes: 0 ok, 2 usage (no such run), 4 checkpoint refused\n");
}

static const char *rej_names[4] = {"layers", "params", "flops", "latency"};

static double median_score(const tcet_checkpoint *ck)
{
    if (ck->npop == 0) return NAN;
    double *s = xmalloc(ck->npop * sizeof *s);
    for (size_t i = 0; i < ck->npop; i++) s[i] = ck->population[i].score;
    for (size_t i = 1; i < ck->npop; i++) /* insertion sort: populations are small */
        for (size_t j = i; j > 0 && s[j - 1] > s[j]; j--) {
            double t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    size_t n = ck->npop;
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

static void hms(double sec, char *buf, size_t cap)
{
    long s = (long)(sec + 0.5);
    snprintf(buf, cap, "%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
}

static void print_text(const tcet_run *r, const size_t *top, size_t ntop,
                       const tcet_failure_group *fg, size_t nfg)
{
    const tcet_checkpoint *ck = &r->ck;
    const uint64_t *k = ck->counts;
    uint64_t scored = k[TCET_CAND_OK] + k[TCET_CAND_NONFINITE] + k[TCET_CAND_FAILED];
    uint64_t rejected = k[TCET_CAND_REJ_LAYERS] + k[TCET_CAND_REJ_PARAMS] + k[TCET_CAND_REJ_FLOPS] +
                        k[TCET_CAND_REJ_LATENCY];
    char t[64], buf[256];
    hms(ck->elapsed, t, sizeof t);
    printf("run        %s\ncheckpoint %s (format %d, tcet %s)\n", r->run_dir, r->ckpt_path,
           ck->format_version, ck->tcet_version);
    long max_iter = ck->config.max_iter;
    printf("status     %s: iteration %llu / %ld (%.1f%%), %s of search\n",
           ck->finished ? "finished" : "in progress (or interrupted)",
           (unsigned long long)ck->committed, max_iter,
           max_iter > 0 ? 100.0 * (double)ck->committed / (double)max_iter : 0.0, t);
    if (ck->outcome[0]) printf("outcome    %s\n", ck->outcome);
    printf("proxy      %s on %s%s%s, seed %s\n", tcet_run_config(r, "proxy", buf, sizeof buf),
           ck->config.dataset, ck->config.data[0] ? " " : "", ck->config.data,
           tcet_run_config(r, "seed", t, sizeof t));
    char data[TCET_PATH_MAX + 128];
    printf("data       %s\n", tcet_run_data_label(r, data, sizeof data, NULL));
    printf("\nconfiguration:\n");
    for (const char *p = ck->config_text; p && *p;) {
        const char *eol = strchr(p, '\n');
        int len = eol ? (int)(eol - p) : (int)strlen(p);
        printf("  %.*s\n", len, p);
        p = eol ? eol + 1 : NULL;
    }
    printf("\nprogress:\n  committed %llu  scored %llu (ok %llu, non-finite %llu, failed %llu)\n",
           (unsigned long long)ck->committed, (unsigned long long)scored,
           (unsigned long long)k[TCET_CAND_OK], (unsigned long long)k[TCET_CAND_NONFINITE],
           (unsigned long long)k[TCET_CAND_FAILED]);
    printf("  rejected %llu (layers %llu, params %llu, flops %llu, latency %llu)  in flight %zu\n",
           (unsigned long long)rejected, (unsigned long long)k[TCET_CAND_REJ_LAYERS],
           (unsigned long long)k[TCET_CAND_REJ_PARAMS], (unsigned long long)k[TCET_CAND_REJ_FLOPS],
           (unsigned long long)k[TCET_CAND_REJ_LATENCY], ck->npending);
    long b = tcet_run_best_member(r);
    printf("\npopulation: %zu members", ck->npop);
    if (b >= 0) printf(", best %.6g, median %.6g", ck->population[b].score, median_score(ck));
    printf("\n\nbest %zu distinct structures:\n", ntop);
    if (ntop) printf("  %-4s %-14s %-10s %-11s %-6s %-8s %s\n", "rank", "score", "params", "FLOPs",
                     "layers", "id", "structure");
    for (size_t i = 0; i < ntop; i++) {
        const tcet_cand *c = &ck->history[top[i]];
        printf("  %-4zu %-14.8g %-10.0f %-11.0f %-6d %-8lld %s\n", i + 1, c->score, c->params,
               c->flops, c->layers, (long long)c->id, c->structure);
    }
    printf("\nfailures: %zu reason(s)\n", nfg);
    for (size_t i = 0; i < nfg; i++)
        printf("  %6zu x %-9s (first id %lld) %s\n", fg[i].count, tcet_cand_status_name(fg[i].status),
               (long long)fg[i].first_id, fg[i].reason[0] ? fg[i].reason : "(no reason recorded)");
}

static void print_json(const tcet_run *r, const size_t *top, size_t ntop,
                       const tcet_failure_group *fg, size_t nfg)
{
    const tcet_checkpoint *ck = &r->ck;
    const uint64_t *k = ck->counts;
    tcet_json j;
    json_begin(&j, stdout, 1);
    json_obj_open(&j, NULL);
    json_str(&j, "run_dir", r->run_dir);
    json_str(&j, "checkpoint", r->ckpt_path);
    json_int(&j, "format_version", ck->format_version);
    json_str(&j, "tcet_version", ck->tcet_version);
    json_bool(&j, "finished", ck->finished);
    if (ck->outcome[0]) json_str(&j, "outcome", ck->outcome);
    json_int(&j, "iteration", (long long)ck->committed);
    json_int(&j, "max_iter", ck->config.max_iter);
    json_int(&j, "next_iter", (long long)ck->next_iter);
    json_num(&j, "elapsed_seconds", ck->elapsed);
    json_obj_open(&j, "config");
    for (const char *p = ck->config_text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq && eq > p) {
            char key[128], val[TCET_MAX_STRUCT + 64];
            size_t kl = (size_t)(eq - p);
            while (kl > 0 && p[kl - 1] == ' ') kl--;
            const char *v = eq + 1;
            while (v < p + len && *v == ' ') v++;
            size_t vl = (size_t)(p + len - v);
            snprintf(key, sizeof key, "%.*s", (int)kl, p);
            snprintf(val, sizeof val, "%.*s", (int)vl, v);
            json_str(&j, key, val);
        }
        p = eol ? eol + 1 : NULL;
    }
    json_obj_close(&j);
    json_obj_open(&j, "counts");
    for (int s = 0; s < TCET_CAND_NSTATUS; s++) json_int(&j, tcet_cand_status_name(s), (long long)k[s]);
    json_obj_close(&j);
    json_int(&j, "scored", (long long)(k[TCET_CAND_OK] + k[TCET_CAND_NONFINITE] + k[TCET_CAND_FAILED]));
    json_obj_open(&j, "rejected");
    for (int s = 0; s < 4; s++) json_int(&j, rej_names[s], (long long)k[TCET_CAND_REJ_LAYERS + s]);
    json_obj_close(&j);
    json_int(&j, "in_flight", (long long)ck->npending);
    json_obj_open(&j, "population");
    json_int(&j, "size", (long long)ck->npop);
    long b = tcet_run_best_member(r);
    if (b >= 0) {
        json_num(&j, "best", ck->population[b].score);
        json_num(&j, "median", median_score(ck));
        json_str(&j, "best_structure", ck->population[b].structure);
    }
    json_arr_open(&j, "members");
    for (size_t i = 0; i < ck->npop; i++) {
        const tcet_cand *c = &ck->population[i];
        json_obj_open(&j, NULL);
        json_int(&j, "id", (long long)c->id);
        json_num(&j, "score", c->score);
        json_str(&j, "structure", c->structure);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_obj_close(&j);
    json_arr_open(&j, "best");
    for (size_t i = 0; i < ntop; i++) {
        const tcet_cand *c = &ck->history[top[i]];
        json_obj_open(&j, NULL);
        json_int(&j, "rank", (long long)i + 1);
        json_int(&j, "id", (long long)c->id);
        json_num(&j, "score", c->score);
        json_num(&j, "params", c->params);
        json_num(&j, "flops", c->flops);
        json_int(&j, "layers", c->layers);
        json_str(&j, "structure", c->structure);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_arr_open(&j, "failures");
    for (size_t i = 0; i < nfg; i++) {
        json_obj_open(&j, NULL);
        json_str(&j, "status", tcet_cand_status_name(fg[i].status));
        json_str(&j, "reason", fg[i].reason);
        json_int(&j, "count", (long long)fg[i].count);
        json_int(&j, "first_id", (long long)fg[i].first_id);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_obj_close(&j);
    json_end(&j);
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, topk = 10, help = 0;
    const arg_spec flags[] = {{"--json", ARG_SWITCH, &json, 1, 0, NULL}, {"--top", ARG_INT, &topk, 0, 1000000, NULL}};
    if (arg_parse("inspect", argc, argv, flags, 2, NULL, NULL, "run", &path, &help)) goto fail;
    tcet_run r;
    int rc_open = cli_open_run(help, path, usage, &r);
    if (rc_open) return rc_open < 0 ? 0 : rc_open;
    size_t *top = xmalloc(((size_t)topk + 1) * sizeof *top);
    size_t ntop = tcet_run_top(&r, (size_t)topk, top);
    tcet_failure_group *fg = NULL;
    size_t nfg = tcet_run_failures(&r, &fg);
    if (json) print_json(&r, top, ntop, fg, nfg);
    else print_text(&r, top, ntop, fg, nfg);
    free(fg);
    free(top);
    tcet_run_close(&r);
    return fflush(stdout) == 0 ? 0 : TCET_ERR_RUNTIME;
fail:
    tcet_error_print();
    return tcet_error_code() ? tcet_error_code() : TCET_ERR_USAGE;
}
