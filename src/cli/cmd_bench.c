/* tcet bench: time the proxies on fixed structures.
 *
 * For every (structure, proxy) pair one scorer scores `repeat` candidates
 * with distinct ids (different default-init weights and saliency batches,
 * like a search does), after `warmup` untimed ones that grow the arenas.
 * Reported per candidate: median / min / max wall time, the effective
 * GFLOP/s, and the time by phase (worker/profile.h, mean over the repeats).
 *
 * Effective GFLOP/s counts the work the proxy must do at the reference
 * FLOPs of the scoring network (the reference counter with reslink 0, 2 FLOPs per
 * multiply-add): the NASWOT forward of the batch, plus 3x (forward, backward
 * data, backward filter) of the saliency pass: the whole batch for SNIP,
 * one image for Synflow.  A quick 1024^3 cblas_sgemm, measured before and
 * after the timed candidates (the higher of the two is the machine's rate),
 * gives this machine's BLAS rate; each row reports its effective GFLOP/s as
 * a fraction of it, with the CPU model and the kernels' instruction-set path,
 * so that a user sees on their own machine how far from the limit it runs. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/args.h"
#include "commands.h"
#include "score_args.h"
#include "common/arch.h"
#include "common/counters.h"
#include "common/error.h"
#include "common/json.h"
#include "kernels/backend.h"
#include "kernels/cpu/backend_cpu.h"
#include "worker/lanes.h"
#include "worker/profile.h"
#include "worker/scorer.h"
#include "worker/selfcheck.h"

#define BENCH_MAX_ITEMS 32
#define BENCH_MAX_LANE_COUNTS 8

/* The fixed structures: CIFAR init structure and the ZenNAS CIFAR
 * ZenNets. */
static const struct {
    const char *name, *structure;
} known[] = {
    {"init", "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK3K3(16,32,2,16,1)"
             "SuperResK3K3(32,64,2,32,1)SuperResK3K3(64,64,2,32,1)SuperConvK1BNRELU(64,128,1,1)"},
    {"zennet-1m", "SuperConvK3BNRELU(3,88,1,1)SuperResK1K7K1(88,120,1,16,1)SuperResK1K7K1(120,192,2,16,3)"
                  "SuperResK1K5K1(192,224,1,24,4)SuperResK1K5K1(224,96,2,24,2)SuperResK1K3K1(96,168,2,40,3)"
                  "SuperResK1K3K1(168,112,1,48,3)SuperConvK1BNRELU(112,512,1,1)"},
    {"zennet-2m", "SuperConvK3BNRELU(3,32,1,1)SuperResK1K5K1(32,120,1,40,1)SuperResK1K5K1(120,176,2,32,3)"
                  "SuperResK1K7K1(176,272,1,24,3)SuperResK1K3K1(272,176,1,56,3)SuperResK1K3K1(176,176,1,64,4)"
                  "SuperResK1K5K1(176,216,2,40,2)SuperResK1K3K1(216,72,2,56,2)SuperConvK1BNRELU(72,512,1,1)"},
};
enum { NKNOWN = sizeof known / sizeof known[0] };

typedef struct {
    char label[64];
    tcet_arch arch;
} bench_struct;

typedef struct {
    const bench_struct *st;
    int proxy;
    double ref_flops;            /* reference FLOPs (mult-adds x 2) of one candidate */
    double median, min, max;     /* seconds per candidate */
    double gflops;               /* ref_flops / median */
    double phase[TCET_PH_COUNT]; /* mean seconds per candidate */
    double score;                /* score of the first timed candidate */
    int failed;
} bench_row;

