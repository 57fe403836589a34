/* The CUDA backend's batch norm, proven equal to the CPU backend's without a
 * GPU.  kernels/cuda/bn_math.h holds every BN formula the CUDA kernels use
 * (per element and per channel, f32 and f64, explicitly rounded on the
 * device, plain C operators here).  This test drives those same functions on
 * the host through the sequence the kernels run (kernels.cu: partial sums of
 * the split reduction, in-order combine, per-channel coefficients, element
 * formulas) and requires BIT-IDENTICAL y, save_mean, save_invstd, running
 * stats, eval y, dx, dgamma, dbeta, and the fused bn_relu outputs, against
 * tcet_backend_cpu_create (the reference, itself PyTorch 1.13's CPU kernel op
 * for op), float32 and float64, with and without gamma/beta, on shapes of the
 * search space (n 8..64, c 3..512, hw 1..1024).  Runs on every build, CUDA
 * or not.
 *
 * Two summation orders are emulated:
 *  - the CPU backend's own (8 lanes + tail, cpu_reduce_tmpl.h / cpu_bn_tmpl.h):
 *    with it every output must be bit-identical for every data set, f64
 *    included; this proves the formulas of bn_math.h are the CPU's;
 *  - the CUDA kernels' split reduction (bn_math.h): the double sums are then
 *    associated differently.  Sums of float32 values in double are exact (so
 *    order-free) while Σ|x| < 2^(e_min + 30) (e.g. exponent spread below
 *    29 − log2 m); the "exact" data set is built so that every sum, f32 and
 *    f64, is exact (values k/256 in ± pairs around a dyadic channel mean):
 *    bit-identical by that argument, for both types.  The "normal" and "wide"
 *    (exponents spread over 2^±10) data sets break exactness: there the f32
 *    outputs are still required bit-identical (a different double rounding
 *    could only show after rounding to float when a sum lies within ~1e-16
 *    of a float rounding boundary, ~2^-20 per channel; the test prints how
 *    many channel sums actually differed in double), and f64 outputs are
 *    required equal to 1e-13 (norm-wise), since there the sum's last bits
 *    reach the result directly.
 * Also: the fused backward's recomputed mask bn(x) > 0 equals the forward's
 * y > 0 on every element, and bn_apply / bn_dx / bn_affine are not contracted
 * into fma by the host compiler (C17: -ffp-contract=off). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cuda/bn_math.h"
#include "test_support.h"

static tcet_backend *be;

/* ---- values of either type, held exactly in doubles ------------------------ */

