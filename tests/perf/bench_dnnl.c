/* bench_dnnl: the CPU backend's convolutions (im2col + OpenBLAS) against
 * oneDNN's on every conv shape of ZenNet-1M and ZenNet-2M (batch 64, CIFAR
 * 32x32, scoring network), forward, backward data and backward filter, one
 * thread: the measurement behind the choice of shapes in
 * kernels/cpu/cpu_dnnl.c (the tcet column is the im2col path).  Build and
 * run (Debian: libdnnl-dev, tcet built with oneDNN):
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Ibuild/layers/common -Ibuild/layers/kernels -Ibuild/generated \
 *      -I/usr/include/x86_64-linux-gnu/openblas-pthread tests/perf/bench_dnnl.c \
 *      build/libtcet_kernels.a build/libtcet_common.a -o /tmp/bench_dnnl $(pkg-config --libs ompi-c hdf5) \
 *      -ldnnl -lgomp -llapacke -lopenblas -lm -lpthread
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /tmp/bench_dnnl [--min-time S] [--only TEXT]
 *
 * oneDNN runs in two layouts: "plain" (NCHW activations, OIHW weights: the
 * layout of tcet's tensors, no copies) and "blocked" (the layout oneDNN picks,
 * format "any", plus the reorders of the activations in and out that tcet
 * would need; the weights' reorder is not counted).  Times: best of repeated
 * runs, thread CPU time (OMP_NUM_THREADS=1: one thread), as tcet_bench_ops. */
#include <cblas.h>
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "kernels/backend.h"
#include "kernels/cpu/backend_cpu.h"

typedef struct {
    int cin, cout, k, stride, hw, mult;
} zen_layer;