/* Throughput of one (structure, proxy) with K lanes (worker/lanes.h). */
typedef struct {
    const bench_struct *st;
    int proxy, lanes, candidates;
    double seconds, per_second, speedup; /* speedup over the row with 1 lane, or NAN */
} lanes_row;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tcet bench [STRUCT...] [options]\n\n"
            "Time proxies on fixed structures: per-candidate median/min/max over --repeat\n"
            "candidates (distinct ids), effective GFLOP/s at the reference FLOPs of the\n"
            "scoring network, this machine's 1024^3 cblas_sgemm rate (measured before and\n"
            "after the candidates; the higher one counts) and the effective rate as a\n"
            "fraction of it (%%sgemm), the CPU kernels' instruction-set path (isa; forced by\n"
            "TCET_CPU_ISA=generic|avx2|avx512|avx512-vpopcntdq; TCET_CPU_CONV=auto|onednn|im2col\n"
            "picks which convolutions run in oneDNN), and time by phase.\n\n"
            "  STRUCT...           structure strings or @file (in addition to --structures)\n"
            "  --structures LIST   comma-separated names: init, zennet-1m, zennet-2m\n"
            "                      (default: zennet-1m when no STRUCT is given)\n"
            "  --proxies LIST      comma-separated proxies (default tcet-snip,tcet-synflow)\n"
            "  --batch-size N      images per batch (default 64)\n"
            "  --resolution R      input resolution (default 32; also --input-image-size)\n"
            "  --num-classes C     classifier width (default 100)\n"
            "  --threads T         CPU threads (default 1)\n"
            "  --repeat K          timed candidates per structure and proxy (default 5)\n"
            "  --warmup W          untimed candidates first (default 1)\n"
            "  --seed S            run seed (default 1)\n"
            "  --backend B         auto (default), cpu, cuda\n"
            "  --lanes LIST        also measure throughput with K candidates in flight, for each\n"
            "                      K of the comma-separated LIST (e.g. 1,2,4): K lanes, each a\n"
            "                      thread with its own backend (GPU: own stream), score\n"
            "                      K x --repeat candidates; reports candidates/s and speedup\n"
            "  --gamma, --mode, --same-batch, --precision   as for 'tcet score'\n"
            "  --no-sgemm          skip the cblas_sgemm reference measurement\n"
            "  --json              machine-readable output\n\n"
            "Effective GFLOP/s = 2 x reference mult-adds per image x (batch [NASWOT forward]\n"
            "+ 3 x batch [SNIP forward + backward] or + 3 [Synflow, one image]) / median time.\n"
            "Data are synthetic (N(0,1) images).  exit codes: 0 ok, 1 a candidate failed\n"
            "(one too large for the memory left included), 2 usage, 6 backend failure\n");
}

/* Best-of-3 rate of a 1024^3 cblas_sgemm in GFLOP/s (with the thread count
 * the backend set). */
static double sgemm_rate(void)
{
    const int n = 1024;
    const size_t nn = (size_t)n * n;
    float *a = xmalloc(nn * sizeof *a), *b = xmalloc(nn * sizeof *b), *c = xmalloc(nn * sizeof *c);
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)((i * 7919u) % 1000u) * 1e-3f - 0.5f;
        b[i] = (float)((i * 104729u) % 1000u) * 1e-3f - 0.5f;
    }
    double best = INFINITY;
    for (int r = 0; r < 3; r++) {
        double t0 = tcet_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double t = tcet_now() - t0;
        if (t < best) best = t;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * (double)n * n / best * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Split a comma list into items (modifies s in place); *n = their number. */
static int split_list(char *s, char **items, int cap, const char *flag, int *n)
{
    *n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (*n == cap) return TCET_FAIL(TCET_ERR_USAGE, "%s: more than %d entries", flag, cap);
        items[(*n)++] = tok;
    }
    if (*n == 0) return TCET_FAIL(TCET_ERR_USAGE, "%s: empty list", flag);
    return 0;
}

