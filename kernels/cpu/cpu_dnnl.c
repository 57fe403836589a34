/* oneDNN convolutions for the shapes where they beat im2col + OpenBLAS.
 *
 * Measured on every conv of ZenNet-1M and ZenNet-2M (tests/perf/bench_dnnl.c,
 * docs/performance.md): oneDNN's direct JIT convolutions in its blocked
 * layout (nChw8c on AVX2, nChw16c on AVX-512), reorders of the activations
 * in and out included, run the k x k convs (k >= 3) with 8..48 channels
 * 1.3-2.5x faster than im2col + sgemm, whose GEMM has only 16-48 rows there.
 * For the weight gradient of the 1x1 convs on planes of 8x8 and more,
 * oneDNN's own GEMM on tcet's NCHW layout (no copies) measured faster than
 * OpenBLAS too.  The other 1x1 ops and the first conv (3 input channels)
 * stay on OpenBLAS.
 *
 * Results: oneDNN's kernels are deterministic for a given shape, CPU
 * instruction set and thread count, so a run is bit-reproducible run to run
 * and across lanes (each backend runs its oneDNN calls with its own thread
 * count); they differ from the im2col path in the last bits (another
 * summation order), inside the golden tolerances.  oneDNN's JIT is limited
 * to the instruction set of the backend's kernel path (TCET_CPU_ISA=avx2 on an
 * AVX-512 machine runs oneDNN's AVX2 kernels); the generic path does not use
 * oneDNN.
 *
 * Primitives are created once per shape and op and kept in the backend
 * (cpu_dnnl_state); the blocked copies and oneDNN's scratchpad live in the
 * backend's scratch arena, so steady-state calls do not allocate. */
#include "kernels/cpu/cpu_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#if TCET_HAVE_DNNL
#include <dnnl.h>

void omp_set_num_threads(int n); /* libgomp: oneDNN's threads (OpenMP runtime) */

#define DNNL_MAX_ENTRIES 128

/* Roles: A (always an input), B and W.  fwd: A = x, W = w, B = y (out);
 * bwd_data: A = dy, W = w, B = dx (out); bwd_filter: A = x, B = dy, W = dw (out). */
typedef struct {
    int op;
    tcet_conv_desc d;
    int usable;                       /* 0: oneDNN offered no JIT kernel; im2col runs */
    dnnl_primitive_t conv;
    dnnl_memory_t u[3], i[3];         /* [A, B, W]: tcet layout (NCHW/OIHW), oneDNN's layout (NULL: same) */
    dnnl_primitive_t r[3];            /* reorder between u and i (NULL: same layout) */
    size_t sz[3], sz_pad;             /* bytes of the i buffers and of the scratchpad */
    dnnl_memory_t pad;
} dnnl_entry;

struct cpu_dnnl_state {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    int threads;
    int n;
    dnnl_entry e[DNNL_MAX_ENTRIES];
};

static int dn_fail(dnnl_status_t st, const char *what)
{
    return TCET_FAIL(TCET_ERR_BACKEND, "oneDNN: %s failed (status %d)", what, (int)st);
}

