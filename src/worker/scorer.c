/* Scoring one candidate (docs/semantics.md#the-t-cet-score, docs/semantics.md#baseline-proxies, docs/semantics.md#non-finite-scores): proxy dispatch, the per-run
 * NASWOT batch, per-candidate batches and networks, and the failure policy.
 *
 * Everything that grows (networks, batches, per-layer results) is owned by
 * the scorer and reused across candidates, so a worker's memory reaches a
 * steady state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/plan.h"
#include "common/rng.h"
#include "worker/memcheck.h"
#include "worker/profile.h"
#include "worker/proxies.h"
#include "worker/scorer.h"

/* The table of proxy functions (NULL: an id outside tcet_proxy). */
static tcet_proxy_fn proxy_fn(int proxy)
{
    switch (proxy) {
    case TCET_PROXY_TCET_SNIP: return proxy_tcet_snip;
    case TCET_PROXY_TCET_SYNFLOW: return proxy_tcet_synflow;
    case TCET_PROXY_NASWOT_LAYERWISE: return proxy_naswot_layerwise;
    case TCET_PROXY_SNIP: return proxy_snip;
    case TCET_PROXY_SYNFLOW: return proxy_synflow;
    case TCET_PROXY_PARAMS: return proxy_params;
    case TCET_PROXY_FLOPS: return proxy_flops;
    case TCET_PROXY_RANDOM: return proxy_random;
    case TCET_PROXY_NASWOT: return proxy_naswot;
    case TCET_PROXY_SYNFLOW_ZENNAS: return proxy_synflow_zennas;
    case TCET_PROXY_GRADNORM: return proxy_gradnorm;
    case TCET_PROXY_GRADNORM_ZC: return proxy_gradnorm_zc;
    case TCET_PROXY_ZEN: return proxy_zen;
    case TCET_PROXY_TE_NAS: return proxy_te_nas;
    case TCET_PROXY_ZICO: return proxy_zico;
    default: return NULL;
    }
}

/* Proxies that need no network at all (reference counters, one draw). */
static int proxy_needs_net(int proxy)
{
    return proxy != TCET_PROXY_PARAMS && proxy != TCET_PROXY_FLOPS && proxy != TCET_PROXY_RANDOM;
}

struct tcet_scorer {
    tcet_score_config cfg;
    tcet_backend *be;
    tcet_dataset *own_data;       /* synthetic set opened when cfg.data is NULL */
    const tcet_dataset *data;
    const tcet_golden *golden;
    tcet_net net, aux;
    tcet_plan plan;
    int plan_built;
    float *x, *x_naswot;          /* host batches */
    int32_t *labels, *labels_naswot;
    int naswot_ready;
    tcet_layer_score *layers;
    int layers_cap;
    tcet_host_scratch scratch;    /* the proxies' host buffers (proxy_baseline.h) */
    tcet_profile prof;            /* phases of the last candidate (profile.h) */
    int prof_on;
};

int tcet_scorer_create(const tcet_score_config *cfg, tcet_backend *be, tcet_scorer **out)
{
    *out = NULL;
    if (cfg->proxy < 0 || cfg->proxy >= TCET_PROXY_COUNT)
        return TCET_FAIL(TCET_ERR_USAGE, "unknown proxy #%d", cfg->proxy);
    if (cfg->batch_size < 1 || cfg->resolution < 1 || cfg->num_classes < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "batch size, resolution and classes must be >= 1 "
                         "(got %d, %d, %d)", cfg->batch_size, cfg->resolution, cfg->num_classes);
    if (cfg->dtype != TCET_F32 && cfg->dtype != TCET_F64)
        return TCET_FAIL(TCET_ERR_USAGE, "scoring precision must be float32 or float64");
    if (cfg->dtype == TCET_F64 && cfg->proxy == TCET_PROXY_TE_NAS)
        return TCET_FAIL(TCET_ERR_USAGE, "te-nas has no float64 path: its NTK and condition number are "
                         "float32 by definition (score it with --precision float32)");
    tcet_scorer *sc = xcalloc(1, sizeof *sc);
    sc->cfg = *cfg;
    sc->be = be;
    sc->data = cfg->data; /* NULL: synthetic, opened at the first batch (not for golden files) */
    size_t img = (size_t)3 * (size_t)cfg->resolution * (size_t)cfg->resolution;
    sc->x = xmalloc(img * (size_t)cfg->batch_size * sizeof(float));
    sc->x_naswot = xmalloc(img * (size_t)cfg->batch_size * sizeof(float));
    sc->labels = xmalloc((size_t)cfg->batch_size * sizeof(int32_t));
    sc->labels_naswot = xmalloc((size_t)cfg->batch_size * sizeof(int32_t));
    *out = sc;
    return 0;
}