static double ld(int dt, const void *p, size_t i)
{
    return dt == TCET_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static void st(int dt, void *p, size_t i, double v)
{
    if (dt == TCET_F32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

static void *arr(int dt, size_t count)
{
    void *p = calloc(count ? count : 1, tcet_dtype_size(dt));
    assert_non_null(p);
    return p;
}

/* ---- the shared functions, dispatched on dt (every T value travels as an
 * exactly representable double) ------------------------------------------------ */

#define F(v) ((float)(v))
static double w_apply(int dt, double x, double a, double s)
{
    return dt == TCET_F32 ? tcet_bn_apply_f32(F(x), F(a), F(s)) : tcet_bn_apply_f64(x, a, s);
}
static double w_relu(int dt, double v) { return dt == TCET_F32 ? tcet_bn_relu_f32(F(v)) : tcet_bn_relu_f64(v); }
static double w_mask(int dt, double dy, double x, double a, double s)
{
    return dt == TCET_F32 ? tcet_bn_mask_f32(F(dy), F(x), F(a), F(s)) : tcet_bn_mask_f64(dy, x, a, s);
}
static double w_var_term(int dt, double x, double mean)
{
    return dt == TCET_F32 ? tcet_bn_var_term_f32(F(x), F(mean)) : tcet_bn_var_term_f64(x, mean);
}
static double w_dotdev_term(int dt, double g, double x, double mean)
{
    return dt == TCET_F32 ? tcet_bn_dotdev_term_f32(F(g), F(x), mean) : tcet_bn_dotdev_term_f64(g, x, mean);
}
static double w_dx(int dt, double g, double x, const double *cf)
{
    return dt == TCET_F32 ? tcet_bn_dx_f32(F(g), F(x), F(cf[0]), F(cf[1]), F(cf[2]), F(cf[3]))
                          : tcet_bn_dx_f64(g, x, cf[0], cf[1], cf[2], cf[3]);
}
static void w_affine(int dt, double mean, double invstd, double g, double b, double *a, double *s)
{
    if (dt == TCET_F32) {
        float fa, fs;
        tcet_bn_affine_f32(F(mean), F(invstd), F(g), F(b), &fa, &fs);
        *a = fa, *s = fs;
    } else {
        tcet_bn_affine_f64(mean, invstd, g, b, a, s);
    }
}
static double w_mean(int dt, double sum, size_t m)
{
    return dt == TCET_F32 ? tcet_bn_mean_f32(sum, m) : tcet_bn_mean_f64(sum, m);
}
static double w_round(int dt, double sum)
{
    return dt == TCET_F32 ? tcet_bn_round_f32(sum) : tcet_bn_round_f64(sum);
}
static double w_train_invstd(int dt, double var_sum, size_t m, double eps)
{
    return dt == TCET_F32 ? tcet_bn_train_invstd_f32(F(var_sum), m, eps)
                          : tcet_bn_train_invstd_f64(var_sum, m, eps);
}
static void w_running(int dt, double mean, double var_sum, size_t m, double mom, double *rm, double *rv)
{
    if (dt == TCET_F32) {
        float a = F(*rm), b = F(*rv);
        tcet_bn_running_f32(F(mean), F(var_sum), m, mom, &a, &b);
        *rm = a, *rv = b;
    } else {
        tcet_bn_running_f64(mean, var_sum, m, mom, rm, rv);
    }
}
static double w_eval_invstd(int dt, double rv, double eps)
{
    return dt == TCET_F32 ? tcet_bn_eval_invstd_f32(F(rv), eps) : tcet_bn_eval_invstd_f64(rv, eps);
}
static void w_bwd_coef(int dt, double sdy, double sdyx, double sm, double si, double g, size_t m, double *dg,
                       double *db, double *cf)
{
    if (dt == TCET_F32) {
        float fdg, fdb, fc[4];
        tcet_bn_bwd_coef_f32(sdy, sdyx, F(sm), F(si), F(g), m, &fdg, &fdb, fc);
        *dg = fdg, *db = fdb;
        for (int i = 0; i < 4; i++) cf[i] = fc[i];
    } else {
        tcet_bn_bwd_coef_f64(sdy, sdyx, sm, si, g, m, dg, db, cf);
    }
}
#undef F

/* ---- the two summation orders ---------------------------------------------- */

enum { ORDER_CPU, ORDER_SPLIT };
enum { TERM_X, TERM_VAR, TERM_DY, TERM_DYX };

typedef struct {
    int dt, n, c, hw;
    const void *x, *dy;
    int relu;                  /* TERM_DY / TERM_DYX: dy masked by bn(x) > 0 */
    double mean;               /* TERM_VAR: mean_t; TERM_DYX: save_mean */
    double alpha, shift;       /* the mask's affine (relu) */
} sum_ctx;

static double term(const sum_ctx *s, int kind, size_t k)
{
    const double x = ld(s->dt, s->x, k);
    if (kind == TERM_X) return x;
    if (kind == TERM_VAR) return w_var_term(s->dt, x, s->mean);
    double g = ld(s->dt, s->dy, k);
    if (s->relu) g = w_mask(s->dt, g, x, s->alpha, s->shift);
    return kind == TERM_DY ? g : w_dotdev_term(s->dt, g, x, s->mean);
}

/* kernels.cu's split reduction of channel ch (bn_math.h: blocks b < S,
 * thread t sums e = b·T + t + k·S·T in order, the fixed tree, the combine). */
static double split_sum(const sum_ctx *s, int kind, int ch)
{
    const int S = tcet_bn_split(s->n, s->hw);
    const size_t m = (size_t)s->n * s->hw, step = (size_t)S * TCET_BN_THREADS;
    double part[TCET_BN_MAX_SPLIT], v[TCET_BN_THREADS];
    for (int b = 0; b < S; b++) {
        for (int t = 0; t < TCET_BN_THREADS; t++) {
            double acc = 0.0;
            for (size_t e = (size_t)b * TCET_BN_THREADS + t; e < m; e += step) {
                const size_t i = e / s->hw, j = e % s->hw;
                acc += term(s, kind, (i * s->c + ch) * s->hw + j);
            }
            v[t] = acc;
        }
        for (int stride = TCET_BN_THREADS / 2; stride > 0; stride >>= 1)
            for (int t = 0; t < stride; t++) v[t] += v[t + stride];
        part[b] = v[0];
    }
    return tcet_bn_combine(part, S);
}

/* The CPU backend's order (RL = 8 lanes of cpu_reduce_tmpl.h).  Forward
 * sums: lanes and a tail per channel, carried across the images, then
 * tail + lane 0 + ... + lane 7.  Backward (sum_dotdev): per plane, lanes from
 * 0, 0 + lane 0 + ... + lane 7, then the plane's tail, added to the channel
 * total. */
#define CPU_RL 8
static double cpu_sum(const sum_ctx *s, int kind, int ch)
{
    const size_t hw = (size_t)s->hw;
    if (kind == TERM_X || kind == TERM_VAR) {
        double lane[CPU_RL] = {0}, tail = 0.0;
        for (int i = 0; i < s->n; i++) {
            const size_t base = ((size_t)i * s->c + ch) * hw;
            size_t q = 0;
            for (; q + CPU_RL <= hw; q += CPU_RL)
                for (int l = 0; l < CPU_RL; l++) lane[l] += term(s, kind, base + q + l);
            for (; q < hw; q++) tail += term(s, kind, base + q);
        }
        double sum = tail;
        for (int l = 0; l < CPU_RL; l++) sum += lane[l];
        return sum;
    }
    double total = 0.0;
    for (int i = 0; i < s->n; i++) {
        const size_t base = ((size_t)i * s->c + ch) * hw;
        double lane[CPU_RL] = {0};
        size_t q = 0;
        for (; q + CPU_RL <= hw; q += CPU_RL)
            for (int l = 0; l < CPU_RL; l++) lane[l] += term(s, kind, base + q + l);
        double p = 0.0;
        for (int l = 0; l < CPU_RL; l++) p += lane[l];
        for (; q < hw; q++) p += term(s, kind, base + q);
        total += p;
    }
    return total;
}

static double chan_sum(int order, const sum_ctx *s, int kind, int ch, long *differ)
{
    const double a = split_sum(s, kind, ch), b = cpu_sum(s, kind, ch);
    if (a != b) (*differ)++;    /* the two associations really gave different doubles */
    return order == ORDER_SPLIT ? a : b;
}

/* ---- one case ---------------------------------------------------------------- */

typedef struct {
    int dt, n, c, hw, affine;
    double eps, momentum;
    void *x, *dy, *gamma, *beta, *rm0, *rv0;
} bn_case;

/* outputs of one backend (or emulation), by index */
enum { O_Y, O_YR, O_SM, O_SI, O_RM, O_RV, O_YE, O_YER, O_DX, O_DG, O_DB, O_DXR, O_DGR, O_DBR, NOUT };
typedef struct {
    void *p[NOUT];
} bn_out;
static const char *const k_out_name[NOUT] = {"y", "y_relu", "save_mean", "save_invstd", "running_mean",
                                             "running_var", "eval y", "eval y_relu", "dx", "dgamma",
                                             "dbeta", "relu dx", "relu dgamma", "relu dbeta"};
static size_t out_count(const bn_case *k, int i)
{
    const size_t cnt = (size_t)k->n * k->c * k->hw;
    return (i == O_Y || i == O_YR || i == O_YE || i == O_YER || i == O_DX || i == O_DXR) ? cnt : (size_t)k->c;
}

static void out_alloc(const bn_case *k, bn_out *o)
{
    for (int i = 0; i < NOUT; i++) o->p[i] = arr(k->dt, out_count(k, i));
}

static void out_free(bn_out *o)
{
    for (int i = 0; i < NOUT; i++) free(o->p[i]);
}

static void run_cpu(const bn_case *k, bn_out *o)
{
    const int dt = k->dt, n = k->n, c = k->c, hw = k->hw;
    const size_t ps = (size_t)c * tcet_dtype_size(dt);
    const void *g = k->affine ? k->gamma : NULL, *b = k->affine ? k->beta : NULL;
    memcpy(o->p[O_RM], k->rm0, ps);
    memcpy(o->p[O_RV], k->rv0, ps);
    void *rm2 = arr(dt, (size_t)c), *rv2 = arr(dt, (size_t)c), *y2 = arr(dt, out_count(k, 0));
    memcpy(rm2, k->rm0, ps);
    memcpy(rv2, k->rv0, ps);
    assert_int_equal(be->bn_fwd(be, dt, 1, n, c, hw, k->eps, k->momentum, k->x, g, b, o->p[O_RM], o->p[O_RV], 1,
                                o->p[O_Y], o->p[O_SM], o->p[O_SI]), 0);
    /* the fused forward must write the same y (checked below) and relu(y) */
    assert_int_equal(be->bn_relu_fwd(be, dt, 1, n, c, hw, k->eps, k->momentum, k->x, g, b, rm2, rv2, 1, y2,
                                     o->p[O_YR], NULL, NULL), 0);
    assert_memory_equal(y2, o->p[O_Y], out_count(k, 0) * tcet_dtype_size(dt));
    assert_int_equal(be->bn_bwd(be, dt, n, c, hw, k->x, k->dy, g, o->p[O_SM], o->p[O_SI], o->p[O_DX],
                                o->p[O_DG], o->p[O_DB]), 0);
    assert_int_equal(be->bn_relu_bwd(be, dt, n, c, hw, k->x, k->dy, g, b, o->p[O_SM], o->p[O_SI],
                                     o->p[O_DXR], o->p[O_DGR], o->p[O_DBR]), 0);
    assert_int_equal(be->bn_fwd(be, dt, 0, n, c, hw, k->eps, k->momentum, k->x, g, b, o->p[O_RM], o->p[O_RV], 0,
                                o->p[O_YE], NULL, NULL), 0);
    assert_int_equal(be->bn_relu_fwd(be, dt, 0, n, c, hw, k->eps, k->momentum, k->x, g, b, o->p[O_RM],
                                     o->p[O_RV], 0, NULL, o->p[O_YER], NULL, NULL), 0);
    free(rm2);
    free(rv2);
    free(y2);
}

typedef struct {
    long sums, differ;       /* channel sums computed / differing between the orders */
    long mask_checked;       /* elements whose recomputed mask was compared */
} emu_stats;

/* kernels.cu's sequence, with the shared functions and the given order */
static void run_emulation(const bn_case *k, int order, bn_out *o, emu_stats *es)
{
    const int dt = k->dt, n = k->n, c = k->c, hw = k->hw;
    const size_t m = (size_t)n * hw;
    memcpy(o->p[O_RM], k->rm0, (size_t)c * tcet_dtype_size(dt));
    memcpy(o->p[O_RV], k->rv0, (size_t)c * tcet_dtype_size(dt));
    for (int ch = 0; ch < c; ch++) {
        const double g = k->affine ? ld(dt, k->gamma, ch) : 1.0, b = k->affine ? ld(dt, k->beta, ch) : 0.0;
        sum_ctx s = {dt, n, c, hw, k->x, k->dy, 0, 0.0, 0.0, 0.0};
        /* train forward: chan_partial_k<0>, <1>, bn_train_final_k, bn_apply_k */
        const double mean_t = w_mean(dt, chan_sum(order, &s, TERM_X, ch, &es->differ), m);
        s.mean = mean_t;
        const double var_sum = w_round(dt, chan_sum(order, &s, TERM_VAR, ch, &es->differ));
        const double invstd = w_train_invstd(dt, var_sum, m, k->eps);
        double rm = ld(dt, o->p[O_RM], ch), rv = ld(dt, o->p[O_RV], ch), alpha, shift;
        w_running(dt, mean_t, var_sum, m, k->momentum, &rm, &rv);
        w_affine(dt, mean_t, invstd, g, b, &alpha, &shift);
        st(dt, o->p[O_SM], ch, mean_t);
        st(dt, o->p[O_SI], ch, invstd);
        st(dt, o->p[O_RM], ch, rm);
        st(dt, o->p[O_RV], ch, rv);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                const size_t q = ((size_t)i * c + ch) * hw + j;
                const double v = w_apply(dt, ld(dt, k->x, q), alpha, shift);
                st(dt, o->p[O_Y], q, v);
                st(dt, o->p[O_YR], q, w_relu(dt, v));
            }
        /* backward, plain and fused: bn_bwd_partial_k, bn_bwd_final_k, bn_dx_k */
        for (int relu = 0; relu <= 1; relu++) {
            s.relu = relu;
            s.mean = mean_t;   /* save_mean */
            w_affine(dt, mean_t, invstd, g, b, &s.alpha, &s.shift);
            const double sdy = chan_sum(order, &s, TERM_DY, ch, &es->differ);
            const double sdyx = chan_sum(order, &s, TERM_DYX, ch, &es->differ);
            double dg, db, cf[4];
            w_bwd_coef(dt, sdy, sdyx, mean_t, invstd, g, m, &dg, &db, cf);
            st(dt, relu ? o->p[O_DGR] : o->p[O_DG], ch, dg);
            st(dt, relu ? o->p[O_DBR] : o->p[O_DB], ch, db);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) {
                    const size_t q = ((size_t)i * c + ch) * hw + j;
                    const double x = ld(dt, k->x, q);
                    double gv = ld(dt, k->dy, q);
                    if (relu) {
                        /* the recomputed mask is the forward's y > 0, element by element */
                        const int fwd_pos = ld(dt, o->p[O_Y], q) > 0;
                        const int mask = w_apply(dt, x, s.alpha, s.shift) > 0;
                        if (mask != fwd_pos) fail_msg("recomputed ReLU mask differs from y > 0 at %zu", q);
                        es->mask_checked++;
                        gv = w_mask(dt, gv, x, s.alpha, s.shift);
                    }
                    st(dt, relu ? o->p[O_DXR] : o->p[O_DX], q, w_dx(dt, gv, x, cf));
                }
        }
        es->sums += 6;
        /* eval (running stats after the update): bn_eval_coef_k, bn_apply_k */
        double ea, es_;
        w_affine(dt, rm, w_eval_invstd(dt, rv, k->eps), g, b, &ea, &es_);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                const size_t q = ((size_t)i * c + ch) * hw + j;
                const double v = w_apply(dt, ld(dt, k->x, q), ea, es_);
                st(dt, o->p[O_YE], q, v);
                st(dt, o->p[O_YER], q, w_relu(dt, v));
            }
    }
}

