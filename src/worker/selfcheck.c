/* Backend self-check against the CPU reference (selfcheck.h). */
#include "worker/selfcheck.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arch.h"
#include "common/error.h"
#include "common/rng.h"
#include "worker/net.h"

/* k3 / k1 / depthwise k3, stride 1 and 2, BN, residual adds with and
 * without projection, GAP, FC: every op kind a search meets. */
#define CHECK_ARCH                                                                                   \
    "SuperConvK3BNRELU(3,16,1,1)SuperResK1K3K1(16,32,2,16,1)SuperResIDWE2K3(32,32,1,16,1)"           \
    "SuperResK3K3(32,48,2,16,1)SuperConvK1BNRELU(48,64,1,1)"
enum { CHECK_BATCH = 8, CHECK_RES = 16, CHECK_CLASSES = 10 };

/* Tolerances: float32 ops in another summation order agree to ~1e-6 in a
 * net this small; saliency sums of products of gradients a little worse.
 * A real fault (a wrong index, a missing ReLU, a stale buffer) is off by
 * far more.  The Gram of sign codes is exact unless an activation lies
 * within round-off of 0, hence a small share of entries may differ. */
#define TOL_F32 1e-4
#define TOL_SAL 1e-3
#define TOL_F64 1e-9
#define GRAM_MAX_SHARE 0.02

typedef struct {
    tcet_backend *be;
    tcet_net net, net64;
} side;

static int disagree(const char *what, double got, double want, double rel, double tol)
{
    return TCET_FAIL(TCET_ERR_BACKEND, "backend self-check failed on %s: %.9g on this backend, %.9g on the "
                     "CPU backend (relative %.2g > %.0e), so this GPU/driver/library combination computes "
                     "something else (hint: report it with `tcet --version` and nvidia-smi; --backend cpu "
                     "works meanwhile; TCET_SKIP_SELFCHECK=1 skips the check)",
                     what, got, want, rel, tol);
}

static double rel_diff(double a, double b, double scale)
{
    double d = fabs(a - b);
    return d == 0 ? 0 : d / (scale > 0 ? scale : fabs(b) > 0 ? fabs(b) : 1.0);
}

/* max |a - b| / max |b| over a tensor of both nets (count elements). */
static int compare_tensor(tcet_net *na, tcet_net *nb, const void *da, const void *db, size_t count,
                          const char *what, double tol)
{
    const double *va;
    TCET_TRY(tcet_net_download_f64(na, da, count, &va));
    double *a = xmalloc(count * sizeof *a);
    memcpy(a, va, count * sizeof *a);
    const double *b;
    int rc = tcet_net_download_f64(nb, db, count, &b);
    if (rc == 0) {
        double scale = 0, worst = 0;
        size_t at = 0;
        for (size_t i = 0; i < count; i++) scale = fmax(scale, fabs(b[i]));
        for (size_t i = 0; i < count; i++) {
            double r = rel_diff(a[i], b[i], scale);
            if (!(r <= worst)) { /* NaN counts as worst */
                worst = r;
                at = i;
            }
        }
        if (!(worst <= tol)) rc = disagree(what, a[at], b[at], worst, tol);
    }
    free(a);
    return rc;
}

static int build_side(side *s, const tcet_arch *arch, const float *x, const int32_t *labels)
{
    TCET_TRY(tcet_net_build_arch_res(&s->net, s->be, arch, 1, 1, CHECK_CLASSES, CHECK_RES, TCET_F32, CHECK_BATCH));
    tcet_rng r;
    tcet_rng_seed(&r, 7, TCET_STREAM_AUX, 0);
    TCET_TRY(tcet_net_init_default(&s->net, &r));
    TCET_TRY(tcet_net_set_input(&s->net, x));
    return tcet_net_set_labels(&s->net, labels);
}

