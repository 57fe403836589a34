/* tcet_bench_ops: GFLOP/s of the CPU backend's convolutions (forward,
 * backward data, backward filter) on representative shapes, next to a
 * 1024^3 cblas_sgemm for comparison.
 *
 *   tcet_bench_ops [--threads N] [--min-time SECONDS] [--f64] [--only TEXT]
 *                  [--tiling TILE_N,COL_MAX,COL_BAND]   (see backend_cpu.h)
 *
 * Each entry is the best of repeated runs lasting at least --min-time
 * (default 0.5 s) of thread CPU time (see now()): on a shared machine the
 * best run is the least disturbed one.  FLOPs count 2 per multiply-add of the convolution proper. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "kernels/backend.h"
#include "kernels/cpu/backend_cpu.h"

typedef struct {
    const char *name;
    int n, cin, cout, k, stride, groups, hw;
} bench_shape;

static const bench_shape shapes[] = {
    { "3->64 @32x32 b64 k3", 64, 3, 64, 3, 1, 1, 32 },
    { "64->64 @32x32 b64 k3", 64, 64, 64, 3, 1, 1, 32 },
    { "128->128 @16x16 b64 k3", 64, 128, 128, 3, 1, 1, 16 },
    { "1x1 256->64 @8x8 b64", 64, 256, 64, 1, 1, 1, 8 },
    { "dw 96 @16x16 b64 k5", 64, 96, 96, 5, 1, 96, 16 },
    { "dw 96 @16x16 b64 k5 s2", 64, 96, 96, 5, 2, 96, 16 },
    { "64->128 @16x16 b64 k3 s2", 64, 64, 128, 3, 2, 1, 16 },
    { "1x1 32->128 @16x16 b64", 64, 32, 128, 1, 1, 1, 16 },
    { "160->160 @4x4 b64 k3", 64, 160, 160, 3, 1, 1, 4 },
};

/* The convolutions of ZenNet-1M (CIFAR, 32x32, scoring network without
 * residual links, docs/semantics.md#zennet-structures, docs/semantics.md#super-blocks) with how often each occurs. */
typedef struct {
    int cin, cout, k, stride, hw, mult;
} zen_layer;
static const zen_layer zennet1m[] = {
    { 3, 88, 3, 1, 32, 1 },     { 88, 16, 1, 1, 32, 1 },   { 16, 16, 7, 1, 32, 2 },  { 16, 120, 1, 1, 32, 2 },
    { 120, 16, 1, 1, 32, 2 },   { 16, 16, 7, 2, 32, 1 },   { 16, 192, 1, 1, 16, 6 }, { 192, 16, 1, 1, 16, 5 },
    { 16, 16, 7, 1, 16, 5 },    { 192, 24, 1, 1, 16, 1 },  { 24, 24, 5, 1, 16, 8 },  { 24, 224, 1, 1, 16, 8 },
    { 224, 24, 1, 1, 16, 8 },   { 24, 24, 5, 2, 16, 1 },   { 24, 96, 1, 1, 8, 4 },   { 96, 24, 1, 1, 8, 3 },
    { 24, 24, 5, 1, 8, 3 },     { 96, 40, 1, 1, 8, 1 },    { 40, 40, 3, 2, 8, 1 },   { 40, 168, 1, 1, 4, 6 },
    { 168, 40, 1, 1, 4, 5 },    { 40, 40, 3, 1, 4, 5 },    { 168, 48, 1, 1, 4, 1 },  { 48, 48, 3, 1, 4, 6 },
    { 48, 112, 1, 1, 4, 6 },    { 112, 48, 1, 1, 4, 5 },   { 112, 512, 1, 1, 4, 1 },
};

/* With one BLAS thread the calling thread's CPU time is measured: on a
 * shared machine it leaves out the time the thread was descheduled (cache
 * and memory contention still show).  With more threads: wall time. */
static clockid_t bench_clock = CLOCK_THREAD_CPUTIME_ID;