#define DN_TRY(call)                                          \
    do {                                                      \
        dnnl_status_t st_ = (call);                           \
        if (st_ != dnnl_success) return dn_fail(st_, #call);  \
    } while (0)

int cpu_dnnl_create(tcet_cpu_impl *c)
{
    c->dnnl = NULL;
    if (c->isa == TCET_CPU_ISA_GENERIC) return 0;
    /* once per process, before the first JIT kernel; later calls change
     * nothing (all backends of a process run the same path but in tests) */
    static int isa_set = 0;
    if (!isa_set) {
        isa_set = 1;
        (void)dnnl_set_max_cpu_isa(c->isa == TCET_CPU_ISA_AVX2 ? dnnl_cpu_isa_avx2 : dnnl_cpu_isa_avx512_core);
    }
    cpu_dnnl_state *s = calloc(1, sizeof *s);
    if (!s) return TCET_FAIL(TCET_ERR_NOMEM, "CPU backend: cannot allocate the oneDNN state");
    s->threads = c->threads;
    dnnl_status_t st = dnnl_engine_create(&s->eng, dnnl_cpu, 0);
    if (st == dnnl_success) st = dnnl_stream_create(&s->strm, s->eng, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        if (s->eng) dnnl_engine_destroy(s->eng);
        free(s);
        return dn_fail(st, "engine/stream creation");
    }
    c->dnnl = s;
    return 0;
}

static void entry_free(dnnl_entry *e)
{
    if (e->conv) dnnl_primitive_destroy(e->conv);
    for (int k = 0; k < 3; k++) {
        if (e->r[k]) dnnl_primitive_destroy(e->r[k]);
        if (e->u[k]) dnnl_memory_destroy(e->u[k]);
        if (e->i[k]) dnnl_memory_destroy(e->i[k]);
    }
    if (e->pad) dnnl_memory_destroy(e->pad);
    memset(e, 0, sizeof *e);
}

void cpu_dnnl_destroy(tcet_cpu_impl *c)
{
    cpu_dnnl_state *s = c->dnnl;
    if (!s) return;
    for (int k = 0; k < s->n; k++) entry_free(&s->e[k]);
    dnnl_stream_destroy(s->strm);
    dnnl_engine_destroy(s->eng);
    free(s);
    c->dnnl = NULL;
}

/* Which convs go to oneDNN: float32, dense, no bias, k x k with k >= 3 and
 * at least 16 input channels (where it measured faster for all three ops),
 * except the weight gradient of 3x3 convs with more than 48 input channels
 * (im2col measured faster); and the weight gradient of stride-1 1x1 convs on
 * planes of at least 8x8 (oneDNN's GEMM on NCHW).  AUTO sends the weight
 * gradients there, and the data gradients of stride-2 convs: the forward in
 * oneDNN's summation order flips ReLU units of two rounding-sensitive golden
 * cases (a T-CET(SNIP) layer of `bottleneck`, the ZiCo score of `k7`) out of
 * their tolerances; gradients feed no activation.  ONEDNN sends all three. */
int cpu_dnnl_wanted(const tcet_cpu_impl *c, int dt, int op, const tcet_conv_desc *d, int has_bias)
{
    if (!c->dnnl || c->conv_engine == TCET_CPU_CONV_IM2COL) return 0;
    if (dt != TCET_F32 || d->groups != 1 || has_bias) return 0;
    if (d->k == 1) /* weight gradient, plain layout */
        return op == 2 && d->stride == 1 && d->pad == 0 && d->h >= 8 && d->w >= 8;
    if (d->k < 3 || d->cin < 16) return 0;
    if (op == 2 && d->k == 3 && d->cin > 48) return 0;
    /* auto: the weight gradients, and the data gradients of stride-2 convs
     * (which the direct kernels do not take: im2col ran them at 19-30
     * GFLOP/s, oneDNN's blocked JIT at 38-74; docs/performance.md).
     * Neither feeds an activation, so no ReLU unit can flip. */
    return c->conv_engine == TCET_CPU_CONV_ONEDNN || op == 2 || (op == 1 && d->stride == 2);
}

static int same_desc(const tcet_conv_desc *a, const tcet_conv_desc *b)
{
    return a->n == b->n && a->cin == b->cin && a->cout == b->cout && a->k == b->k && a->stride == b->stride &&
           a->pad == b->pad && a->groups == b->groups && a->h == b->h && a->w == b->w;
}

static int entry_build(cpu_dnnl_state *s, dnnl_entry *e, int op, const tcet_conv_desc *d)
{
    memset(e, 0, sizeof *e);
    e->op = op;
    e->d = *d;
    dnnl_dims_t xd = {d->n, d->cin, d->h, d->w}, yd = {d->n, d->cout, d->ho, d->wo},
                wd = {d->cout, d->cin, d->k, d->k}, st = {d->stride, d->stride}, pl = {d->pad, d->pad}, pr;
    pr[0] = (d->ho - 1) * d->stride + d->k - d->h - d->pad;
    pr[1] = (d->wo - 1) * d->stride + d->k - d->w - d->pad;
    dnnl_memory_desc_t ux, uy, uw, ax, ay, aw;
    DN_TRY(dnnl_memory_desc_init_by_tag(&ux, 4, xd, dnnl_f32, dnnl_nchw));
    DN_TRY(dnnl_memory_desc_init_by_tag(&uy, 4, yd, dnnl_f32, dnnl_nchw));
    DN_TRY(dnnl_memory_desc_init_by_tag(&uw, 4, wd, dnnl_f32, dnnl_oihw));
    /* k x k: oneDNN's blocked layout; 1x1: tcet's own (its GEMM, no copies) */
    const int blocked = d->k > 1;
    DN_TRY(dnnl_memory_desc_init_by_tag(&ax, 4, xd, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_nchw));
    DN_TRY(dnnl_memory_desc_init_by_tag(&ay, 4, yd, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_nchw));
    DN_TRY(dnnl_memory_desc_init_by_tag(&aw, 4, wd, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_oihw));
    dnnl_primitive_attr_t attr;
    DN_TRY(dnnl_primitive_attr_create(&attr));
    dnnl_status_t stt = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_convolution_desc_t fd, cd;
    dnnl_primitive_desc_t fpd = NULL, pd = NULL;
    if (stt == dnnl_success)
        stt = dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &ax, &aw, NULL,
                                                 &ay, st, pl, pr);
    if (stt == dnnl_success) stt = dnnl_primitive_desc_create(&fpd, &fd, attr, s->eng, NULL);
    if (stt == dnnl_success && op == 0) {
        pd = fpd;
        fpd = NULL;
    } else if (stt == dnnl_success) {
        stt = op == 1 ? dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &ax, &aw, &ay, st, pl, pr)
                      : dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &ax, &aw, NULL, &ay,
                                                                    st, pl, pr);
        if (stt == dnnl_success) stt = dnnl_primitive_desc_create(&pd, &cd, attr, s->eng, fpd);
    }
    dnnl_primitive_attr_destroy(attr);
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (stt == dnnl_unimplemented) return 0; /* usable = 0: im2col */
    if (stt != dnnl_success) return dn_fail(stt, "convolution primitive descriptor");
    const char *impl = NULL;
    /* the kernels that were measured: JIT direct convs (blocked), the JIT GEMM (1x1) */
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
        (blocked ? strncmp(impl, "jit", 3) != 0 : strstr(impl, "gemm:jit") == NULL)) {
        dnnl_primitive_desc_destroy(pd);
        return 0;
    }
    const dnnl_query_t q[3][3] = {
        {dnnl_query_src_md, dnnl_query_dst_md, dnnl_query_weights_md},
        {dnnl_query_diff_dst_md, dnnl_query_diff_src_md, dnnl_query_weights_md},
        {dnnl_query_src_md, dnnl_query_diff_dst_md, dnnl_query_diff_weights_md},
    };
    const dnnl_memory_desc_t *user[3][3] = {{&ux, &uy, &uw}, {&uy, &ux, &uw}, {&ux, &uy, &uw}};
    /* which roles are outputs: fwd/bwd_data B, bwd_filter W */
    const int out_role = op == 2 ? 2 : 1;
    dnnl_status_t sr = dnnl_primitive_create(&e->conv, pd);
    for (int k = 0; k < 3 && sr == dnnl_success; k++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, q[op][k], 0);
        sr = dnnl_memory_create(&e->u[k], user[op][k], s->eng, DNNL_MEMORY_NONE);
        if (sr != dnnl_success || dnnl_memory_desc_equal(md, user[op][k])) continue;
        e->sz[k] = dnnl_memory_desc_get_size(md);
        sr = dnnl_memory_create(&e->i[k], md, s->eng, DNNL_MEMORY_NONE);
        dnnl_primitive_desc_t rpd;
        if (sr == dnnl_success)
            sr = k == out_role ? dnnl_reorder_primitive_desc_create(&rpd, md, s->eng, user[op][k], s->eng, NULL)
                               : dnnl_reorder_primitive_desc_create(&rpd, user[op][k], s->eng, md, s->eng, NULL);
        if (sr == dnnl_success) {
            sr = dnnl_primitive_create(&e->r[k], rpd);
            dnnl_primitive_desc_destroy(rpd);
        }
    }
    if (sr == dnnl_success) {
        const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        e->sz_pad = pmd ? dnnl_memory_desc_get_size(pmd) : 0;
        if (e->sz_pad) sr = dnnl_memory_create(&e->pad, pmd, s->eng, DNNL_MEMORY_NONE);
    }
    dnnl_primitive_desc_destroy(pd);
    if (sr != dnnl_success) {
        entry_free(e);
        return dn_fail(sr, "convolution primitive");
    }
    e->usable = 1;
    return 0;
}

