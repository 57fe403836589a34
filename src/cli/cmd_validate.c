/* tcet validate nb201: score every architecture of NASLib's NAS-Bench-201
 * zero-cost table with tcet's proxies (the batch machinery: MPI, resume),
 * then rank-correlate each proxy with the trained validation accuracy and
 * set it beside the correlation of NASLib's own score (docs/validation.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/data.h"
#include "common/error.h"
#include "common/json.h"
#include "common/mpi_util.h"
#include "common/nb201_table.h"
#include "common/rankcorr.h"
#include "commands.h"
#include "score_args.h"
#include "score_batch.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tcet validate nb201 --table FILE --split SPLIT --proxy LIST --dataset KIND [options]\n\n"
            "Scores every architecture of NASLib's NAS-Bench-201 zero-cost table\n"
            "(zc_nasbench201.json) with each proxy, then prints Spearman rho and Kendall\n"
            "tau-b of each proxy against the table's val_accuracy, beside the rho of\n"
            "NASLib's own score of the same proxy in the table.  Under mpirun rank 0 hands\n"
            "the rows to the other ranks; with --out the rows are kept in a CSV result file\n"
            "and a rerun resumes from it (docs/validation.md).\n\n"
            "  --table FILE        NASLib's zc_nasbench201.json (required)\n"
            "  --split S           cifar10 (10 classes, 32x32), cifar100 (100, 32x32),\n"
            "                      ImageNet16-120 (120 classes, 16x16) (required)\n"
            "  --proxy LIST        comma-separated tcet proxies (see 'tcet proxies')\n"
            "  --dataset KIND      synthetic, cifar10, cifar100, hdf5 (required: synthetic\n"
            "                      images only when asked for)\n"
            "  --data PATH         dataset directory / file\n"
            "  --out FILE          result rows (CSV), resumed when it exists\n"
            "  --svg FILE          accuracy vs rank by score, per proxy (rho in the title)\n"
            "  --every K           only every K-th architecture of the table (default 1)\n"
            "  --limit N           at most N architectures (after --every)\n"
            "  --batch-size N, --seed S, --mode M, --same-batch, --precision P, --gamma G, --backend B,\n"
            "  --threads T         as in 'tcet score' (classes and resolution come from --split)\n"
            "  --json              {\"split\", \"n\", \"proxies\": {name: {\"spearman\", \"kendall\",\n"
            "                      \"naslib_spearman\", \"n_valid\", \"seconds\"}}}\n\n"
            "exit codes: 0 done, 2 usage, 3 table or dataset unreadable, 1 runtime\n");
}

/* NASLib's name for the same measure, or NULL */
static const char *naslib_name(int proxy)
{
    switch (proxy) {
    case TCET_PROXY_PARAMS: return "params";
    case TCET_PROXY_FLOPS: return "flops";
    case TCET_PROXY_SYNFLOW: return "synflow";
    case TCET_PROXY_SNIP: return "snip";
    case TCET_PROXY_NASWOT: return "nwot";
    case TCET_PROXY_GRADNORM_ZC: return "grad_norm";
    default: return NULL;
    }
}

typedef struct {
    double rho, tau, naslib_rho, seconds;
    int n_valid;
} corr;

typedef struct {
    double v;
    int s;
} sv;

static int cmp_sv(const void *a, const void *b)
{
    const sv *p = a, *q = b;
    return p->v < q->v ? -1 : p->v > q->v ? 1 : (p->s > q->s) - (p->s < q->s);
}

/* One panel per proxy: x = the architecture's rank by score (0 = lowest,
 * 1 = highest; scores span many decades and include zeros, ranks are what
 * Spearman's rho correlates), y = validation accuracy. */