static int check_eval_and_gram(side *g, side *c)
{
    TCET_TRY(tcet_net_forward(&g->net, 0, 0));
    TCET_TRY(tcet_net_forward(&c->net, 0, 0));
    tcet_net_op *lg = &g->net.ops[g->net.nops - 1], *lc = &c->net.ops[c->net.nops - 1];
    TCET_TRY(compare_tensor(&g->net, &c->net, lg->y, lc->y, lc->out_count, "eval-mode logits", TOL_F32));
    const int n = CHECK_BATCH;
    double Kg[CHECK_BATCH * CHECK_BATCH], Kc[CHECK_BATCH * CHECK_BATCH];
    int64_t pg[CHECK_BATCH], pc[CHECK_BATCH];
    long differ = 0, total = 0;
    for (int l = 0; l < c->net.nscored; l++) {
        tcet_net_op *og = tcet_net_layer(&g->net, l), *oc = tcet_net_layer(&c->net, l);
        size_t d = oc->out_count / (size_t)n;
        TCET_TRY(g->be->gram_codes(g->be, n, d, og->y, Kg, pg));
        TCET_TRY(c->be->gram_codes(c->be, n, d, oc->y, Kc, pc));
        for (int i = 0; i < n * n; i++) differ += Kg[i] != Kc[i];
        total += n * n;
    }
    if ((double)differ > GRAM_MAX_SHARE * (double)total)
        return disagree("the NASWOT Gram matrices (share of differing entries)", (double)differ / (double)total,
                        0.0, (double)differ / (double)total, GRAM_MAX_SHARE);
    return 0;
}

/* Per scored layer: saliency sum (and std when with_std) of both nets. */
static int compare_saliency(tcet_backend *bg, tcet_net *ng, tcet_backend *bc, tcet_net *nc, int dt,
                            const char *kind, double tol, int with_std)
{
    for (int l = 0; l < nc->nscored; l++) {
        tcet_net_op *og = tcet_net_layer(ng, l), *oc = tcet_net_layer(nc, l);
        double sg, dg, sc, dc;
        TCET_TRY(bg->saliency_stats(bg, dt, og->w_count, og->w, og->gw, &sg, &dg));
        TCET_TRY(bc->saliency_stats(bc, dt, oc->w_count, oc->w, oc->gw, &sc, &dc));
        char what[192];
        snprintf(what, sizeof what, "the %s saliency sum of layer %d (%s)", kind, l, oc->op.name);
        if (!(rel_diff(sg, sc, 0) <= tol)) return disagree(what, sg, sc, rel_diff(sg, sc, 0), tol);
        snprintf(what, sizeof what, "the %s saliency std of layer %d (%s)", kind, l, oc->op.name);
        if (with_std && !(rel_diff(dg, dc, 0) <= tol)) return disagree(what, dg, dc, rel_diff(dg, dc, 0), tol);
    }
    return 0;
}

static int check_snip(side *g, side *c)
{
    double lossg, lossc;
    TCET_TRY(tcet_net_forward(&g->net, 1, 0));
    TCET_TRY(tcet_net_forward(&c->net, 1, 0));
    TCET_TRY(tcet_net_xent(&g->net, &lossg));
    TCET_TRY(tcet_net_xent(&c->net, &lossc));
    if (!(rel_diff(lossg, lossc, 0) <= TOL_F32))
        return disagree("the train-mode cross-entropy", lossg, lossc, rel_diff(lossg, lossc, 0), TOL_F32);
    TCET_TRY(tcet_net_backward(&g->net, 0));
    TCET_TRY(tcet_net_backward(&c->net, 0));
    /* the first conv's data gradient ran too (skip_input_grad = 0) */
    return compare_saliency(g->be, &g->net, c->be, &c->net, TCET_F32, "SNIP", TOL_SAL, 1);
}