static int add_named(bench_struct *sts, int *ns, const char *name)
{
    for (int k = 0; k < NKNOWN; k++) {
        if (strcmp(name, known[k].name) != 0) continue;
        if (*ns == BENCH_MAX_ITEMS) return TCET_FAIL(TCET_ERR_USAGE, "too many structures");
        bench_struct *b = &sts[(*ns)++];
        snprintf(b->label, sizeof b->label, "%s", name);
        tcet_parse_error pe;
        if (tcet_arch_parse(known[k].structure, &b->arch, &pe))
            return TCET_FAIL(TCET_ERR_RUNTIME, "built-in structure %s does not parse: %s", name, pe.msg);
        return 0;
    }
    return TCET_FAIL(TCET_ERR_USAGE, "--structures: unknown name '%s' (init, zennet-1m, zennet-2m; "
                     "give other structures as arguments)", name);
}

/* Reference FLOPs (2 per mult-add) of one candidate of this proxy. */
static double candidate_flops(const tcet_arch *a, int proxy, int batch, int classes, int res)
{
    tcet_counts c;
    if (tcet_count(a, 0, classes, res, &c)) return NAN;
    double per_image = 2.0 * c.flops;
    switch (proxy) {
    case TCET_PROXY_TCET_SNIP: return per_image * (batch + 3.0 * batch);
    case TCET_PROXY_TCET_SYNFLOW: return per_image * (batch + 3.0);
    case TCET_PROXY_NASWOT_LAYERWISE: return per_image * batch;
    case TCET_PROXY_SNIP:
    case TCET_PROXY_GRADNORM:
    case TCET_PROXY_GRADNORM_ZC: return per_image * 3.0 * batch;
    case TCET_PROXY_SYNFLOW: return per_image * 3.0;
    default: return NAN; /* no meaningful reference for the others */
    }
}

static int run_one(tcet_backend *be, const tcet_score_config *base, const bench_struct *st, int proxy,
                   int repeat, int warmup, bench_row *row)
{
    tcet_score_config cfg = *base;
    cfg.proxy = proxy;
    tcet_scorer *sc = NULL;
    TCET_TRY(tcet_scorer_create(&cfg, be, &sc));
    tcet_scorer_profile_enable(sc, 1);
    memset(row, 0, sizeof *row);
    row->st = st;
    row->proxy = proxy;
    row->ref_flops = candidate_flops(&st->arch, proxy, cfg.batch_size, cfg.num_classes, cfg.resolution);
    double *t = xmalloc((size_t)repeat * sizeof *t);
    tcet_score_result res;
    /* warm-up ids follow the timed ones so that the timed ids are 0..repeat-1 */
    for (int w = 0; w < warmup; w++) {
        tcet_scorer_score(sc, (uint64_t)(repeat + w), &st->arch, &res);
        if (res.r.status == TCET_CAND_FAILED) break;
    }
    for (int r = 0; r < repeat; r++) {
        tcet_scorer_score(sc, (uint64_t)r, &st->arch, &res);
        if (res.r.status == TCET_CAND_FAILED) {
            fprintf(stderr, "tcet: bench: %s / %s candidate %d failed: %s\n", st->label,
                    tcet_proxy_name(proxy), r, res.r.reason);
            row->failed = 1;
        }
        if (r == 0) row->score = res.r.raw;
        t[r] = res.r.seconds;
        const tcet_profile *p = tcet_scorer_profile(sc);
        for (int ph = 0; ph < TCET_PH_COUNT; ph++) row->phase[ph] += p->sec[ph] / repeat;
    }
    qsort(t, (size_t)repeat, sizeof *t, cmp_double);
    row->min = t[0];
    row->max = t[repeat - 1];
    row->median = repeat % 2 ? t[repeat / 2] : 0.5 * (t[repeat / 2 - 1] + t[repeat / 2]);
    row->gflops = row->ref_flops / row->median * 1e-9;
    free(t);
    tcet_scorer_destroy(sc);
    return 0;
}

/* K lanes score K x repeat candidates (after K untimed warm-ups that grow
 * every lane's arenas); candidates/s = candidates / wall time. */