static double now(void)
{
    struct timespec t;
    clock_gettime(bench_clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void fill(void *p, size_t n, int dt)
{
    unsigned s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        double v = (double)(s >> 8) / (double)(1u << 24) - 0.5;
        if (dt == TCET_F64)
            ((double *)p)[i] = v;
        else
            ((float *)p)[i] = (float)v;
    }
}

/* best seconds per call of op over runs totalling >= min_time */
static double best_time(tcet_backend *be, int dt, int op, const tcet_conv_desc *d, void *x, void *w, void *b,
                        void *y, void *dx, void *dw, double min_time)
{
    double best = 1e30, t_end = now() + min_time;
    int runs = 0;
    while (runs < 3 || now() < t_end) {
        double t0 = now();
        int rc = op == 0   ? be->conv_fwd(be, dt, d, x, w, b, y)
                 : op == 1 ? be->conv_bwd_data(be, dt, d, w, y, dx)
                           : be->conv_bwd_filter(be, dt, d, x, y, dw, NULL);
        double t = now() - t0;
        if (rc) {
            tcet_error_print();
            exit(1);
        }
        if (t < best) best = t;
        runs++;
    }
    return best;
}

int main(int argc, char **argv)
{
    int threads = 1, dt = TCET_F32;
    double min_time = 0.5;
    const char *only = NULL; /* run only shapes whose name contains this */
    size_t tiling[3] = { 0, 0, 0 };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-time") && i + 1 < argc)
            min_time = atof(argv[++i]);
        else if (!strcmp(argv[i], "--tiling") && i + 1 < argc &&
                 sscanf(argv[i + 1], "%zu,%zu,%zu", &tiling[0], &tiling[1], &tiling[2]) == 3)
            i++;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--f64"))
            dt = TCET_F64;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--min-time SECONDS] [--f64] [--only TEXT] "
                            "[--tiling TILE_N,COL_MAX,COL_BAND]\n", argv[0]);
            return 2;
        }
    }
    tcet_backend *be = tcet_backend_cpu_create(threads);
    if (threads > 1) bench_clock = CLOCK_MONOTONIC;
    tcet_cpu_set_conv_tiling(be, tiling[0], tiling[1], tiling[2]);
    const size_t es = tcet_dtype_size(dt);
    printf("backend: %s, %s, best of runs >= %.2f s of %s time\n", be->device,
           dt == TCET_F64 ? "float64" : "float32", min_time, threads > 1 ? "wall" : "thread CPU");
    printf("%-28s %9s %9s %9s   %s\n", "conv shape", "fwd", "bwd_data", "bwd_filt", "(GFLOP/s; ms fwd)");
    size_t nshapes = sizeof shapes / sizeof *shapes, nzen = sizeof zennet1m / sizeof *zennet1m;
    double zen_flops = 0, zen_t[3] = { 0, 0, 0 };
    for (size_t s = 0; s < nshapes + nzen; s++) {
        bench_shape b;
        char name[64];
        int mult = 1;
        if (s < nshapes) {
            b = shapes[s];
        } else {
            const zen_layer *z = &zennet1m[s - nshapes];
            snprintf(name, sizeof name, "Z1M %dx%d %d->%d @%d s%d x%d", z->k, z->k, z->cin, z->cout, z->hw,
                     z->stride, z->mult);
            b = (bench_shape){ name, 64, z->cin, z->cout, z->k, z->stride, 1, z->hw };
            mult = z->mult;
        }
        if (only && !strstr(b.name, only)) continue;
        tcet_conv_desc d = { .n = b.n, .cin = b.cin, .cout = b.cout, .k = b.k, .stride = b.stride,
                             .pad = b.k / 2, .groups = b.groups, .h = b.hw, .w = b.hw };
        d.ho = (d.h + 2 * d.pad - d.k) / d.stride + 1;
        d.wo = (d.w + 2 * d.pad - d.k) / d.stride + 1;
        size_t nx = (size_t)d.n * d.cin * d.h * d.w, ny = (size_t)d.n * d.cout * d.ho * d.wo;
        size_t nw = (size_t)d.cout * (d.cin / d.groups) * d.k * d.k;
        void *x = be->alloc(be, nx * es), *dx = be->alloc(be, nx * es), *y = be->alloc(be, ny * es);
        void *w = be->alloc(be, nw * es), *dw = be->alloc(be, nw * es), *bias = be->alloc(be, d.cout * es);
        if (!x || !dx || !y || !w || !dw || !bias) {
            tcet_error_print();
            return 1;
        }
        fill(x, nx, dt), fill(w, nw, dt), fill(bias, d.cout, dt);
        const double flops = 2.0 * (double)ny * (d.cin / d.groups) * d.k * d.k;
        double t[3];
        for (int op = 0; op < 3; op++)
            t[op] = best_time(be, dt, op, &d, x, w, NULL, y, dx, dw, s < nshapes ? min_time : min_time / 5);
        if (s == nshapes) printf("ZenNet-1M convolutions, batch 64 (xN = occurrences in the net):\n");
        printf("%-28s %9.1f %9.1f %9.1f   %.2f ms\n", b.name, flops / t[0] * 1e-9, flops / t[1] * 1e-9,
               flops / t[2] * 1e-9, t[0] * 1e3);
        if (s >= nshapes) {
            zen_flops += mult * flops;
            for (int op = 0; op < 3; op++) zen_t[op] += mult * t[op];
        }
        be->release(be, x), be->release(be, dx), be->release(be, y);
        be->release(be, w), be->release(be, dw), be->release(be, bias);
    }
    if (zen_flops > 0) {
        printf("%-28s %9.1f %9.1f %9.1f   %.1f ms fwd+bwd, %.0f MFLOP/image fwd\n", "ZenNet-1M all convs",
               zen_flops / zen_t[0] * 1e-9, zen_flops / zen_t[1] * 1e-9, zen_flops / zen_t[2] * 1e-9,
               (zen_t[0] + zen_t[1] + zen_t[2]) * 1e3, zen_flops / 64 * 1e-6);
        printf("%-28s %9.1f  (fwd + bwd_data + bwd_filter together)\n", "ZenNet-1M effective",
               3 * zen_flops / (zen_t[0] + zen_t[1] + zen_t[2]) * 1e-9);
    }
    /* memory-bound ops on two ZenNet-1M activations (64 x 120 x 32 x 32, 64 x 224 x 16 x 16) */
    for (int shape = 0; shape < 2 && (!only || strstr("elementwise", only)); shape++) {
        const int n = 64, c = shape ? 224 : 120, hw = shape ? 16 * 16 : 32 * 32;
        const size_t cnt = (size_t)n * c * hw;
        void *x = be->alloc(be, cnt * es), *y = be->alloc(be, cnt * es), *g = be->alloc(be, cnt * es);
        void *p = be->alloc(be, 6 * c * es);
        if (!x || !y || !g || !p) {
            tcet_error_print();
            return 1;
        }
        fill(x, cnt, dt), fill(g, cnt, dt), fill(p, 6 * (size_t)c, dt);
        char *pc = p;
        void *gamma = pc, *beta = pc + c * es, *rm = pc + 2 * c * es, *rv = pc + 3 * c * es;
        void *sm = pc + 4 * c * es, *si = pc + 5 * c * es;
        fill(rv, c, dt); /* positive enough: only timing */
        /* each run starts with the tensors out of the caches, as in a network
         * (the ops' inputs come from a conv that streamed them to memory) */
        const size_t flush_n = (size_t)48 << 18;
        float *flush = malloc(flush_n * sizeof *flush);
        if (!flush) return 5;
        enum { NOPS = 7 };
        const char *names[NOPS] = { "bn_fwd (train)", "bn_relu_fwd (train, relu)", "bn_bwd", "bn_relu_bwd",
                                    "relu_fwd", "relu_bwd", "add" };
        /* tensor reads + writes per element, as if each tensor moved once */
        const double passes[NOPS] = { 2, 2, 3, 3, 2, 3, 3 };
        printf("%-28s %9s %9s   (activation %dx%dx%dx%d)\n", "op", "ms", "GB/s", n, c, shape ? 16 : 32,
               shape ? 16 : 32);
        for (int op = 0; op < NOPS; op++) {
            if ((op == 1 && !be->bn_relu_fwd) || (op == 3 && !be->bn_relu_bwd)) continue;
            double best = 1e30, t_end = now() + min_time;
            for (int runs = 0; runs < 3 || now() < t_end; runs++) {
                for (size_t k = 0; k < flush_n; k++) flush[k] = (float)k;
                double t0 = now();
                int rc = op == 0   ? be->bn_fwd(be, dt, 1, n, c, hw, 1e-3, 0.1, x, gamma, beta, rm, rv, 0, y, sm, si)
                         : op == 1 ? be->bn_relu_fwd(be, dt, 1, n, c, hw, 1e-3, 0.1, x, gamma, beta, rm, rv, 0,
                                                     NULL, y, sm, si)
                         : op == 2 ? be->bn_bwd(be, dt, n, c, hw, x, g, gamma, sm, si, y, rm, rv)
                         : op == 3 ? be->bn_relu_bwd(be, dt, n, c, hw, x, g, gamma, beta, sm, si, y, rm, rv)
                         : op == 4 ? be->relu_fwd(be, dt, cnt, x, y)
                         : op == 5 ? be->relu_bwd(be, dt, cnt, x, g, y)
                                   : be->add(be, dt, cnt, x, g, y);
                double tt = now() - t0;
                if (rc) {
                    tcet_error_print();
                    return 1;
                }
                if (tt < best) best = tt;
            }
            printf("%-28s %9.2f %9.1f\n", names[op], best * 1e3, passes[op] * cnt * es / best * 1e-9);
        }
        free(flush);
        be->release(be, x), be->release(be, y), be->release(be, g), be->release(be, p);
    }
    /* the BLAS alone, for comparison */
    const int n = 1024;
    float *a = malloc((size_t)n * n * 4), *bm = malloc((size_t)n * n * 4), *c = malloc((size_t)n * n * 4);
    if (!a || !bm || !c) return 5;
    fill(a, (size_t)n * n, TCET_F32), fill(bm, (size_t)n * n, TCET_F32);
    double best = 1e30, t_end = now() + min_time;
    for (int runs = 0; runs < 3 || now() < t_end; runs++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, bm, n, 0, c, n);
        double tt = now() - t0;
        if (tt < best) best = tt;
    }
    printf("%-28s %9.1f\n", "cblas_sgemm 1024^3", 2.0 * n * n * n / best * 1e-9);
    printf("scratch: %zu bytes\n", tcet_cpu_scratch_capacity(be));
    free(a), free(bm), free(c);
    be->destroy(be);
    return 0;
}