static const zen_layer zen1[] = {
    {3, 88, 3, 1, 32, 1},    {88, 16, 1, 1, 32, 1},   {16, 16, 7, 1, 32, 2},  {16, 120, 1, 1, 32, 2},
    {120, 16, 1, 1, 32, 2},  {16, 16, 7, 2, 32, 1},   {16, 192, 1, 1, 16, 6}, {192, 16, 1, 1, 16, 5},
    {16, 16, 7, 1, 16, 5},   {192, 24, 1, 1, 16, 1},  {24, 24, 5, 1, 16, 8},  {24, 224, 1, 1, 16, 8},
    {224, 24, 1, 1, 16, 8},  {24, 24, 5, 2, 16, 1},   {24, 96, 1, 1, 8, 4},   {96, 24, 1, 1, 8, 3},
    {24, 24, 5, 1, 8, 3},    {96, 40, 1, 1, 8, 1},    {40, 40, 3, 2, 8, 1},   {40, 168, 1, 1, 4, 6},
    {168, 40, 1, 1, 4, 5},   {40, 40, 3, 1, 4, 5},    {168, 48, 1, 1, 4, 1},  {48, 48, 3, 1, 4, 6},
    {48, 112, 1, 1, 4, 6},   {112, 48, 1, 1, 4, 5},   {112, 512, 1, 1, 4, 1},
};
static const zen_layer zen2[] = {
    {3, 32, 3, 1, 32, 1},    {32, 40, 1, 1, 32, 1},   {40, 40, 5, 1, 32, 2},  {40, 120, 1, 1, 32, 2},
    {120, 40, 1, 1, 32, 1},  {120, 32, 1, 1, 32, 1},  {32, 32, 5, 2, 32, 1},  {32, 176, 1, 1, 16, 6},
    {176, 32, 1, 1, 16, 5},  {32, 32, 5, 1, 16, 5},   {176, 24, 1, 1, 16, 1}, {24, 24, 7, 1, 16, 6},
    {24, 272, 1, 1, 16, 6},  {272, 24, 1, 1, 16, 5},  {272, 56, 1, 1, 16, 1}, {56, 56, 3, 1, 16, 6},
    {56, 176, 1, 1, 16, 6},  {176, 56, 1, 1, 16, 5},  {176, 64, 1, 1, 16, 8}, {64, 64, 3, 1, 16, 8},
    {64, 176, 1, 1, 16, 8},  {176, 40, 1, 1, 16, 1},  {40, 40, 5, 2, 16, 1},  {40, 216, 1, 1, 8, 4},
    {216, 40, 1, 1, 8, 3},   {40, 40, 5, 1, 8, 3},    {216, 56, 1, 1, 8, 1},  {56, 56, 3, 2, 8, 1},
    {56, 72, 1, 1, 4, 4},    {72, 56, 1, 1, 4, 3},    {56, 56, 3, 1, 4, 3},   {72, 512, 1, 1, 4, 1},
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define DN(call)                                                                       \
    do {                                                                               \
        dnnl_status_t st_ = (call);                                                    \
        if (st_ != dnnl_success) {                                                     \
            fprintf(stderr, "bench_dnnl: %s failed (%d) at line %d\n", #call, (int)st_, __LINE__); \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static dnnl_engine_t eng;
static dnnl_stream_t strm;

static void fill(float *p, size_t n, unsigned s)
{
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        p[i] = (float)((double)(s >> 8) / (double)(1u << 24) - 0.5);
    }
}

/* a oneDNN conv op (0 fwd, 1 bwd data, 2 bwd weights), ready to run */
typedef struct {
    dnnl_primitive_t prim, rin, rout;  /* rin: reorder of the input activation, rout: of the output */
    dnnl_memory_t m_in_user, m_in, m_w, m_out, m_out_user;
    int in_arg, w_arg, out_arg;
    const char *impl;
} dn_op;

static dnnl_memory_t mem_of(const dnnl_memory_desc_t *md, void *handle)
{
    dnnl_memory_t m;
    DN(dnnl_memory_create(&m, md, eng, handle ? handle : DNNL_MEMORY_ALLOCATE));
    return m;
}

static dnnl_primitive_t reorder(dnnl_memory_t from, dnnl_memory_t to)
{
    const dnnl_memory_desc_t *a, *b;
    DN(dnnl_memory_get_memory_desc(from, &a));
    DN(dnnl_memory_get_memory_desc(to, &b));
    if (dnnl_memory_desc_equal(a, b)) return NULL;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    DN(dnnl_reorder_primitive_desc_create(&pd, a, eng, b, eng, NULL));
    DN(dnnl_primitive_create(&p, pd));
    DN(dnnl_primitive_desc_destroy(pd));
    return p;
}

static void run_reorder(dnnl_primitive_t p, dnnl_memory_t from, dnnl_memory_t to)
{
    if (!p) return;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    DN(dnnl_primitive_execute(p, strm, 2, a));
}

/* user buffers: x (NCHW), w (OIHW), y (NCHW); op 0: x,w -> y; 1: w,y -> x; 2: x,y -> w */
static dn_op dn_make(int op, int blocked, const tcet_conv_desc *d, float *x, float *w, float *y,
                     const dnnl_primitive_desc_t *fwd_hint_out)
{
    dnnl_dims_t xd = {d->n, d->cin, d->h, d->w}, yd = {d->n, d->cout, d->ho, d->wo},
                wd = {d->cout, d->cin, d->k, d->k}, st = {d->stride, d->stride}, pl = {d->pad, d->pad}, pr;
    pr[0] = (d->ho - 1) * d->stride + d->k - d->h - d->pad;
    pr[1] = (d->wo - 1) * d->stride + d->k - d->w - d->pad;
    dnnl_memory_desc_t ux, uy, uw, ax, ay, aw;
    DN(dnnl_memory_desc_init_by_tag(&ux, 4, xd, dnnl_f32, dnnl_nchw));
    DN(dnnl_memory_desc_init_by_tag(&uy, 4, yd, dnnl_f32, dnnl_nchw));
    DN(dnnl_memory_desc_init_by_tag(&uw, 4, wd, dnnl_f32, dnnl_oihw));
    const dnnl_format_tag_t t = blocked ? dnnl_format_tag_any : dnnl_nchw;
    DN(dnnl_memory_desc_init_by_tag(&ax, 4, xd, dnnl_f32, t));
    DN(dnnl_memory_desc_init_by_tag(&ay, 4, yd, dnnl_f32, t));
    DN(dnnl_memory_desc_init_by_tag(&aw, 4, wd, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_oihw));
    /* the forward pd (also the hint of the backward ones) */
    dnnl_convolution_desc_t fd, cd;
    DN(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &ax, &aw, NULL, &ay,
                                          st, pl, pr));
    dnnl_primitive_desc_t fpd, pd;
    DN(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    if (op == 0) {
        pd = fpd;
    } else {
        if (op == 1)
            DN(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &ax, &aw, &ay, st, pl, pr));
        else
            DN(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &ax, &aw, NULL, &ay, st, pl,
                                                           pr));
        DN(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, fpd));
    }
    (void)fwd_hint_out;
    dn_op o;
    memset(&o, 0, sizeof o);
    DN(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &o.impl));
    DN(dnnl_primitive_create(&o.prim, pd));
    const dnnl_query_t qin = op == 0 ? dnnl_query_src_md : op == 1 ? dnnl_query_diff_dst_md : dnnl_query_src_md;
    const dnnl_query_t qw = op == 2 ? dnnl_query_diff_weights_md : dnnl_query_weights_md;
    const dnnl_query_t qout = op == 0 ? dnnl_query_dst_md : op == 1 ? dnnl_query_diff_src_md : dnnl_query_diff_dst_md;
    /* inputs/outputs by role */
    const dnnl_memory_desc_t *mdin = dnnl_primitive_desc_query_md(pd, qin, 0);
    const dnnl_memory_desc_t *mdw = dnnl_primitive_desc_query_md(pd, qw, 0);
    const dnnl_memory_desc_t *mdout = dnnl_primitive_desc_query_md(pd, op == 2 ? dnnl_query_diff_dst_md : qout, 0);
    if (op == 0) {
        o.m_in_user = mem_of(&ux, x), o.m_in = mem_of(mdin, NULL);
        o.m_w = mem_of(mdw, NULL);
        o.m_out = mem_of(mdout, NULL), o.m_out_user = mem_of(&uy, y);
        o.in_arg = DNNL_ARG_SRC, o.w_arg = DNNL_ARG_WEIGHTS, o.out_arg = DNNL_ARG_DST;
        dnnl_memory_t uwm = mem_of(&uw, w);
        dnnl_primitive_t r = reorder(uwm, o.m_w);
        run_reorder(r, uwm, o.m_w);
        if (!r) DN(dnnl_memory_set_data_handle(o.m_w, w));
    } else if (op == 1) {
        o.m_in_user = mem_of(&uy, y), o.m_in = mem_of(mdin, NULL);
        o.m_w = mem_of(mdw, NULL);
        o.m_out = mem_of(mdout, NULL), o.m_out_user = mem_of(&ux, x);
        o.in_arg = DNNL_ARG_DIFF_DST, o.w_arg = DNNL_ARG_WEIGHTS, o.out_arg = DNNL_ARG_DIFF_SRC;
        dnnl_memory_t uwm = mem_of(&uw, w);
        dnnl_primitive_t r = reorder(uwm, o.m_w);
        run_reorder(r, uwm, o.m_w);
        if (!r) DN(dnnl_memory_set_data_handle(o.m_w, w));
    } else {
        /* two inputs (x, dy), one output (dw, reordered back to OIHW) */
        o.m_in_user = mem_of(&ux, x), o.m_in = mem_of(mdin, NULL);
        o.m_out_user = mem_of(&uy, y), o.m_out = mem_of(mdout, NULL); /* dy: an input here */
        o.m_w = mem_of(mdw, NULL);
        o.in_arg = DNNL_ARG_SRC, o.out_arg = DNNL_ARG_DIFF_DST, o.w_arg = DNNL_ARG_DIFF_WEIGHTS;
    }
    o.rin = reorder(o.m_in_user, o.m_in);
    if (!o.rin) DN(dnnl_memory_set_data_handle(o.m_in, op == 1 ? y : x));
    if (op == 2) {
        o.rout = reorder(o.m_out_user, o.m_out); /* dy in */
        if (!o.rout) DN(dnnl_memory_set_data_handle(o.m_out, y));
    } else {
        o.rout = reorder(o.m_out, o.m_out_user);
        if (!o.rout) DN(dnnl_memory_set_data_handle(o.m_out, op == 0 ? y : x));
    }
    return o;
}