static int run_lanes(const char *backend, int threads, const tcet_score_config *base, const bench_struct *st,
                     int proxy, int k, int repeat, lanes_row *row)
{
    tcet_score_config cfg = *base;
    cfg.proxy = proxy;
    tcet_lanes *pool = NULL;
    TCET_TRY(tcet_lanes_create(k, backend, 0, threads, &cfg, NULL, &pool));
    char sbuf[TCET_MAX_STRUCT + 1];
    tcet_arch_print(&st->arch, sbuf, sizeof sbuf);
    int n = k * repeat;
    tcet_lane_task *tasks = xmalloc((size_t)n * sizeof *tasks);
    tcet_cand_result *res = xmalloc((size_t)n * sizeof *res);
    for (int i = 0; i < n; i++) /* warm-up ids after the timed ones, as in run_one */
        tasks[i] = (tcet_lane_task){.id = (uint64_t)(i < k ? n + i : i - k), .structure = sbuf,
                                    .len = (int)strlen(sbuf)};
    tcet_lanes_start(pool, tasks, k, res);
    while (!tcet_lanes_wait(pool, 1.0)) {}
    for (int i = 0; i < n; i++) tasks[i].id = (uint64_t)i;
    double t0 = tcet_now();
    tcet_lanes_start(pool, tasks, n, res);
    while (!tcet_lanes_wait(pool, 1.0)) {}
    double dt = tcet_now() - t0;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++)
        if (res[i].status == TCET_CAND_FAILED)
            rc = TCET_FAIL(TCET_ERR_RUNTIME, "bench: %s / %s with %d lanes: candidate %d failed: %s", st->label,
                           tcet_proxy_name(proxy), k, i, res[i].reason);
    *row = (lanes_row){.st = st, .proxy = proxy, .lanes = k, .candidates = n, .seconds = dt,
                       .per_second = n / dt, .speedup = NAN};
    free(tasks);
    free(res);
    tcet_lanes_destroy(pool);
    return rc;
}

static void print_lanes_text(const lanes_row *rows, int nrows)
{
    if (!nrows) return;
    printf("\nthroughput with lanes (candidates in flight per worker rank):\n");
    printf("%-12s %-13s %6s %11s %9s %9s %12s\n", "structure", "proxy", "lanes", "candidates", "wall_s",
           "cand/s", "speedup");
    for (int i = 0; i < nrows; i++) {
        const lanes_row *r = &rows[i];
        printf("%-12s %-13s %6d %11d %9.3f %9.2f", r->st->label, tcet_proxy_name(r->proxy), r->lanes,
               r->candidates, r->seconds, r->per_second);
        if (isnan(r->speedup)) printf(" %12s\n", "-");
        else printf(" %11.2fx\n", r->speedup);
    }
}

/* The CPU model and the kernels' path ("-" for a GPU backend's kernels). */
static const char *bench_isa(const tcet_backend *be)
{
    return strcmp(be->name, "cpu") ? NULL : tcet_cpu_isa_name(tcet_cpu_isa_of(be));
}

static double sgemm_fraction(double gflops, double sgemm) { return sgemm > 0 ? gflops / sgemm : NAN; }