static void svg_panels(FILE *f, const tcet_batch *b, const tcet_batch_row *rows, const double *acc, const corr *c,
                       const char *split)
{
    const int W = 320, H = 240, cols = 3;
    int np = b->nproxy, nr = (np + cols - 1) / cols;
    double ymin = INFINITY, ymax = -INFINITY;
    for (int s = 0; s < b->nstruct; s++) {
        ymin = fmin(ymin, acc[s]);
        ymax = fmax(ymax, acc[s]);
    }
    if (!(ymax > ymin)) ymax = ymin + 1;
    sv *v = xmalloc((size_t)(b->nstruct ? b->nstruct : 1) * sizeof *v);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
               "font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W * cols, H * nr + 24);
    fprintf(f, "<text x=\"8\" y=\"16\" font-size=\"13\">NAS-Bench-201 %s, %d architectures: rank by proxy score "
               "(x, low to high) vs validation accuracy (y)</text>\n", split, b->nstruct);
    for (int p = 0; p < np; p++) {
        int ox = (p % cols) * W, oy = 24 + (p / cols) * H, m = 0;
        for (int s = 0; s < b->nstruct; s++) {
            const tcet_batch_row *r = &rows[(size_t)s * (size_t)np + (size_t)p];
            if (r->r.status == TCET_CAND_OK && isfinite(r->r.score)) v[m++] = (sv){r->r.score, s};
        }
        qsort(v, (size_t)m, sizeof *v, cmp_sv);
        fprintf(f, "<g transform=\"translate(%d,%d)\"><rect x=\"40\" y=\"22\" width=\"%d\" height=\"%d\" "
                   "fill=\"none\" stroke=\"#999\"/>\n", ox, oy, W - 56, H - 56);
        fprintf(f, "<text x=\"40\" y=\"14\">%s: rho %.3f, tau %.3f (n %d)</text>\n", tcet_proxy_name(b->proxy[p]),
                c[p].rho, c[p].tau, m);
        fprintf(f, "<text x=\"2\" y=\"30\" fill=\"#555\">%.0f</text><text x=\"2\" y=\"%d\" fill=\"#555\">%.0f</text>\n",
                ymax, H - 36, ymin);
        for (int k = 0; k < m; k++) {
            double x = m > 1 ? (double)k / (m - 1) : 0.5;
            double px = 40 + x * (W - 56), py = 22 + (ymax - acc[v[k].s]) / (ymax - ymin) * (H - 56);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"#1f77b4\" fill-opacity=\"0.6\"/>\n", px, py);
        }
        fprintf(f, "</g>\n");
    }
    fprintf(f, "</svg>\n");
    free(v);
}