static void dn_run(int op, dn_op *o)
{
    run_reorder(o->rin, o->m_in_user, o->m_in);
    if (op == 2) run_reorder(o->rout, o->m_out_user, o->m_out);
    dnnl_exec_arg_t a[3] = {{o->in_arg, o->m_in}, {o->w_arg, o->m_w}, {o->out_arg, o->m_out}};
    DN(dnnl_primitive_execute(o->prim, strm, 3, a));
    if (op != 2) run_reorder(o->rout, o->m_out, o->m_out_user);
    DN(dnnl_stream_wait(strm));
}

static double best_of(double min_time, void (*fn)(void *), void *ctx)
{
    double best = 1e30, t_end = now() + min_time;
    for (int runs = 0; runs < 3 || now() < t_end; runs++) {
        double t0 = now();
        fn(ctx);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

typedef struct {
    tcet_backend *be;
    int op;
    tcet_conv_desc *d;
    float *x, *w, *y, *dx, *dw;
    dn_op *dn;
} ctx_t;

static void run_tcet(void *p)
{
    ctx_t *c = p;
    int rc = c->op == 0   ? c->be->conv_fwd(c->be, TCET_F32, c->d, c->x, c->w, NULL, c->y)
             : c->op == 1 ? c->be->conv_bwd_data(c->be, TCET_F32, c->d, c->w, c->y, c->dx)
                          : c->be->conv_bwd_filter(c->be, TCET_F32, c->d, c->x, c->y, c->dw, NULL);
    if (rc) {
        tcet_error_print();
        exit(1);
    }
}

static void run_dn(void *p)
{
    ctx_t *c = p;
    dn_run(c->op, c->dn);
}

int main(int argc, char **argv)
{
    double min_time = 0.3;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--min-time") && i + 1 < argc) min_time = atof(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--min-time S] [--only TEXT]\n", argv[0]);
            return 2;
        }
    }
    tcet_backend *be = tcet_backend_cpu_create(1);
    if (!be) {
        tcet_error_print();
        return 6;
    }
    tcet_cpu_set_conv_engine(be, TCET_CPU_CONV_IM2COL);
    DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
    DN(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    const dnnl_version_t *v = dnnl_version();
    char model[96];
    tcet_cpu_model(model, sizeof model);
    printf("CPU %s; tcet: %s; oneDNN %d.%d.%d (%s)\n", model, be->device, v->major, v->minor,
           v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other");
    printf("GFLOP/s, batch 64, one thread; per op: tcet | oneDNN plain (NCHW) | oneDNN blocked (+ reorders); "
           "* = the fastest; [oneDNN implementations plain/blocked per op]\n");
    const char *opn[3] = {"fwd", "bwd_data", "bwd_filter"};
    for (int net = 0; net < 2; net++) {
        const zen_layer *L = net ? zen2 : zen1;
        const size_t nl = net ? sizeof zen2 / sizeof *zen2 : sizeof zen1 / sizeof *zen1;
        double tot[3][3] = {{0}}, best_pick[3] = {0}, flops_all = 0;
        printf("\nZenNet-%dM\n%-24s", net + 1, "conv (xN in the net)");
        for (int op = 0; op < 3; op++) printf(" | %-28s", opn[op]);
        printf("\n");
        for (size_t li = 0; li < nl; li++) {
            const zen_layer *z = &L[li];
            char name[64];
            snprintf(name, sizeof name, "%dx%d %d->%d @%d s%d x%d", z->k, z->k, z->cin, z->cout, z->hw, z->stride,
                     z->mult);
            if (only && !strstr(name, only)) continue;
            tcet_conv_desc d = {.n = 64, .cin = z->cin, .cout = z->cout, .k = z->k, .stride = z->stride,
                                .pad = z->k / 2, .groups = 1, .h = z->hw, .w = z->hw};
            d.ho = (d.h + 2 * d.pad - d.k) / d.stride + 1;
            d.wo = (d.w + 2 * d.pad - d.k) / d.stride + 1;
            const size_t nx = (size_t)d.n * d.cin * d.h * d.w, ny = (size_t)d.n * d.cout * d.ho * d.wo;
            const size_t nw = (size_t)d.cout * d.cin * d.k * d.k;
            float *x = malloc(nx * 4), *dx = malloc(nx * 4), *y = malloc(ny * 4), *w = malloc(nw * 4),
                  *dw = malloc(nw * 4);
            if (!x || !dx || !y || !w || !dw) return 5;
            fill(x, nx, 1), fill(y, ny, 2), fill(w, nw, 3);
            const double flops = 2.0 * (double)ny * d.cin * d.k * d.k;
            flops_all += z->mult * flops;
            printf("%-24s", name);
            const char *impls[3][2];
            for (int op = 0; op < 3; op++) {
                ctx_t c = {be, op, &d, x, w, y, dx, dw, NULL};
                double t[3];
                t[0] = best_of(min_time, run_tcet, &c);
                for (int blk = 0; blk < 2; blk++) {
                    /* oneDNN writes into its own copies: y / dx / dw of tcet untouched by layout */
                    float *ox = op == 1 ? malloc(nx * 4) : x, *oy = op == 0 ? malloc(ny * 4) : y;
                    if (!ox || !oy) return 5;
                    dn_op o = dn_make(op, blk, &d, ox, w, oy, NULL);
                    c.dn = &o;
                    t[1 + blk] = best_of(min_time, run_dn, &c);
                    impls[op][blk] = o.impl;
                    if (op == 1) free(ox);
                    if (op == 0) free(oy);
                }
                int bi = t[0] <= t[1] && t[0] <= t[2] ? 0 : t[1] <= t[2] ? 1 : 2;
                for (int k = 0; k < 3; k++) tot[op][k] += z->mult * t[k];
                best_pick[op] += z->mult * t[bi];
                printf(" | %6.1f%s %6.1f%s %6.1f%s", flops / t[0] * 1e-9, bi == 0 ? "*" : " ", flops / t[1] * 1e-9,
                       bi == 1 ? "*" : " ", flops / t[2] * 1e-9, bi == 2 ? "*" : " ");
            }
            printf("  [%s/%s %s/%s %s/%s]\n", impls[0][0], impls[0][1], impls[1][0], impls[1][1], impls[2][0],
                   impls[2][1]);
            free(x), free(dx), free(y), free(w), free(dw);
        }
        printf("%-24s", "all convs (weighted)");
        for (int op = 0; op < 3; op++)
            printf(" | %6.1f  %6.1f  %6.1f ", flops_all / tot[op][0] * 1e-9, flops_all / tot[op][1] * 1e-9,
                   flops_all / tot[op][2] * 1e-9);
        printf("\n%-24s", "best per shape");
        for (int op = 0; op < 3; op++) printf(" | %6.1f %22s", flops_all / best_pick[op] * 1e-9, "");
        printf("\nfwd+bwd ms: tcet %.1f, oneDNN plain %.1f, oneDNN blocked %.1f, best per shape and op %.1f\n",
               (tot[0][0] + tot[1][0] + tot[2][0]) * 1e3, (tot[0][1] + tot[1][1] + tot[2][1]) * 1e3,
               (tot[0][2] + tot[1][2] + tot[2][2]) * 1e3, (best_pick[0] + best_pick[1] + best_pick[2]) * 1e3);
    }
    be->destroy(be);
    return 0;
}