static void print_text(const tcet_backend *be, const tcet_score_config *cfg, int threads, int repeat,
                       const double sgemm[3], const bench_row *rows, int nrows)
{
    char model[96];
    tcet_cpu_model(model, sizeof model);
    printf("backend  %s\n", be->device);
    printf("dataset  synthetic (N(0,1) images, uniform random labels)\n");
    char blas[128];
    tcet_cpu_blas_core_describe(blas, sizeof blas);
    printf("cpu      %s; kernels: %s; OpenBLAS kernels: %s\n", model, bench_isa(be) ? bench_isa(be) : "GPU", blas);
    printf("setup    batch %d, resolution %d, %d classes, %d thread%s, %d candidates per row "
           "(median / min / max), synthetic data\n",
           cfg->batch_size, cfg->resolution, cfg->num_classes, threads, threads == 1 ? "" : "s", repeat);
    if (sgemm[0] > 0)
        printf("sgemm    cblas_sgemm 1024^3: %.1f GFLOP/s (before %.1f, after %.1f)\n", sgemm[0], sgemm[1], sgemm[2]);
    printf("\n%-12s %-13s %9s %9s %9s %9s %7s %10s %s\n", "structure", "proxy", "median_s", "min_s", "max_s",
           "GFLOP/s", "%sgemm", "ref_GFLOP", "isa");
    for (int i = 0; i < nrows; i++) {
        const bench_row *r = &rows[i];
        const double f = sgemm_fraction(r->gflops, sgemm[0]);
        printf("%-12s %-13s %9.4f %9.4f %9.4f %9.1f", r->st->label, tcet_proxy_name(r->proxy), r->median, r->min,
               r->max, r->gflops);
        if (isnan(f)) printf(" %7s", "-");
        else printf(" %6.1f%%", 100.0 * f);
        printf(" %10.2f %s%s\n", r->ref_flops * 1e-9, bench_isa(be) ? bench_isa(be) : "-",
               r->failed ? "  FAILED" : "");
    }
    printf("\ntime by phase (mean seconds per candidate):\n%-12s %-13s", "structure", "proxy");
    for (int ph = 0; ph < TCET_PH_COUNT; ph++) printf(" %12s", tcet_phase_name(ph));
    printf("\n");
    for (int i = 0; i < nrows; i++) {
        printf("%-12s %-13s", rows[i].st->label, tcet_proxy_name(rows[i].proxy));
        for (int ph = 0; ph < TCET_PH_COUNT; ph++) printf(" %12.4f", rows[i].phase[ph]);
        printf("\n");
    }
}