void tcet_scorer_set_golden(tcet_scorer *sc, const tcet_golden *g)
{
    sc->golden = g;
    /* the file's network: with shortcuts iff it was built with no_reslink = False */
    if (g) sc->cfg.reslink = !g->no_reslink;
}

void tcet_scorer_destroy(tcet_scorer *sc)
{
    if (!sc) return;
    tcet_net_free(&sc->net);
    tcet_net_free(&sc->aux);
    if (sc->plan_built) tcet_plan_free(&sc->plan);
    if (sc->own_data) tcet_dataset_close(sc->own_data);
    free(sc->x);
    free(sc->x_naswot);
    free(sc->labels);
    free(sc->labels_naswot);
    free(sc->layers);
    for (int i = 0; i < TCET_SCRATCH_SLOTS; i++) free(sc->scratch.buf[i]);
    free(sc);
}

void tcet_scorer_profile_enable(tcet_scorer *sc, int on) { sc->prof_on = on != 0; }

const tcet_profile *tcet_scorer_profile(const tcet_scorer *sc) { return &sc->prof; }

size_t tcet_scorer_memory(const tcet_scorer *sc)
{
    return tcet_net_arena_bytes(&sc->net) + tcet_net_arena_bytes(&sc->aux);
}

/* TCET_INJECT_FAILURES="ID:error,ID:nan,...": test hook for the search
 * ("all" as the ID: every candidate). */