static double g_max_allowed_diff;   /* largest norm-wise difference accepted (tol > 0) */

/* Bit equality of every output; returns how many outputs differ.  tol = 0:
 * any difference fails (the first differing element is printed); tol > 0:
 * differing outputs must agree to tol, norm-wise. */
static int compare(const bn_case *k, const bn_out *ref, const bn_out *got, const char *what, double tol)
{
    int bad = 0;
    for (int i = 0; i < NOUT; i++) {
        const void *a = ref->p[i], *b = got->p[i];
        const size_t cnt = out_count(k, i);
        if (!memcmp(a, b, cnt * tcet_dtype_size(k->dt))) continue;
        bad++;
        double num = 0, den = 0;
        size_t first = cnt;
        for (size_t q = 0; q < cnt; q++) {
            const double r = ld(k->dt, a, q), g = ld(k->dt, b, q);
            if (memcmp((const char *)a + q * tcet_dtype_size(k->dt), (const char *)b + q * tcet_dtype_size(k->dt),
                       tcet_dtype_size(k->dt)) && first == cnt)
                first = q;
            if (fabs(g - r) > num || isnan(g - r)) num = isnan(g - r) ? INFINITY : fabs(g - r);
            if (fabs(r) > den) den = fabs(r);
        }
        const double rel = num / (den > 0 ? den : 1);
        if (tol > 0 && rel <= tol) {   /* allowed: counted by the caller */
            if (rel > g_max_allowed_diff) g_max_allowed_diff = rel;
            continue;
        }
        print_message("%s %s n%d c%d hw%d %s: %s differs (first at %zu: %.17g vs %.17g), norm-wise %.3g\n",
                      what, k->dt == TCET_F32 ? "f32" : "f64", k->n, k->c, k->hw,
                      k->affine ? "affine" : "no affine", k_out_name[i], first, ld(k->dt, a, first),
                      ld(k->dt, b, first), rel);
        fail_msg("%s: %s not within the allowed difference", what, k_out_name[i]);
    }
    return bad;
}

