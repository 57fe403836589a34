/* Convolution on the CPU: im2col + OpenBLAS GEMM for dense and grouped
 * convs, direct loops for depthwise ones (see cpu_conv_tmpl.h). */
#include <cblas.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "kernels/cpu/cpu_internal.h"

static int conv_is_depthwise(const tcet_conv_desc *d)
{
    return d->groups > 1 && d->groups == d->cin && d->groups == d->cout;
}

/* Tiling of the GEMM convolutions (defaults in tcet_cpu_set_conv_tiling).
 * conv_tile_n: GEMM N dimension aimed for when several small images share
 * one GEMM (below about 512 columns OpenBLAS sgemm loses much of its rate).
 * conv_col_max: largest col buffer of such a multi-image tile.
 * conv_col_band: when one image's col exceeds it, the image is unfolded in
 * bands of output rows of about this size, so that col stays in L2 while the
 * GEMM reads it instead of streaming megabytes through memory.
 * Result: images per tile (nb) and output rows per tile (rows; == ho when
 * nb > 1). */
static void conv_tiling(const tcet_backend *be, const tcet_conv_desc *d, size_t elem, int *nb_out, int *rows_out)
{
    const tcet_cpu_impl *cfg = be->impl;
    const size_t hwo = (size_t)d->ho * d->wo, krow = (size_t)d->cin * d->k * d->k * elem;
    const size_t col_img = krow * hwo;
    size_t nb = 1, rows = (size_t)d->ho;
    if (hwo < cfg->conv_tile_n && col_img <= cfg->conv_col_max) {
        nb = (cfg->conv_tile_n + hwo - 1) / hwo;
        if (nb > cfg->conv_col_max / col_img) nb = cfg->conv_col_max / col_img;
        if (nb > (size_t)d->n) nb = (size_t)d->n;
        if (nb < 1) nb = 1;
    }
    if (nb == 1 && col_img > cfg->conv_col_band) {
        rows = cfg->conv_col_band / (krow * d->wo);
        if (rows < 1) rows = 1;
        if (rows > (size_t)d->ho) rows = (size_t)d->ho;
    }
    *nb_out = (int)nb;
    *rows_out = (int)rows;
}