static int injected(uint64_t id)
{
    const char *env = getenv("TCET_INJECT_FAILURES");
    if (!env || !*env) return 0;
    const char *p = env;
    while (*p) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        int all = strncmp(p, "all:", 4) == 0;
        if (all) end = (char *)p + 3;
        if ((end != p && *end == ':') || all) {
            const char *kind = end + 1;
            if (v == id || all) {
                if (strncmp(kind, "error", 5) == 0) return 1;
                if (strncmp(kind, "nan", 3) == 0) return 2;
            }
        }
        const char *comma = strchr(p, ',');
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

/* Host batches of this candidate (and, once per run, the NASWOT batch). */
static int prepare_batches(tcet_scorer *sc, uint64_t id, tcet_proxy_ctx *ctx)
{
    int n = sc->cfg.batch_size;
    if (sc->golden) {
        ctx->n = ctx->n_naswot = sc->golden->batch_size;
        ctx->x = ctx->x_naswot = sc->golden->input;
        ctx->labels = sc->golden->labels;
        return 0;
    }
    if (!sc->data) {
        TCET_TRY(tcet_dataset_open("synthetic", NULL, sc->cfg.resolution, sc->cfg.num_classes,
                                   &sc->own_data));
        sc->data = sc->own_data;
    }
    ctx->n = n;
    /* only for the proxies that read it: T-CET(Synflow) feeds ones (the reference fetches a batch
     * there and leaves it unused, docs/semantics.md#the-t-cet-score); batches are keyed by
     * candidate id, so skipping one changes no other candidate's */
    if (tcet_config_proxy_reads_batch(sc->cfg.proxy, sc->cfg.same_batch)) {
        TCET_TRY(tcet_dataset_batch(sc->data, sc->cfg.seed, TCET_STREAM_BATCH, id, n, sc->x, sc->labels));
        ctx->x = sc->x;
        ctx->labels = sc->labels;
    }
    if (sc->cfg.same_batch) {
        ctx->x_naswot = sc->x;
        ctx->n_naswot = n;
        return 0;
    }
    if (!sc->naswot_ready) {
        TCET_TRY(tcet_dataset_batch(sc->data, sc->cfg.seed, TCET_STREAM_NASWOT, 0, n,
                                    sc->x_naswot, sc->labels_naswot));
        sc->naswot_ready = 1;
    }
    ctx->x_naswot = sc->x_naswot;
    ctx->n_naswot = n;
    return 0;
}

size_t tcet_scorer_estimate(tcet_scorer *sc, const tcet_arch *arch, int n, const tcet_plan *plan)
{
    size_t arena = 0, host = 0, total = 0;
    if (tcet_net_estimate(sc->be, plan, sc->cfg.dtype, n, &arena, &host) == 0) total += arena + host;
    int p = sc->cfg.proxy;
    if (p == TCET_PROXY_TCET_SYNFLOW || p == TCET_PROXY_SYNFLOW_ZENNAS || p == TCET_PROXY_ZICO) {
        /* the second network: float64 at batch 1 (Synflow), float32 at half the batch (ZiCo) */
        tcet_plan aux;
        tcet_plan_opts o = {.reslink = sc->cfg.reslink != 0, .bn = p != TCET_PROXY_TCET_SYNFLOW,
                            .num_classes = sc->cfg.num_classes, .resolution = sc->cfg.resolution};
        if (tcet_plan_build(arch, &o, &aux) == 0) {
            int zico = p == TCET_PROXY_ZICO;
            if (tcet_net_estimate(sc->be, &aux, zico ? sc->cfg.dtype : TCET_F64, zico ? (n + 1) / 2 : 1, &arena, &host) == 0)
                total += arena + host;
            tcet_plan_free(&aux);
        }
    }
    return total;
}

/* Refuse a candidate whose networks cannot fit in the memory left (cgroup
 * limit, MemAvailable, TCET_MEMORY_LIMIT): a clean -9999 with the sizes
 * instead of an allocation failure deep inside, or the kernel's OOM killer
 * (which ends the whole worker without a word). */
static int memory_check(tcet_scorer *sc, const tcet_arch *arch, int n)
{
    size_t need = tcet_scorer_estimate(sc, arch, n, &sc->plan);
    size_t held = tcet_net_arena_bytes(&sc->net) + sc->net.host_tmp_cap * sizeof(double) +
                  tcet_net_arena_bytes(&sc->aux) + sc->aux.host_tmp_cap * sizeof(double);
    if (need <= held) return 0; /* reuses what this scorer already holds */
    char what[64];
    size_t avail, dev_free = 0, dev_total = 0;
    if (sc->be->mem_info && sc->be->mem_info(sc->be, &dev_free, &dev_total) == 0) {
        /* the arenas live on the device: its free memory is the limit
         * (the host scratch is small beside them) */
        avail = dev_free;
        snprintf(what, sizeof what, "free on the GPU");
    } else {
        tcet_error_clear();
        avail = tcet_memory_available(what, sizeof what);
    }
    if (need - held <= avail) return 0;
    return TCET_FAIL(TCET_ERR_NOMEM, "out of memory: needs %.3g GB, has %.3g GB (%s; batch %d)", (double)need / 1e9,
                     (double)(avail + held) / 1e9, what, n);
}

/* The scoring network of this candidate: F32 (F64 with --precision float64), BN, shortcuts iff
 * cfg.reslink, default init keyed by (seed, WEIGHTS, id), or the golden
 * weights. */
static int prepare_net(tcet_scorer *sc, uint64_t id, const tcet_arch *arch, int n)
{
    if (sc->plan_built) {
        tcet_plan_free(&sc->plan);
        sc->plan_built = 0;
    }
    tcet_plan_opts o = {.reslink = sc->cfg.reslink != 0, .bn = 1, .num_classes = sc->cfg.num_classes,
                        .resolution = sc->cfg.resolution};
    TCET_TRY(tcet_plan_build(arch, &o, &sc->plan));
    sc->plan_built = 1;
    TCET_TRY(memory_check(sc, arch, n));
    TCET_TRY(tcet_net_build(&sc->net, sc->be, &sc->plan, sc->cfg.dtype, n));
    if (sc->golden) {
        const float **arrays;
        size_t *counts;
        tcet_golden_param_arrays(sc->golden->params, sc->golden->nparams, &arrays, &counts);
        int rc = tcet_net_load_params(&sc->net, sc->golden->nparams, arrays, counts);
        free(arrays);
        free(counts);
        if (rc) return tcet_trace(rc, __FILE__, __LINE__, "loading the golden /params");
    } else {
        tcet_rng r;
        tcet_rng_seed(&r, sc->cfg.seed, TCET_STREAM_WEIGHTS, id);
        TCET_TRY(tcet_net_init_default(&sc->net, &r));
    }
    return 0;
}

static void set_reason(tcet_score_result *res, const char *fmt, const char *detail)
{
    snprintf(res->r.reason, sizeof res->r.reason, fmt, detail);
}

void tcet_scorer_score(tcet_scorer *sc, uint64_t cand_id, const tcet_arch *arch,
                       tcet_score_result *res)
{
    double t0 = tcet_now();
    memset(&sc->prof, 0, sizeof sc->prof);
    memset(res, 0, sizeof *res);
    res->id = cand_id;
    res->r.status = TCET_CAND_OK;
    res->r.latency = INFINITY; /* measured by the worker's latency filter (worker/task.h), not here */
    res->layers = NULL;
    tcet_error_clear();

    int inj = injected(cand_id);
    if (inj == 1) {
        res->r.raw = NAN;
        res->r.score = TCET_FAIL_SCORE;
        res->r.status = TCET_CAND_FAILED;
        set_reason(res, "%s", "injected failure");
        res->r.seconds = tcet_now() - t0;
        return;
    }

    int proxy = sc->cfg.proxy;
    tcet_proxy_fn fn = proxy_fn(proxy);
    double raw = NAN;
    int rc = 0;
    if (!fn) {
        res->r.raw = NAN;
        res->r.score = TCET_FAIL_SCORE;
        res->r.status = TCET_CAND_FAILED;
        set_reason(res, "unknown proxy %s", tcet_proxy_name(proxy));
        res->r.seconds = tcet_now() - t0;
        return;
    }

    tcet_proxy_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.be = sc->be;
    ctx.cfg = &sc->cfg;
    ctx.arch = arch;
    ctx.cand_id = cand_id;
    ctx.seed = sc->cfg.seed;
    ctx.net = &sc->net;
    ctx.aux = &sc->aux;
    ctx.golden = sc->golden;
    ctx.scratch = &sc->scratch;

    if (sc->prof_on) tcet_prof_current = &sc->prof;
    double tp = tcet_prof_begin();
    if (proxy_needs_net(proxy)) {
        rc = prepare_batches(sc, cand_id, &ctx);
        ctx.data = sc->data; /* NULL only with a golden file */
        if (rc == 0) rc = prepare_net(sc, cand_id, arch, ctx.n);
        if (rc == 0 && sc->layers_cap < sc->net.nscored) {
            free(sc->layers);
            sc->layers_cap = sc->net.nscored;
            sc->layers = xcalloc((size_t)sc->layers_cap, sizeof *sc->layers);
        }
        ctx.layers = sc->layers;
        ctx.layers_cap = sc->layers_cap;
    }
    tcet_prof_end(TCET_PH_SETUP, tp);
    if (rc == 0) rc = fn(&ctx, &raw);
    tcet_prof_current = NULL;

    if (rc != 0) {
        res->r.raw = NAN;
        res->r.score = TCET_FAIL_SCORE;
        res->r.status = TCET_CAND_FAILED;
        const char *msg = tcet_error_message()[0] ? tcet_error_message() : "proxy failed";
        /* an allocation that failed despite the estimate says so too */
        if (tcet_error_code() == TCET_ERR_NOMEM && strncmp(msg, "out of memory", 13))
            set_reason(res, "out of memory: %s", msg);
        else
            set_reason(res, "%s", msg);
        tcet_error_clear();
    } else {
        if (inj == 2) raw = NAN;
        res->r.raw = raw;
        res->nlayers = ctx.nlayers;
        res->layers = ctx.nlayers > 0 ? sc->layers : NULL;
        if (isfinite(raw)) {
            res->r.score = raw;
        } else {
            res->r.score = TCET_FAIL_SCORE;
            res->r.status = TCET_CAND_NONFINITE;
            set_reason(res, "non-finite score (%s)", isnan(raw) ? "nan" : (raw > 0 ? "inf" : "-inf"));
        }
    }
    res->r.seconds = tcet_now() - t0;
    if (sc->prof_on) {
        double other = res->r.seconds;
        for (int ph = 0; ph < TCET_PH_OTHER; ph++) other -= sc->prof.sec[ph];
        sc->prof.sec[TCET_PH_OTHER] = other > 0 ? other : 0;
    }
}