/* ---- data -------------------------------------------------------------------- */

static uint64_t g_s = 0x9e3779b97f4a7c15ull;
static uint64_t next64(void)
{
    uint64_t z = (g_s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double unif(void) { return (double)(next64() >> 11) / 9007199254740992.0; }
static double normal(void)
{
    double u = unif(), v = unif();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}
static int ibelow(int k) { return (int)(next64() % (uint64_t)k); }

enum { DATA_EXACT, DATA_NORMAL, DATA_WIDE };
static const char *const k_data_name[] = {"exact", "normal", "wide"};

/* DATA_EXACT: channel ch holds mu_ch + k/256 with |k| < 256 in ± pairs (so
 * the sum is exactly m mu_ch and mean = mu_ch = j/16 exactly), dy = k'/256:
 * every term of every sum is a dyadic number of at most 16 significant bits
 * and every partial sum stays below 2^17, so all sums are exact in double
 * (f32 and f64 alike) and their order cannot matter.  Pairs of k = 0 put
 * x exactly on the mean: with beta = 0, bn(x) = 0 exactly (the ReLU edge). */
static void fill(bn_case *k, int data)
{
    const int dt = k->dt, n = k->n, c = k->c, hw = k->hw;
    const size_t m = (size_t)n * hw;
    size_t *perm = malloc(m * sizeof *perm);
    assert_non_null(perm);
    for (int ch = 0; ch < c; ch++) {
        const double mu = (ibelow(33) - 16) / 16.0, sigma = 0.1 + 2.9 * unif();
        for (size_t e = 0; e < m; e++) perm[e] = e;
        for (size_t e = m; e > 1; e--) {   /* Fisher-Yates: pair members land anywhere */
            size_t r = (size_t)(next64() % e), t = perm[e - 1];
            perm[e - 1] = perm[r], perm[r] = t;
        }
        int pair_k = 0;
        for (size_t e = 0; e < m; e++) {
            const size_t pe = perm[e], q = ((pe / hw) * c + ch) * hw + pe % hw;
            double v, d;
            if (data == DATA_EXACT) {
                if (e % 2 == 0) pair_k = (e / 2) % 16 == 3 ? 0 : ibelow(511) - 255;   /* some on the mean */
                v = mu + (e % 2 ? -pair_k : pair_k) / 256.0;
                d = (ibelow(511) - 255) / 256.0;
            } else if (data == DATA_NORMAL) {
                v = mu + sigma * normal();
                d = normal();
            } else {
                v = mu * 0.01 + normal() * ldexp(1.0, ibelow(21) - 10);
                d = normal() * ldexp(1.0, ibelow(21) - 10);
            }
            st(dt, k->x, q, v);
            st(dt, k->dy, q, d);
        }
        if (m % 2 && data == DATA_EXACT) fail_msg("exact data needs an even n*hw");
        st(dt, k->gamma, ch, data == DATA_EXACT ? 0.5 + ibelow(17) / 16.0 : 0.5 + unif());
        st(dt, k->beta, ch, ch % 3 == 0 ? 0.0 : (data == DATA_EXACT ? (ibelow(33) - 16) / 32.0 : unif() - 0.5));
        st(dt, k->rm0, ch, 0.2 * unif() - 0.1);
        st(dt, k->rv0, ch, 0.5 + unif());
    }
    free(perm);
}

/* shapes of the search space: n 8..64, c 3..512, hw 1..1024 (7x7 and 11x11
 * planes too, and m = n hw from one block to S = 32 blocks per channel) */
static const int k_shapes[][3] = {
    {8, 3, 1024}, {64, 16, 1024}, {32, 24, 64}, {8, 40, 49}, {64, 512, 1},
    {16, 96, 9},  {48, 8, 121},   {64, 64, 16}, {8, 256, 4},
};

static void check_dtype(int dt)
{
    long differ_f[3] = {0}, sums_f[3] = {0}, masks = 0, f64_diff_outputs = 0;
    for (int data = DATA_EXACT; data <= DATA_WIDE; data++)
        for (size_t si = 0; si < sizeof k_shapes / sizeof *k_shapes; si++) {
            if (data == DATA_WIDE && k_shapes[si][0] * k_shapes[si][2] > 8192) continue;   /* time */
            bn_case k = {dt, k_shapes[si][0], k_shapes[si][1], k_shapes[si][2], (int)(si % 2 == 0),
                         si % 2 ? 1e-5 : 1e-3, 0.1, NULL, NULL, NULL, NULL, NULL, NULL};
            const size_t cnt = (size_t)k.n * k.c * k.hw;
            k.x = arr(dt, cnt), k.dy = arr(dt, cnt);
            k.gamma = arr(dt, (size_t)k.c), k.beta = arr(dt, (size_t)k.c);
            k.rm0 = arr(dt, (size_t)k.c), k.rv0 = arr(dt, (size_t)k.c);
            fill(&k, data);
            for (int affine = 0; affine <= 1; affine++) {
                if (cnt > 100000 && affine != k.affine) continue;   /* time */
                k.affine = affine;
                bn_out cpu, emu;
                out_alloc(&k, &cpu);
                out_alloc(&k, &emu);
                run_cpu(&k, &cpu);
                emu_stats es = {0, 0, 0};
                char what[64];
                snprintf(what, sizeof what, "%s data, CPU order", k_data_name[data]);
                run_emulation(&k, ORDER_CPU, &emu, &es);
                assert_int_equal(compare(&k, &cpu, &emu, what, 0), 0);
                snprintf(what, sizeof what, "%s data, split order", k_data_name[data]);
                run_emulation(&k, ORDER_SPLIT, &emu, &es);
                const int split_may_differ = dt == TCET_F64 && data != DATA_EXACT;
                const int nd = compare(&k, &cpu, &emu, what, split_may_differ ? 1e-13 : 0);
                if (split_may_differ) f64_diff_outputs += nd;
                /* es counted both orders' sums: half are distinct computations */
                differ_f[data] += es.differ / 2;
                sums_f[data] += es.sums / 2;
                masks += es.mask_checked / 2;
                if (data == DATA_EXACT) assert_int_equal(es.differ, 0);   /* exact sums: order-free */
                out_free(&cpu);
                out_free(&emu);
            }
            free(k.x), free(k.dy), free(k.gamma), free(k.beta), free(k.rm0), free(k.rv0);
        }
    for (int data = DATA_EXACT; data <= DATA_WIDE; data++)
        print_message("%s %-6s data: %ld of %ld channel sums differ in double between the CPU and the split "
                      "order; outputs bit-identical to the CPU backend: %s\n",
                      dt == TCET_F32 ? "f32" : "f64", k_data_name[data], differ_f[data], sums_f[data],
                      dt == TCET_F64 && data != DATA_EXACT ? "CPU order (split order: see below)" : "both orders");
    if (dt == TCET_F64)
        print_message("f64 split order: %ld outputs differ in the last bits, norm-wise at most %.3g\n",
                      f64_diff_outputs, g_max_allowed_diff);
    print_message("%s: recomputed ReLU mask == forward y > 0 on %ld elements\n", dt == TCET_F32 ? "f32" : "f64",
                  masks);
    assert_true(masks > 0);
    /* the random data really exercise inexact sums (else the split check proves little) */
    assert_true(differ_f[DATA_NORMAL] + differ_f[DATA_WIDE] > 0);
}

static void bn_f32_bit_identical(void **state)
{
    (void)state;
    check_dtype(TCET_F32);
}

static void bn_f64_bit_identical(void **state)
{
    (void)state;
    check_dtype(TCET_F64);
}

/* The host side of bn_math.h must not be contracted into fma (it is the
 * stand-in for the device's _rn intrinsics): inputs where fma and two
 * roundings differ. */
static void no_fma_contraction(void **state)
{
    (void)state;
    volatile float xf = 1.0f + 0x1p-12f, af = 1.0f + 0x1p-12f, sf = -1.0f;
    /* x a = 1 + 2^-11 + 2^-24 rounds (tie to even) to 1 + 2^-11 */
    assert_true(tcet_bn_apply_f32(xf, af, sf) == 0x1p-11f);
    assert_true(fmaf(xf, af, sf) != 0x1p-11f);
    volatile double xd = 1.0 + 0x1p-27, ad = 1.0 + 0x1p-27, sd = -1.0;
    assert_true(tcet_bn_apply_f64(xd, ad, sd) == 0x1p-26);
    assert_true(fma(xd, ad, sd) != 0x1p-26);
    /* dx = ((g - mdy) - (x - mu) kx) a with g = 1, mdy = mu = 0, a = 1 */
    volatile float one = 1.0f, zero = 0.0f;
    assert_true(tcet_bn_dx_f32(one, xf, one, zero, af, zero) == -0x1p-11f);
    /* shift = b - mean alpha with b = 1, invstd = gamma = ... : alpha = x, mean = a */
    float alpha, shift;
    tcet_bn_affine_f32(af, xf, one, one, &alpha, &shift);
    assert_true(alpha == xf && shift == -0x1p-11f);
    double alpha_d, shift_d;
    volatile double oned = 1.0;
    tcet_bn_affine_f64(ad, xd, oned, oned, &alpha_d, &shift_d);
    assert_true(alpha_d == xd && shift_d == -0x1p-26);
}

/* The split depends on the shape only and stays within the grid limits. */
static void split_choice(void **state)
{
    (void)state;
    assert_int_equal(tcet_bn_split(64, 1), 1);
    assert_int_equal(tcet_bn_split(8, 256), 1);            /* 2048 = one block of 8 per thread */
    assert_int_equal(tcet_bn_split(8, 257), 2);
    assert_int_equal(tcet_bn_split(64, 1024), 32);
    assert_int_equal(tcet_bn_split(64, 112 * 112), TCET_BN_MAX_SPLIT);
    assert_true(tcet_bn_scratch_bytes(64, 512, 1024) >= sizeof(double) * (2 * 512 * 32 + 6 * 512));
}

int main(void)
{
    be = tcet_backend_cpu_create(1);
    if (!be) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_fma_contraction),
        cmocka_unit_test(split_choice),
        cmocka_unit_test(bn_f32_bit_identical),
        cmocka_unit_test(bn_f64_bit_identical),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    be->destroy(be);
    return rc;
}