static int check_synflow(side *g, side *c, const tcet_arch *arch)
{
    side *s[2] = {g, c};
    for (int i = 0; i < 2; i++) {
        TCET_TRY(tcet_net_build_arch_res(&s[i]->net64, s[i]->be, arch, 0, 1, CHECK_CLASSES, CHECK_RES, TCET_F64, 1));
        TCET_TRY(tcet_net_copy_params(&s[i]->net64, &s[i]->net, 1));
        TCET_TRY(tcet_net_set_input_ones(&s[i]->net64));
        TCET_TRY(tcet_net_forward(&s[i]->net64, 1, 0));
        TCET_TRY(tcet_net_dlogits_ones(&s[i]->net64));
        TCET_TRY(tcet_net_backward(&s[i]->net64, 1));
    }
    return compare_saliency(g->be, &g->net64, c->be, &c->net64, TCET_F64, "float64 Synflow", TOL_F64, 0);
}

int tcet_backend_selfcheck(tcet_backend *be)
{
    tcet_arch arch;
    tcet_parse_error pe;
    if (tcet_arch_parse(CHECK_ARCH, &arch, &pe))
        return TCET_FAIL(TCET_ERR_RUNTIME, "self-check structure does not parse: %s", pe.msg);
    side g = {.be = be}, c = {.be = tcet_backend_cpu_create(1)};
    if (!c.be) return tcet_trace(tcet_error_code(), __FILE__, __LINE__, "CPU reference of the self-check");
    const size_t nx = (size_t)CHECK_BATCH * 3 * CHECK_RES * CHECK_RES;
    float *x = xmalloc(nx * sizeof *x);
    int32_t labels[CHECK_BATCH];
    tcet_rng r;
    tcet_rng_seed(&r, 7, TCET_STREAM_AUX, 1);
    for (size_t i = 0; i < nx; i++) x[i] = (float)tcet_rng_normal(&r);
    for (int i = 0; i < CHECK_BATCH; i++) labels[i] = i % CHECK_CLASSES;
    int rc = build_side(&g, &arch, x, labels);
    if (rc == 0) rc = build_side(&c, &arch, x, labels);
    if (rc == 0) rc = check_eval_and_gram(&g, &c);
    if (rc == 0) rc = check_snip(&g, &c);
    if (rc == 0) rc = check_synflow(&g, &c, &arch);
    tcet_net_free(&g.net);
    tcet_net_free(&g.net64);
    tcet_net_free(&c.net);
    tcet_net_free(&c.net64);
    c.be->destroy(c.be);
    free(x);
    return rc;
}

int tcet_backend_create_checked(const char *which, int device, int threads, tcet_backend **out)
{
    /* 0 not run, 1 passed, 2 failed: a process runs it once (lanes create
     * several backends on the same device). */
    static atomic_int verdict = 0;
    TCET_TRY(tcet_backend_create(which, device, threads, out));
    tcet_backend *be = *out;
    const char *skip = getenv("TCET_SKIP_SELFCHECK");
    if (!strcmp(be->name, "cpu") || (skip && !strcmp(skip, "1"))) return 0;
    int v = atomic_load(&verdict);
    int rc = 0;
    if (v == 0) {
        rc = tcet_backend_selfcheck(be);
        v = rc == 0 ? 1 : 2;
        atomic_store(&verdict, v);
        if (rc && rc != TCET_ERR_BACKEND) { /* could not run it at all (memory, ...) */
            be->destroy(be);
            *out = NULL;
            return tcet_trace(rc, __FILE__, __LINE__, "backend self-check");
        }
    }
    if (v == 1) return 0;
    be->destroy(be);
    *out = NULL;
    if (which && !strcmp(which, "cuda")) {
        if (!rc) rc = TCET_FAIL(TCET_ERR_BACKEND, "the %s backend failed its self-check in this process "
                                "(see the first message)", "cuda");
        return tcet_trace(rc, __FILE__, __LINE__, "--backend cuda");
    }
    if (rc) { /* the first failure: say why, once */
        fprintf(stderr, "tcet: WARNING: %s; using the CPU backend\n", tcet_error_message());
        tcet_error_clear();
    }
    *out = tcet_backend_cpu_create(threads);
    return *out ? 0 : tcet_trace(tcet_error_code(), __FILE__, __LINE__, "CPU backend");
}