static int reorder_run(cpu_dnnl_state *s, dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to)
{
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    DN_TRY(dnnl_primitive_execute(r, s->strm, 2, a));
    return 0;
}

int cpu_dnnl_conv(tcet_backend *be, int op, const tcet_conv_desc *d, const void *a, const void *b, const void *w,
                  int *done)
{
    tcet_cpu_impl *c = be->impl;
    *done = 0;
    cpu_dnnl_state *s = c->dnnl;
    /* oneDNN fixes a primitive's work split (and with it the summation order
     * of its reductions) from the calling thread's OpenMP thread count when
     * it creates it, and runs it with the count of the executing thread:
     * both are the backend's, so results do not depend on which thread (lane)
     * created a primitive first. */
    omp_set_num_threads(s->threads);
    dnnl_entry *e = NULL;
    for (int k = 0; k < s->n; k++)
        if (s->e[k].op == op && same_desc(&s->e[k].d, d)) {
            e = &s->e[k];
            break;
        }
    if (!e) {
        if (s->n == DNNL_MAX_ENTRIES) { /* many shapes (a search): start over */
            for (int k = 0; k < s->n; k++) entry_free(&s->e[k]);
            s->n = 0;
        }
        e = &s->e[s->n];
        TCET_TRY(entry_build(s, e, op, d));
        s->n++;
    }
    if (!e->usable) return 0;
    size_t off[4], total = 0;
    for (int k = 0; k < 3; k++) off[k] = total, total += cpu_align_up(e->sz[k]);
    off[3] = total, total += cpu_align_up(e->sz_pad);
    char *sc = cpu_scratch(be, total ? total : 1);
    if (!sc) return TCET_ERR_NOMEM;
    const void *user[3] = {a, b, w};
    for (int k = 0; k < 3; k++) {
        DN_TRY(dnnl_memory_set_data_handle(e->u[k], (void *)(uintptr_t)user[k]));
        if (e->i[k]) DN_TRY(dnnl_memory_set_data_handle(e->i[k], sc + off[k]));
    }
    if (e->pad) DN_TRY(dnnl_memory_set_data_handle(e->pad, sc + off[3]));
    const int out_role = op == 2 ? 2 : 1;
    for (int k = 0; k < 3; k++)
        if (k != out_role && e->r[k]) TCET_TRY(reorder_run(s, e->r[k], e->u[k], e->i[k]));
    static const int args[3][3] = {
        {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_WEIGHTS},
        {DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS},
        {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS},
    };
    dnnl_exec_arg_t ex[4];
    int nargs = 0;
    for (int k = 0; k < 3; k++) ex[nargs++] = (dnnl_exec_arg_t){args[op][k], e->i[k] ? e->i[k] : e->u[k]};
    if (e->pad) ex[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, e->pad};
    DN_TRY(dnnl_primitive_execute(e->conv, s->strm, nargs, ex));
    if (e->r[out_role]) TCET_TRY(reorder_run(s, e->r[out_role], e->i[out_role], e->u[out_role]));
    DN_TRY(dnnl_stream_wait(s->strm));
    *done = 1;
    c->dnnl_calls++;
    return 0;
}

#else /* built without oneDNN */

int cpu_dnnl_create(tcet_cpu_impl *c)
{
    c->dnnl = NULL;
    return 0;
}
void cpu_dnnl_destroy(tcet_cpu_impl *c) { (void)c; }
int cpu_dnnl_wanted(const tcet_cpu_impl *c, int dt, int op, const tcet_conv_desc *d, int has_bias)
{
    (void)c, (void)dt, (void)op, (void)d, (void)has_bias;
    return 0;
}
int cpu_dnnl_conv(tcet_backend *be, int op, const tcet_conv_desc *d, const void *a, const void *b, const void *w,
                  int *done)
{
    (void)be, (void)op, (void)d, (void)a, (void)b, (void)w;
    *done = 0;
    return 0;
}
#endif