static void print_json(const tcet_backend *be, const tcet_score_config *cfg, int threads, int repeat,
                       int warmup, const double sgemm[3], const bench_row *rows, int nrows,
                       const lanes_row *lrows, int nlrows)
{
    char model[96];
    tcet_cpu_model(model, sizeof model);
    tcet_json j;
    json_begin(&j, stdout, 1);
    json_obj_open(&j, NULL);
    json_str(&j, "backend", be->name);
    json_str(&j, "device", be->device);
    json_str(&j, "dataset", "synthetic");
    json_str(&j, "cpu_model", model);
    if (bench_isa(be)) json_str(&j, "isa", bench_isa(be));
    else json_null(&j, "isa");
    char blas[128];
    tcet_cpu_blas_core_describe(blas, sizeof blas);
    json_str(&j, "blas_core", blas);
    json_int(&j, "batch_size", cfg->batch_size);
    json_int(&j, "resolution", cfg->resolution);
    json_int(&j, "num_classes", cfg->num_classes);
    json_int(&j, "threads", threads);
    json_int(&j, "repeat", repeat);
    json_int(&j, "warmup", warmup);
    if (sgemm[0] > 0) {
        json_num(&j, "sgemm_gflops", sgemm[0]);
        json_num(&j, "sgemm_gflops_before", sgemm[1]);
        json_num(&j, "sgemm_gflops_after", sgemm[2]);
    } else {
        json_null(&j, "sgemm_gflops");
    }
    json_arr_open(&j, "results");
    for (int i = 0; i < nrows; i++) {
        const bench_row *r = &rows[i];
        char sbuf[TCET_MAX_STRUCT + 1];
        tcet_arch_print(&r->st->arch, sbuf, sizeof sbuf);
        json_obj_open(&j, NULL);
        json_str(&j, "name", r->st->label);
        json_str(&j, "structure", sbuf);
        json_str(&j, "proxy", tcet_proxy_name(r->proxy));
        json_bool(&j, "failed", r->failed);
        json_num(&j, "score", r->score);
        json_num(&j, "ref_flops", r->ref_flops);
        json_num(&j, "median_s", r->median);
        json_num(&j, "min_s", r->min);
        json_num(&j, "max_s", r->max);
        json_num(&j, "gflops", r->gflops);
        const double f = sgemm_fraction(r->gflops, sgemm[0]);
        if (isnan(f)) json_null(&j, "sgemm_fraction");
        else json_num(&j, "sgemm_fraction", f);
        json_obj_open(&j, "phases");
        for (int ph = 0; ph < TCET_PH_COUNT; ph++) json_num(&j, tcet_phase_name(ph), r->phase[ph]);
        json_obj_close(&j);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_arr_open(&j, "throughput");
    for (int i = 0; i < nlrows; i++) {
        const lanes_row *r = &lrows[i];
        json_obj_open(&j, NULL);
        json_str(&j, "name", r->st->label);
        json_str(&j, "proxy", tcet_proxy_name(r->proxy));
        json_int(&j, "lanes", r->lanes);
        json_int(&j, "candidates", r->candidates);
        json_num(&j, "seconds", r->seconds);
        json_num(&j, "per_second", r->per_second);
        if (isnan(r->speedup)) json_null(&j, "speedup");
        else json_num(&j, "speedup", r->speedup);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_obj_close(&j);
    json_end(&j);
}

/* The scoring flags (score_args.h), then the structures named on the
 * command line (any number of positionals, not starting with "--"). */
typedef struct {
    score_common common;
    const char **extra;
    int *nextra;
} bench_args;

static int bench_hook(int argc, char **argv, int *i, void *ctx)
{
    bench_args *b = ctx;
    int r = score_common_hook(argc, argv, i, &b->common);
    const char *a = argv[*i];
    if (r != 0 || (a[0] == '-' && a[1] == '-')) return r;
    if (*b->nextra == BENCH_MAX_ITEMS) {
        TCET_FAIL(TCET_ERR_USAGE, "at most %d structures", BENCH_MAX_ITEMS);
        return -1;
    }
    b->extra[(*b->nextra)++] = a;
    return 1;
}

int cmd_bench(int argc, char **argv)
{
    const char *backend = "auto";
    char *structures = NULL, *proxies = NULL, *lane_list = NULL;
    const char *extra[BENCH_MAX_ITEMS];
    int nextra = 0;
    tcet_score_config cfg;
    score_config_defaults(&cfg);
    int threads = 1, repeat = 5, warmup = 1, json = 0, do_sgemm = 1, rc = 0;
    const char *structures_arg = NULL, *proxies_arg = NULL, *lanes_arg = NULL;
    const arg_spec flags[] = {
        {"--json", ARG_SWITCH, &json, 1, 0, NULL},           {"--no-sgemm", ARG_SWITCH, &do_sgemm, 0, 0, NULL},
        {"--structures", ARG_STR, &structures_arg, 0, 0, NULL}, {"--proxies", ARG_STR, &proxies_arg, 0, 0, NULL},
        {"--lanes", ARG_STR, &lanes_arg, 0, 0, NULL},        {"--repeat", ARG_INT, &repeat, 1, 100000, NULL},
        {"--warmup", ARG_INT, &warmup, 0, 100000, NULL},
    };
    bench_args ba = {{&cfg, &backend, &threads}, extra, &nextra};
    int help = 0;
    if (arg_parse("bench", argc, argv, flags, (int)(sizeof flags / sizeof flags[0]), bench_hook, &ba, NULL, NULL,
                  &help))
        goto fail;
    if (help) {
        usage(stdout);
        return 0;
    }
    /* split_list cuts its argument in place */
    if (structures_arg) structures = xstrdup(structures_arg);
    if (proxies_arg) proxies = xstrdup(proxies_arg);
    if (lanes_arg) lane_list = xstrdup(lanes_arg);

    bench_struct *sts = xcalloc(BENCH_MAX_ITEMS, sizeof *sts);
    bench_row *rows = NULL;
    int ns = 0, np = 0, nrows = 0;
    int plist[TCET_PROXY_COUNT];
    int klist[BENCH_MAX_LANE_COUNTS], nk = 0, nlrows = 0;
    lanes_row *lrows = NULL;
    tcet_backend *be = NULL;
    if (!structures && nextra == 0) structures = xstrdup("zennet-1m");
    if (structures) {
        char *items[BENCH_MAX_ITEMS];
        int n;
        if ((rc = split_list(structures, items, BENCH_MAX_ITEMS, "--structures", &n)) != 0) goto out;
        for (int k = 0; k < n; k++)
            if ((rc = add_named(sts, &ns, items[k])) != 0) goto out;
    }
    for (int k = 0; k < nextra; k++) {
        if (ns == BENCH_MAX_ITEMS) {
            rc = TCET_FAIL(TCET_ERR_USAGE, "at most %d structures", BENCH_MAX_ITEMS);
            goto out;
        }
        bench_struct *b = &sts[ns];
        if ((rc = tcet_arch_load(extra[k], &b->arch)) != 0) goto out;
        snprintf(b->label, sizeof b->label, "arg%d", k + 1);
        ns++;
    }
    {
        if (!proxies) proxies = xstrdup("tcet-snip,tcet-synflow");
        char *items[TCET_PROXY_COUNT];
        int n;
        if ((rc = split_list(proxies, items, TCET_PROXY_COUNT, "--proxies", &n)) != 0) goto out;
        for (int k = 0; k < n; k++) {
            if ((plist[np] = score_parse_proxy(items[k])) < 0) {
                rc = TCET_ERR_USAGE;
                goto out;
            }
            np++;
        }
    }
    if (lane_list) {
        char *items[BENCH_MAX_LANE_COUNTS];
        if ((rc = split_list(lane_list, items, BENCH_MAX_LANE_COUNTS, "--lanes", &nk)) != 0) goto out;
        for (int k = 0; k < nk; k++)
            if ((rc = arg_int("--lanes", items[k], 1, TCET_MAX_LANES, &klist[k])) != 0) goto out;
    }
    if ((rc = tcet_backend_create_checked(backend, 0, threads, &be)) != 0) goto out;
    double sgemm[3] = {0.0, 0.0, 0.0}; /* the higher, before, after */
    if (do_sgemm) sgemm[1] = sgemm_rate();
    rows = xcalloc((size_t)ns * (size_t)np, sizeof *rows);
    int any_failed = 0;
    for (int s = 0; s < ns; s++)
        for (int p = 0; p < np; p++) {
            if ((rc = run_one(be, &cfg, &sts[s], plist[p], repeat, warmup, &rows[nrows])) != 0) goto out;
            any_failed |= rows[nrows].failed;
            nrows++;
        }
    if (do_sgemm) {
        sgemm[2] = sgemm_rate();
        sgemm[0] = sgemm[1] > sgemm[2] ? sgemm[1] : sgemm[2];
    }
    lrows = xcalloc((size_t)ns * (size_t)np * (size_t)(nk ? nk : 1), sizeof *lrows);
    for (int s = 0; s < ns; s++)
        for (int p = 0; p < np; p++) {
            int first = nlrows;
            for (int k = 0; k < nk; k++) {
                if ((rc = run_lanes(backend, threads, &cfg, &sts[s], plist[p], klist[k], repeat, &lrows[nlrows])) != 0)
                    goto out;
                nlrows++;
            }
            for (int i = first; i < nlrows; i++)
                for (int b = first; b < nlrows; b++)
                    if (lrows[b].lanes == 1) lrows[i].speedup = lrows[i].per_second / lrows[b].per_second;
        }
    if (json) print_json(be, &cfg, threads, repeat, warmup, sgemm, rows, nrows, lrows, nlrows);
    else {
        print_text(be, &cfg, threads, repeat, sgemm, rows, nrows);
        print_lanes_text(lrows, nlrows);
    }
    if (any_failed) rc = TCET_ERR_RUNTIME;
out:
    if (rc && tcet_error_code()) tcet_error_print();
    if (be) be->destroy(be);
    free(rows);
    free(lrows);
    free(sts);
    free(structures);
    free(proxies);
    free(lane_list);
    return rc;
fail:
    tcet_error_print();
    free(structures);
    free(proxies);
    free(lane_list);
    return tcet_error_code() ? tcet_error_code() : TCET_ERR_USAGE;
}