int cmd_validate(int argc, char **argv)
{
    const char *bench = NULL, *table = NULL, *split = NULL, *plist = NULL, *dataset = NULL;
    const char *data_path = NULL, *backend = "auto", *out_path = NULL, *svg = NULL;
    tcet_score_config cfg;
    score_config_defaults(&cfg);
    int threads = 1, json = 0, proxies[TCET_PROXY_COUNT], nproxy = 0;
    long every = 1, limit = 0;
    const arg_spec flags[] = {
        {"--json", ARG_SWITCH, &json, 1, 0, NULL},           {"--table", ARG_STR, &table, 0, 0, NULL},
        {"--split", ARG_STR, &split, 0, 0, NULL},            {"--proxy", ARG_STR, &plist, 0, 0, NULL},
        {"--dataset", ARG_STR, &dataset, 0, 0, NULL},        {"--data", ARG_STR, &data_path, 0, 0, NULL},
        {"--out", ARG_STR, &out_path, 0, 0, NULL},           {"--svg", ARG_STR, &svg, 0, 0, NULL},
        {"--every", ARG_LONG, &every, 1, 1000000, NULL},     {"--limit", ARG_LONG, &limit, 1, 100000000, NULL},
    };
    score_common common = {&cfg, &backend, &threads};
    int help = 0;
    if (arg_parse("validate", argc, argv, flags, (int)(sizeof flags / sizeof flags[0]), score_common_hook, &common,
                  "benchmark", &bench, &help))
        goto fail;
    if (help) {
        usage(stdout);
        return 0;
    }
    if (!bench || strcmp(bench, "nb201") != 0) {
        TCET_FAIL(TCET_ERR_USAGE, "tcet validate takes the benchmark 'nb201' (NAS-Bench-201), got '%s'",
                  bench ? bench : "nothing");
        goto fail;
    }
    if (!table || !split || !plist) {
        TCET_FAIL(TCET_ERR_USAGE, "--table, --split and --proxy are required (see 'tcet validate --help')");
        goto fail;
    }
    if (!dataset) {
        TCET_FAIL(TCET_ERR_USAGE, "--dataset is required: a real dataset (cifar10, cifar100, hdf5 with --data) or "
                  "'--dataset synthetic' to score on N(0,1) images on purpose");
        goto fail;
    }
    if (!strcmp(split, "cifar10")) {
        cfg.num_classes = 10;
        cfg.resolution = 32;
    } else if (!strcmp(split, "cifar100")) {
        cfg.num_classes = 100;
        cfg.resolution = 32;
    } else if (!strcmp(split, "ImageNet16-120")) {
        cfg.num_classes = 120;
        cfg.resolution = 16;
    } else {
        TCET_FAIL(TCET_ERR_USAGE, "unknown --split '%s' (cifar10, cifar100, ImageNet16-120)", split);
        goto fail;
    }
    if (score_parse_proxy_list(plist, proxies, &nproxy)) goto fail;

    tcet_dataset *ds = NULL;
    if (strcmp(dataset, "synthetic") != 0 || data_path) {
        int rc = tcet_dataset_open(dataset, data_path, cfg.resolution, cfg.num_classes, &ds);
        if (rc) goto fail;
        cfg.data = ds;
    }

    tcet_mpi mpi;
    tcet_mpi_init(&mpi);
    tcet_nb201_table t;
    memset(&t, 0, sizeof t);
    int code = 0;
    char *text = NULL;
    if (mpi.rank == 0) {
        code = tcet_nb201_table_load(table, split, &t);
        if (code) text = xstrdup(tcet_error_message());
    }
    tcet_mpi_bcast_text(&code, &text);
    free(text);
    if (code) {
        if (mpi.rank == 0) tcet_error_print();
        tcet_mpi_finalize(&mpi);
        if (ds) tcet_dataset_close(ds);
        return code;
    }
    /* the architectures to score: every K-th row, at most --limit */
    int n = 0;
    tcet_arch *archs = xcalloc((size_t)t.n + 1, sizeof *archs);
    char **names = xcalloc((size_t)t.n + 1, sizeof *names);
    double *acc = xcalloc((size_t)t.n + 1, sizeof *acc);
    int *src_row = xcalloc((size_t)t.n + 1, sizeof *src_row);
    for (int i = 0; i < t.n; i += (int)every) {
        if (limit && n >= limit) break;
        if (!isfinite(t.rows[i].val_accuracy)) continue;
        archs[n] = t.rows[i].arch;
        char buf[256];
        tcet_arch_print(&archs[n], buf, sizeof buf);
        names[n] = xstrdup(buf);
        acc[n] = t.rows[i].val_accuracy;
        src_row[n] = i;
        n++;
    }
    tcet_batch b;
    tcet_batch_init(&b, n, archs, names, proxies, nproxy, &cfg, backend, threads);
    b.out_path = out_path;
    b.progress = 1;
    tcet_batch_row *rows = xcalloc((size_t)(n ? n : 1) * (size_t)nproxy, sizeof *rows);
    int rc = tcet_batch_run(&b, &mpi, rows);
    if (mpi.rank == 0 && rc == 0) {
        corr c[TCET_PROXY_COUNT];
        double *x = xmalloc((size_t)(n ? n : 1) * sizeof *x), *y = xmalloc((size_t)(n ? n : 1) * sizeof *y);
        for (int p = 0; p < nproxy; p++) {
            size_t m = 0;
            c[p].seconds = 0;
            for (int s = 0; s < n; s++) {
                const tcet_batch_row *r = &rows[(size_t)s * (size_t)nproxy + (size_t)p];
                c[p].seconds += r->r.seconds;
                if (r->r.status != TCET_CAND_OK || !isfinite(r->r.score)) continue;
                x[m] = r->r.score;
                y[m++] = acc[s];
            }
            c[p].n_valid = (int)m;
            c[p].rho = tcet_spearman(x, y, m);
            c[p].tau = tcet_kendall_tau_b(x, y, m);
            c[p].naslib_rho = NAN;
            const char *nn = naslib_name(proxies[p]);
            int k = nn ? tcet_nb201_table_proxy(&t, nn) : -1;
            if (k >= 0) {
                m = 0;
                for (int s = 0; s < n; s++) {
                    double v = t.rows[src_row[s]].score[k];
                    if (!isfinite(v)) continue;
                    x[m] = v;
                    y[m++] = acc[s];
                }
                c[p].naslib_rho = tcet_spearman(x, y, m);
            }
        }
        free(x);
        free(y);
        const char *dsd = ds ? tcet_dataset_describe(ds) : "synthetic N(0,1) images";
        if (json) {
            tcet_json j;
            json_begin(&j, stdout, 1);
            json_obj_open(&j, NULL);
            json_str(&j, "split", split);
            json_int(&j, "n", n);
            json_str(&j, "dataset", dsd);
            json_int(&j, "batch_size", cfg.batch_size);
            json_int(&j, "seed", (long long)cfg.seed);
            json_obj_open(&j, "proxies");
            for (int p = 0; p < nproxy; p++) {
                json_obj_open(&j, tcet_proxy_name(proxies[p]));
                json_num(&j, "spearman", c[p].rho);
                json_num(&j, "kendall", c[p].tau);
                if (isfinite(c[p].naslib_rho)) json_num(&j, "naslib_spearman", c[p].naslib_rho);
                else json_null(&j, "naslib_spearman");
                json_int(&j, "n_valid", c[p].n_valid);
                json_num(&j, "seconds", c[p].seconds);
                json_obj_close(&j);
            }
            json_obj_close(&j);
            json_obj_close(&j);
            json_end(&j);
        } else {
            printf("NAS-Bench-201 %s: %d architectures against val_accuracy; %s, batch %d, seed %llu\n\n", split, n,
                   dsd, cfg.batch_size, (unsigned long long)cfg.seed);
            printf("%-18s %6s %9s %9s %16s %10s\n", "proxy", "n", "spearman", "kendall", "naslib_spearman",
                   "seconds");
            for (int p = 0; p < nproxy; p++) {
                char nr[32] = "-";
                if (isfinite(c[p].naslib_rho)) snprintf(nr, sizeof nr, "%.3f", c[p].naslib_rho);
                printf("%-18s %6d %9.3f %9.3f %16s %10.1f\n", tcet_proxy_name(proxies[p]), c[p].n_valid, c[p].rho,
                       c[p].tau, nr, c[p].seconds);
            }
        }
        if (svg) {
            FILE *f = fopen(svg, "w");
            if (!f) {
                rc = TCET_FAIL(TCET_ERR_RUNTIME, "%s: fopen: cannot write the SVG", svg);
            } else {
                svg_panels(f, &b, rows, acc, c, split);
                if (fclose(f) != 0) rc = TCET_FAIL(TCET_ERR_RUNTIME, "%s: write failed (disk full?)", svg);
            }
        }
    }
    if (rc && mpi.rank == 0) tcet_error_print();
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(archs);
    free(acc);
    free(src_row);
    free(rows);
    tcet_nb201_table_free(&t);
    tcet_mpi_finalize(&mpi);
    if (ds) tcet_dataset_close(ds);
    return rc;
fail:
    tcet_error_print();
    return tcet_error_code() ? tcet_error_code() : TCET_ERR_USAGE;
}
