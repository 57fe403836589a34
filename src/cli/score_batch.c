/* `tcet score` with many structures and/or several proxies: the batch mode
 * (master/batch.h) and its three output formats. */
#include "score_batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/data.h"
#include "common/error.h"
#include "common/json.h"
#include "common/mpi_util.h"
#include "score_args.h"

int score_parse_proxy_list(const char *list, int *proxies, int *n)
{
    *n = 0;
    char *tmp = xstrdup(list), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(tmp, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        int p = score_parse_proxy(tok);
        if (p < 0) {
            rc = TCET_ERR_USAGE;
            break;
        }
        for (int k = 0; k < *n; k++)
            if (proxies[k] == p) rc = TCET_FAIL(TCET_ERR_USAGE, "--proxy lists '%s' twice", tok);
        if (rc == 0 && *n < TCET_PROXY_COUNT) proxies[(*n)++] = p;
    }
    free(tmp);
    if (rc == 0 && *n == 0) rc = TCET_FAIL(TCET_ERR_USAGE, "--proxy names no proxy");
    return rc;
}

/* Rows in (structure, proxy) order: an aligned table, CSV (the result file's
 * columns) or JSON lines. */
static void score_batch_print(const tcet_batch *b, const tcet_batch_row *rows, int format)
{
    /* what the scores were computed on: never a silent synthetic run */
    const char *data = b->cfg.data ? tcet_dataset_describe(b->cfg.data)
                                   : "SYNTHETIC (N(0,1) images, uniform random labels): not comparable with published scores";
    if (format == SCORE_FMT_CSV) printf("index,structure,proxy,score,raw_score,status,seconds,reason\n");
    if (format == SCORE_FMT_TABLE) {
        printf("data     %s\n", data);
        printf("%5s  %-16s %16s %-9s %9s  %s\n", "#", "proxy", "score", "status", "seconds", "structure");
    }
    for (int s = 0; s < b->nstruct; s++)
        for (int p = 0; p < b->nproxy; p++) {
            const tcet_batch_row *r = &rows[(size_t)s * (size_t)b->nproxy + (size_t)p];
            const char *pn = tcet_proxy_name(b->proxy[p]);
            if (format == SCORE_FMT_JSON) {
                tcet_json j;
                json_begin(&j, stdout, 0);
                json_obj_open(&j, NULL);
                json_int(&j, "index", s);
                json_str(&j, "structure", b->names[s]);
                json_str(&j, "proxy", pn);
                json_str(&j, "data", data);
                json_num(&j, "score", r->r.score);
                json_num(&j, "raw_score", r->r.raw);
                json_str(&j, "status", tcet_cand_status_name(r->r.status));
                json_str(&j, "reason", r->r.reason);
                json_num(&j, "seconds", r->r.seconds);
                json_bool(&j, "resumed", r->done == 2);
                json_obj_close(&j);
                json_end(&j);
            } else if (format == SCORE_FMT_CSV) {
                printf("%d,\"%s\",%s,%.17g,%.17g,%s,%.17g,\"", s, b->names[s], pn, r->r.score, r->r.raw,
                       tcet_cand_status_name(r->r.status), r->r.seconds);
                for (const char *c = r->r.reason; *c; c++) printf(*c == '"' ? "\"\"" : "%c", *c);
                printf("\"\n");
            } else {
                printf("%5d  %-16s %16.10g %-9s %9.3f  %s%s%s\n", s, pn, r->r.score, tcet_cand_status_name(r->r.status), r->r.seconds,
                       b->names[s], r->r.reason[0] ? "  # " : "", r->r.reason);
            }
        }
}

int score_batch_main(const char *structures, const int *proxies, int nproxy, const tcet_score_config *cfg,
                     const char *backend, int threads, const char *out_path, int format)
{
    tcet_mpi mpi;
    tcet_mpi_init(&mpi);
    tcet_arch *archs = NULL;
    char **names = NULL;
    int n = 0, code = 0;
    char *text = NULL;
    if (mpi.rank == 0) {
        code = tcet_batch_load_structures(structures, &archs, &names, &n);
        if (code) text = xstrdup(tcet_error_message());
    }
    tcet_mpi_bcast_text(&code, &text);
    if (code) {
        if (mpi.rank == 0) tcet_error_print();
        free(text);
        tcet_mpi_finalize(&mpi);
        return code;
    }
    free(text);
    tcet_batch b;
    tcet_batch_init(&b, n, archs, names, proxies, nproxy, cfg, backend, threads);
    b.out_path = out_path;
    b.progress = 1;
    tcet_batch_row *rows = n ? xcalloc((size_t)n * (size_t)nproxy, sizeof *rows) : NULL;
    int rc = tcet_batch_run(&b, &mpi, rows);
    if (mpi.rank == 0) {
        if (rc) tcet_error_print();
        else score_batch_print(&b, rows, format);
    }
    free(rows);
    tcet_batch_free_structures(archs, names, n);
    tcet_mpi_finalize(&mpi);
    return rc;
}