/* Output columns ow whose input column ow*s + kw - p lies in [0, w): [lo, hi). */
static void conv_valid_range(int kw, int s, int p, int w, int wo, int *lo, int *hi)
{
    int l = p - kw > 0 ? (p - kw + s - 1) / s : 0;
    int last = w - 1 + p - kw; /* ow*s <= last */
    int h = last >= 0 ? last / s + 1 : 0;
    if (h > wo) h = wo;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* Depthwise geometry: the padded plane (h + 2p) x (w + 2p) split into s*s
 * stride phases of hq x wq each; `plane` adds slack so that the junk
 * columns of the last output row may read (zeros) past the phase end. */
typedef struct {
    size_t hq, wq, plane;
} dw_geom;

static dw_geom dw_geometry(const tcet_conv_desc *d)
{
    const size_t s = (size_t)d->stride, hp = (size_t)d->h + 2 * d->pad, wp = (size_t)d->w + 2 * d->pad;
    dw_geom g = { (hp + s - 1) / s, (wp + s - 1) / s, 0 };
    g.plane = g.hq * g.wq + (size_t)d->k + 8;
    return g;
}

/* off[kh*k + kw] = start of tap (kh, kw) in the phase planes: phase
 * (kh % s, kw % s), shifted by (kh / s, kw / s). */
static void dw_offsets(const tcet_conv_desc *d, const dw_geom *g, ptrdiff_t *off)
{
    const int s = d->stride, k = d->k;
    for (int kh = 0; kh < k; kh++)
        for (int kw = 0; kw < k; kw++)
            off[kh * k + kw] = (ptrdiff_t)((size_t)((kh % s) * s + kw % s) * g->plane + (size_t)(kh / s) * g->wq +
                                           (size_t)(kw / s));
}

#define T float
#define ACC double
#define S(name) name##_f32
#define GEMM cblas_sgemm
#include "kernels/cpu/cpu_conv_tmpl.h"
#undef T
#undef ACC
#undef S
#undef GEMM

#define T double
#define ACC double
#define S(name) name##_f64
#define GEMM cblas_dgemm
#include "kernels/cpu/cpu_conv_tmpl.h"
#undef T
#undef ACC
#undef S
#undef GEMM

#include "kernels/cpu/cpu_direct.h"

/* The direct kernels (cpu_direct.h) take float32 convs of their shapes,
 * unless TCET_CPU_CONV=im2col asks for the im2col path alone.  op 0: the
 * forward (out channels cout), 1: the data gradient (out channels cin), 2:
 * the weight gradient. */
static int direct_wanted(const tcet_backend *be, int dt, int op, const tcet_conv_desc *d)
{
#if CPU_HAVE_DIRECT
    const tcet_cpu_impl *c = be->impl;
    if (dt != TCET_F32 || c->conv_engine == TCET_CPU_CONV_IM2COL) return 0;
    if (op == 2) return direct_filter_shape_ok(d->cin, d->cout, d->k, d->stride, d->pad, d->groups, d->h, d->w);
    return op == 0 ? direct_shape_ok(d->cin, d->cout, d->k, d->stride, d->pad, d->groups, d->h, d->w)
                   : d->stride == 1 && direct_shape_ok(d->cout, d->cin, d->k, 1, d->pad, d->groups, d->h, d->w);
#else
    (void)be, (void)dt, (void)op, (void)d;
    return 0;
#endif
}

/* in_aff (NULL: none; 1x1 forward only): the input is relu(in * alpha +
 * shift) per channel, applied as the panels are packed (bn_relu_conv_train). */
static int direct_conv(tcet_backend *be, int op, const tcet_conv_desc *d, const float *in, const float *w,
                       const float *bias, float *out, const direct_fuse *fuse, const float *in_aff)
{
#if CPU_HAVE_DIRECT
    const int ci = op == 0 ? d->cin : d->cout, co = op == 0 ? d->cout : d->cin;
    size_t pad_at, off_at;
    char *sc = cpu_scratch(be, direct_scratch_bytes(ci, co, d->k, d->stride, d->h, d->w, &pad_at, &off_at));
    if (!sc) return TCET_ERR_NOMEM;
    float *wpk = (float *)sc, *pad = (float *)(sc + pad_at);
    if (op == 0) direct_pack_fwd(w, ci, co, d->k, wpk);
    else direct_pack_bwd(w, d->cin, d->cout, d->k, wpk);
    const size_t hwo = op == 0 ? (size_t)d->ho * d->wo : (size_t)d->h * d->w;
    const int nt = direct_stream(out, fuse, hwo, sizeof(float) * (size_t)d->n * co * hwo);
    if (d->k == 1) /* the padded-image region holds a block of panels (ci x min(512, h x w) <= ci x h x w) */
        direct_run_1x1(in, d->n, ci, co, (size_t)d->h * d->w, wpk, bias, out, pad, (int *)(sc + off_at), fuse, nt,
                       in_aff);
    else
        direct_run(in, d->n, ci, co, d->h, d->w, d->k, d->stride, wpk, bias, out, pad, (int *)(sc + off_at), fuse,
                   nt);
    ((tcet_cpu_impl *)be->impl)->direct_calls++;
    ((tcet_cpu_impl *)be->impl)->direct_stream_calls += (size_t)nt;
    return 0;
#else
    (void)be, (void)op, (void)d, (void)in, (void)w, (void)bias, (void)out, (void)fuse, (void)in_aff;
    return TCET_FAIL(TCET_ERR_BACKEND, "CPU backend: no direct convolution kernels on this path");
#endif
}

int CPU_K(cpu_conv_fwd)(tcet_backend *be, int dt, const tcet_conv_desc *d,
                 const void *x, const void *w, const void *bias, void *y)
{
    TCET_TRY(cpu_check_dtype(dt));
    TCET_TRY(cpu_check_conv(d));
    if (direct_wanted(be, dt, 0, d)) return direct_conv(be, 0, d, x, w, bias, y, NULL, NULL);
    return dt == TCET_F32 ? conv_fwd_f32(be, d, x, w, bias, y) : conv_fwd_f64(be, d, x, w, bias, y);
}

int CPU_K(cpu_conv_bwd_data)(tcet_backend *be, int dt, const tcet_conv_desc *d,
                      const void *w, const void *dy, void *dx)
{
    TCET_TRY(cpu_check_dtype(dt));
    TCET_TRY(cpu_check_conv(d));
    if (!dx) return 0;
    if (direct_wanted(be, dt, 1, d)) return direct_conv(be, 1, d, dy, w, NULL, dx, NULL, NULL);
    return dt == TCET_F32 ? conv_bwd_data_f32(be, d, w, dy, dx) : conv_bwd_data_f64(be, d, w, dy, dx);
}

static int direct_filter(tcet_backend *be, const tcet_conv_desc *d, const float *x, const float *dy, float *dw)
{
#if CPU_HAVE_DIRECT
    size_t pad_at, off_at, xb_at;
    char *sc = cpu_scratch(be, direct_filter_scratch_bytes(d->cin, d->cout, d->k, d->h, d->w, &pad_at, &off_at, &xb_at));
    if (!sc) return TCET_ERR_NOMEM;
    direct_filter_run(x, dy, d->n, d->cin, d->cout, d->h, d->w, d->k, dw, (float *)sc, (float *)(sc + pad_at),
                      (int *)(sc + off_at), (int *)(sc + xb_at));
    ((tcet_cpu_impl *)be->impl)->direct_calls++;
    return 0;
#else
    (void)be, (void)d, (void)x, (void)dy, (void)dw;
    return TCET_FAIL(TCET_ERR_BACKEND, "CPU backend: no direct convolution kernels on this path");
#endif
}

#if CPU_HAVE_DIRECT
/* alpha = invstd * gamma, shift = beta - mean * alpha per channel, as the
 * CPU bn_fwd computes them in eval mode (cpu_bn_tmpl.h: invstd = 1 /
 * sqrt(running_var + eps) in float through double, each step rounded to
 * float). */
static void bn_eval_coefs(int c, double eps, const tcet_bn_eval *bn, float *alpha, float *shift)
{
    const float *g = bn->gamma, *b = bn->beta, *rm = bn->running_mean, *rv = bn->running_var;
    for (int k = 0; k < c; k++) {
        const float invstd = (float)1 / (float)sqrt((double)(rv[k] + (float)eps));
        const float a = invstd * (g ? g[k] : 1.0f);
        const float ma = rm[k] * a;
        alpha[k] = a;
        shift[k] = (b ? b[k] : 0.0f) - ma;
    }
}
#endif

/* The eval-mode conv + BN + ReLU in one pass (see kernels/backend.h,
 * conv_bn_relu_eval): only for convs the direct forward takes; 1 in *done
 * when it ran.  alpha and shift as bn_eval_coefs computes them, so y_relu is
 * bit for bit bn_relu_fwd's. */
int CPU_K(cpu_conv_bn_relu_eval)(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x, const void *w,
                                 const void *bias, double eps, const void *gamma, const void *beta,
                                 const void *running_mean, const void *running_var, void *y, void *y_relu,
                                 void *codes, int *done)
{
    *done = 0;
    TCET_TRY(cpu_check_dtype(dt));
    TCET_TRY(cpu_check_conv(d));
    if (!direct_wanted(be, dt, 0, d)) return 0;
#if CPU_HAVE_DIRECT
    float *ab = malloc(2 * (size_t)d->cout * sizeof *ab);
    if (!ab) return TCET_FAIL(TCET_ERR_NOMEM, "CPU backend: out of memory (%d BN coefficients)", 2 * d->cout);
    const tcet_bn_eval bn = {gamma, beta, running_mean, running_var};
    bn_eval_coefs(d->cout, eps, &bn, ab, ab + d->cout);
    /* code rows: whole 64-bit words per image, the bits past the output zero */
    const size_t units = (size_t)d->cout * d->ho * d->wo, row = (units + 63) / 64 * 8;
    if (codes) memset(codes, 0, row * (size_t)d->n);
    const direct_fuse fuse = {ab, ab + d->cout, y_relu, codes, row};
    int rc = direct_conv(be, 0, d, x, w, bias, y, &fuse, NULL);
    free(ab);
    if (rc == 0) *done = 1;
    return rc;
#else
    (void)x, (void)w, (void)bias, (void)eps, (void)gamma, (void)beta, (void)running_mean, (void)running_var;
    (void)y, (void)y_relu, (void)codes;
    return 0;
#endif
}

/* Two 1x1 convs with eval-mode BN + ReLU after each and the codes of both
 * (kernels/backend.h, conv_pair_eval): direct_run_1x1_pair when the direct
 * forward takes both convs; *done = 0 otherwise. */
int CPU_K(cpu_conv_pair_eval)(tcet_backend *be, int dt, const tcet_conv_desc *d1, const tcet_conv_desc *d2,
                              const void *x, const void *w1, const void *b1, const void *w2, const void *b2,
                              double eps, const tcet_bn_eval *bn1, const tcet_bn_eval *bn2, void *y2_relu,
                              void *codes1, void *codes2, int *done)
{
    *done = 0;
    TCET_TRY(cpu_check_dtype(dt));
    TCET_TRY(cpu_check_conv(d1));
    TCET_TRY(cpu_check_conv(d2));
    if (d1->k != 1 || d2->k != 1 || d1->stride != 1 || d2->stride != 1 || d2->cin != d1->cout || d2->n != d1->n ||
        d2->h != d1->h || d2->w != d1->w || !codes1 || !codes2 || !direct_wanted(be, dt, 0, d1) ||
        !direct_wanted(be, dt, 0, d2))
        return 0;
#if CPU_HAVE_DIRECT
    const int ci = d1->cin, cm = d1->cout, co = d2->cout;
    const size_t hw = (size_t)d1->h * d1->w, blk = direct_pair_block(cm, hw);
    /* scratch: both packed weight sets, the input panels, the wide block, the offsets */
    const size_t w1_b = cpu_align_up(sizeof(float) * (size_t)ci * cm), w2_b = cpu_align_up(sizeof(float) * (size_t)cm * co);
    const size_t pin_b = cpu_align_up(sizeof(float) * (size_t)ci * blk), mid_b = cpu_align_up(sizeof(float) * (size_t)cm * blk);
    const size_t off_b = cpu_align_up(sizeof(int) * (size_t)(ci > cm ? ci : cm));
    char *sc = cpu_scratch(be, w1_b + w2_b + pin_b + mid_b + off_b);
    if (!sc) return TCET_ERR_NOMEM;
    float *wpk1 = (float *)sc, *wpk2 = (float *)(sc + w1_b), *pin = (float *)(sc + w1_b + w2_b);
    float *mid = (float *)(sc + w1_b + w2_b + pin_b);
    int *off = (int *)(sc + w1_b + w2_b + pin_b + mid_b);
    direct_pack_fwd(w1, ci, cm, 1, wpk1);
    direct_pack_fwd(w2, cm, co, 1, wpk2);
    float *ab = malloc(2 * (size_t)(cm + co) * sizeof *ab);
    if (!ab) return TCET_FAIL(TCET_ERR_NOMEM, "CPU backend: out of memory (%d BN coefficients)", 2 * (cm + co));
    bn_eval_coefs(cm, eps, bn1, ab, ab + cm);
    bn_eval_coefs(co, eps, bn2, ab + 2 * cm, ab + 2 * cm + co);
    /* code rows: whole 64-bit words per image, the bits past the output zero */
    const size_t row1 = ((size_t)cm * hw + 63) / 64 * 8, row2 = ((size_t)co * hw + 63) / 64 * 8;
    memset(codes1, 0, row1 * (size_t)d1->n);
    memset(codes2, 0, row2 * (size_t)d1->n);
    const direct_fuse f1 = {ab, ab + cm, NULL, codes1, row1}, f2 = {ab + 2 * cm, ab + 2 * cm + co, y2_relu, codes2, row2};
    direct_run_1x1_pair(x, d1->n, ci, cm, co, hw, blk, wpk1, b1, wpk2, b2, pin, mid, off, &f1, &f2);
    free(ab);
    ((tcet_cpu_impl *)be->impl)->direct_calls += 2;
    *done = 1;
    return 0;
#else
    (void)x, (void)w1, (void)b1, (void)w2, (void)b2, (void)eps, (void)bn1, (void)bn2, (void)y2_relu;
    return 0;
#endif
}

/* The backward of relu(bn(conv(x))) for a stride-1 conv (kernels/backend.h,
 * conv_bn_relu_bwd): the BN sums over the batch first (as bn_relu_bwd),
 * then per image the BN input gradient into one image of scratch (L2) and
 * from there the conv's data gradient (direct_run_1x1 / direct_run on that
 * image) and its weight gradient (direct_filter_image), the order and
 * arithmetic of the separate ops: bit for bit theirs.  *done = 0 where the
 * direct kernels do not take both gradients. */
int CPU_K(cpu_conv_bn_relu_bwd)(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x, const void *w,
                                const void *y, const void *dy, const void *gamma, const void *beta,
                                const void *save_mean, const void *save_invstd, void *dgamma, void *dbeta, void *dw,
                                void *dx, const tcet_bn_relu_in *xin, int *done)
{
    *done = 0;
    TCET_TRY(cpu_check_dtype(dt));
    TCET_TRY(cpu_check_conv(d));
    if (d->stride != 1 || !dw || !direct_wanted(be, dt, 2, d) || (dx && !direct_wanted(be, dt, 1, d)) ||
        (xin && d->k != 1)) {
        if (xin) /* bn_relu_conv_train left the conv's input unstored; it promised this op */
            return TCET_FAIL(TCET_ERR_RUNTIME, "CPU backend: conv_bn_relu_bwd cannot take a conv whose input "
                             "bn_relu_conv_train did not store (%dx%d %d->%d)", d->k, d->k, d->cin, d->cout);
        return 0;
    }
#if CPU_HAVE_DIRECT
    const int ci = d->cin, co = d->cout;
    const size_t hw = (size_t)d->h * d->w;
    /* scratch: the BN part's workspace and coefficients, one image of the BN
     * input gradient, the data gradient's (packed weights, panels, offsets)
     * and the weight gradient's (accumulators, offsets, position bases) */
    const size_t ws_b = cpu_align_up(CPU_K(cpu_bn_bwd_ws_bytes)(co, (int)hw));
    const size_t cf_b = cpu_align_up(sizeof(float) * 6 * (size_t)co);
    const size_t img_b = cpu_align_up(sizeof(float) * (size_t)co * hw);
    size_t pad_at, off_at, fpad_at, foff_at, fxb_at;
    const int k = d->k;
    const size_t dat_b = cpu_align_up(direct_scratch_bytes(co, ci, k, 1, d->h, d->w, &pad_at, &off_at));
    const size_t fil_b = cpu_align_up(direct_filter_scratch_bytes(ci, co, k, d->h, d->w, &fpad_at, &foff_at, &fxb_at));
    /* with xin: one image of the conv's input and its BN's coefficients */
    const size_t xin_b = xin ? cpu_align_up(sizeof(float) * ((size_t)ci * hw + 2 * (size_t)ci)) : 0;
    char *sc = cpu_scratch(be, ws_b + cf_b + img_b + dat_b + fil_b + xin_b);
    if (!sc) return TCET_ERR_NOMEM;
    float *ximg = xin ? (float *)(sc + ws_b + cf_b + img_b + dat_b + fil_b) : NULL;
    float *xaff = xin ? ximg + (size_t)ci * hw : NULL;
    if (xin) CPU_K(cpu_bn_bwd_affine)(ci, xin->gamma, xin->beta, xin->save_mean, xin->save_invstd, xaff);
    double *ws = (double *)sc;
    float *coef = (float *)(sc + ws_b), *aff = coef + 4 * (size_t)co, *dxi = (float *)(sc + ws_b + cf_b);
    char *dat = sc + ws_b + cf_b + img_b, *fil = dat + dat_b;
    float *wpk = (float *)dat, *panel = (float *)(dat + pad_at), *accv = (float *)fil, *xp = (float *)(fil + fpad_at);
    int *off = (int *)(dat + off_at), *toff = (int *)(fil + foff_at), *xb = (int *)(fil + fxb_at);
    const float *xf = x, *yf = y, *dyf = dy;
    CPU_K(cpu_bn_bwd_coefs)(d->n, co, (int)hw, yf, dyf, gamma, beta, 1, save_mean, save_invstd, dgamma, dbeta, ws,
                            coef, aff);
    direct_filter_begin(ci, co, d->h, d->w, k, accv, xp, toff, xb);
    if (dx) direct_pack_bwd(w, ci, co, k, wpk);
    /* streamed as the separate data gradient would stream the whole tensor */
    const int nt = dx ? direct_stream(dx, NULL, hw, sizeof(float) * (size_t)d->n * ci * hw) : 0;
    for (int i = 0; i < d->n; i++) {
        const size_t yo = (size_t)i * co * hw, xo = (size_t)i * ci * hw;
        CPU_K(cpu_bn_bwd_image)(co, hw, yf + yo, dyf + yo, 1, coef, aff, dxi);
        if (dx && k == 1) direct_run_1x1(dxi, 1, co, ci, hw, wpk, NULL, (float *)dx + xo, panel, off, NULL, nt, NULL);
        else if (dx) direct_run(dxi, 1, co, ci, d->h, d->w, k, 1, wpk, NULL, (float *)dx + xo, panel, off, NULL, nt);
        if (xin) direct_bn_relu_image((const float *)xin->x + xo, ci, hw, xaff, ximg);
        direct_filter_image(xin ? ximg : xf + xo, dxi, ci, co, d->h, d->w, k, accv, xp, toff, xb);
    }
    direct_filter_end(ci, co, k, accv, dw);
    ((tcet_cpu_impl *)be->impl)->direct_calls += dx ? 2 : 1;
    *done = 1;
    return 0;
#else
    (void)x, (void)w, (void)y, (void)dy, (void)gamma, (void)beta, (void)save_mean, (void)save_invstd;
    (void)dgamma, (void)dbeta, (void)dx;
    return 0;
#endif
}

/* A train-mode BN + ReLU feeding a 1x1 conv (kernels/backend.h,
 * bn_relu_conv_train): the BN's statistics alone (bn_fwd's passes without
 * the apply pass), then the direct 1x1 conv applying relu(bn()) as it packs
 * its input panels, with the coefficients bn_fwd would have applied
 * (bn_affine of the saved statistics: the same values).  *done = 0 unless
 * the direct kernels take the conv's forward and both gradients (the
 * backward must take it with xin). */
int CPU_K(cpu_bn_relu_conv_train)(tcet_backend *be, int dt, int n, int c, int hw, double eps, double momentum,
                                  const void *x, const void *gamma, const void *beta, void *running_mean,
                                  void *running_var, int update_running, void *save_mean, void *save_invstd,
                                  const tcet_conv_desc *d, const void *w, const void *bias, void *y, int *done)
{
    *done = 0;
    TCET_TRY(cpu_check_dtype(dt));
    TCET_TRY(cpu_check_conv(d));
    if (d->k != 1 || d->stride != 1 || d->cin != c || d->n != n || (size_t)d->h * d->w != (size_t)hw ||
        !save_mean || !save_invstd || !direct_wanted(be, dt, 0, d) || !direct_wanted(be, dt, 1, d) ||
        !direct_wanted(be, dt, 2, d))
        return 0;
#if CPU_HAVE_DIRECT
    TCET_TRY(CPU_K(cpu_bn_stats_train)(be, n, c, hw, eps, momentum, x, gamma, beta, running_mean, running_var,
                                       update_running, save_mean, save_invstd));
    float *aff = malloc(2 * (size_t)c * sizeof *aff);
    if (!aff) return TCET_FAIL(TCET_ERR_NOMEM, "CPU backend: out of memory (%d BN coefficients)", 2 * c);
    CPU_K(cpu_bn_bwd_affine)(c, gamma, beta, save_mean, save_invstd, aff);
    const int rc = direct_conv(be, 0, d, x, w, bias, y, NULL, aff);
    free(aff);
    if (rc == 0) *done = 1;
    return rc;
#else
    (void)eps, (void)momentum, (void)x, (void)gamma, (void)beta, (void)running_mean, (void)running_var;
    (void)update_running, (void)w, (void)bias, (void)y;
    return 0;
#endif
}

int CPU_K(cpu_conv_direct_ok)(const tcet_backend *be, int dt, int op, const tcet_conv_desc *d)
{
    return direct_wanted(be, dt, op, d);
}

int CPU_K(cpu_conv_bwd_filter)(tcet_backend *be, int dt, const tcet_conv_desc *d,
                        const void *x, const void *dy, void *dw, void *dbias)
{
    TCET_TRY(cpu_check_dtype(dt));
    TCET_TRY(cpu_check_conv(d));
    if (dw && direct_wanted(be, dt, 2, d)) {
        if (dbias) bias_grad_f32(d, dy, dbias);
        return direct_filter(be, d, x, dy, dw);
    }
    return dt == TCET_F32 ? conv_bwd_filter_f32(be, d, x, dy, dw, dbias)
                          : conv_bwd_filter_f64(be, d, x, dy, dw, dbias);
}
