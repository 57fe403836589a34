/* The CPU backend: host memory, OpenBLAS GEMMs, plain C loops.  It is the
 * reference implementation (always built) and the one the tests check
 * against naive formulas. */
#include "kernels/cpu/backend_cpu.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "kernels/cpu/cpu_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#define CPU_X86 1
#else
#define CPU_X86 0
#endif

static tcet_cpu_impl *impl_of(const tcet_backend *be) { return (tcet_cpu_impl *)be->impl; }

void *cpu_scratch(tcet_backend *be, size_t bytes)
{
    tcet_cpu_impl *c = impl_of(be);
    if (bytes <= c->scratch_cap) return c->scratch;
    /* Grow by at least half again so a slowly increasing sequence of shapes
     * does not reallocate every time; the old contents are not needed. */
    size_t cap = cpu_align_up(bytes);
    if (cap < c->scratch_cap + c->scratch_cap / 2) cap = cpu_align_up(c->scratch_cap + c->scratch_cap / 2);
    free(c->scratch);
    c->scratch = aligned_alloc(TCET_CPU_ALIGN, cap);
    if (!c->scratch) {
        c->scratch_cap = 0;
        TCET_FAIL(TCET_ERR_NOMEM, "CPU backend: cannot allocate %zu bytes of scratch "
                  "(hint: reduce --batch-size or the network size)", cap);
        return NULL;
    }
    c->scratch_cap = cap;
    c->scratch_grows++;
    return c->scratch;
}

size_t tcet_cpu_scratch_capacity(const tcet_backend *be) { return impl_of(be)->scratch_cap; }
size_t tcet_cpu_scratch_grows(const tcet_backend *be) { return impl_of(be)->scratch_grows; }

void tcet_cpu_set_conv_tiling(tcet_backend *be, size_t tile_n, size_t col_max, size_t col_band)
{
    tcet_cpu_impl *c = impl_of(be);
    /* 256: a 16x16 plane (the bulk of CIFAR networks) is one GEMM of its own,
     * straight on NCHW (1x1 convs: no copy at all), which measured faster
     * than gathering 4 images into one N = 1024 GEMM (tcet_bench_ops) */
    c->conv_tile_n = tile_n ? tile_n : 256;
    c->conv_col_max = col_max ? col_max : (size_t)4 << 20;
    c->conv_col_band = col_band ? col_band : (size_t)2 << 20;
}

int cpu_check_dtype(int dt)
{
    if (dt == TCET_F16)   /* be->has_f16 = 0: callers should not get here */
        return TCET_FAIL(TCET_ERR_BACKEND, "CPU backend: no fp16 (TCET_F16) support; fp16 networks "
                         "run on a backend with has_f16 = 1 (CUDA), the CPU computes in float32");
    if (dt != TCET_F32 && dt != TCET_F64)
        return TCET_FAIL(TCET_ERR_USAGE, "CPU backend: unknown dtype %d (TCET_F32 or TCET_F64)", dt);
    return 0;
}

int cpu_check_conv(const tcet_conv_desc *d)
{
    if (d->n < 1 || d->cin < 1 || d->cout < 1 || d->k < 1 || d->stride < 1 || d->pad < 0 ||
        d->groups < 1 || d->h < 1 || d->w < 1 || d->cin % d->groups || d->cout % d->groups)
        return TCET_FAIL(TCET_ERR_USAGE, "CPU backend: invalid conv n=%d cin=%d cout=%d k=%d "
                         "stride=%d pad=%d groups=%d h=%d w=%d", d->n, d->cin, d->cout, d->k,
                         d->stride, d->pad, d->groups, d->h, d->w);
    int ho = (d->h + 2 * d->pad - d->k) / d->stride + 1;
    int wo = (d->w + 2 * d->pad - d->k) / d->stride + 1;
    if (d->h + 2 * d->pad < d->k || d->w + 2 * d->pad < d->k || d->ho != ho || d->wo != wo)
        return TCET_FAIL(TCET_ERR_USAGE, "CPU backend: conv output %dx%d does not match input %dx%d, "
                         "k=%d stride=%d pad=%d", d->ho, d->wo, d->h, d->w, d->k, d->stride, d->pad);
    return 0;
}

/* ---- memory: plain host memory ------------------------------------------ */

static void *cpu_alloc(tcet_backend *be, size_t bytes)
{
    size_t n = cpu_align_up(bytes ? bytes : 1);
    void *p = aligned_alloc(TCET_CPU_ALIGN, n);
    if (!p) TCET_FAIL(TCET_ERR_NOMEM, "CPU backend: cannot allocate %zu bytes "
                      "(hint: reduce --batch-size or the network size)", bytes);
    return p;
}

static void cpu_release(tcet_backend *be, void *p) { free(p); }

static int cpu_copy(tcet_backend *be, void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src) memmove(dst, src, bytes);
    return 0;
}

static int cpu_zero(tcet_backend *be, void *p, size_t bytes)
{
    if (bytes) memset(p, 0, bytes);
    return 0;
}

static int cpu_sync(tcet_backend *be) { return 0; }

static void cpu_destroy(tcet_backend *be)
{
    if (!be) return;
    tcet_cpu_impl *c = impl_of(be);
    if (c) {
        cpu_dnnl_destroy(c);
        free(c->scratch);
    }
    free(c);
    free(be);
}

/* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..." -> "OpenBLAS 0.3.21" */
static void blas_name(char *buf, size_t size)
{
    const char *cfg = openblas_get_config();
    snprintf(buf, size, "%s", cfg ? cfg : "OpenBLAS");
    char *sp = strchr(buf, ' ');
    if (sp) sp = strchr(sp + 1, ' ');
    if (sp) *sp = '\0';
}

/* ---- instruction-set paths ---------------------------------------------- */

static const char *const isa_names[TCET_CPU_ISA_COUNT] = {"generic", "avx2", "avx512", "avx512-vpopcntdq"};

const char *tcet_cpu_isa_name(int isa)
{
    return isa >= 0 && isa < TCET_CPU_ISA_COUNT ? isa_names[isa] : "?";
}

static const tcet_cpu_kernels *isa_table(int isa)
{
    switch (isa) {
    case TCET_CPU_ISA_GENERIC: return &tcet_cpu_kernels_generic;
#if TCET_CPU_MULTI_ISA
    case TCET_CPU_ISA_AVX2: return &tcet_cpu_kernels_avx2;
    case TCET_CPU_ISA_AVX512: return &tcet_cpu_kernels_avx512;
    case TCET_CPU_ISA_AVX512_VP: return &tcet_cpu_kernels_avx512_vp;
#endif
    default: return NULL;
    }
}

/* Whether the CPU and the OS (saved vector state, which libgcc's check
 * includes) support each path's instructions. */
static int cpu_has_avx2(void)
{
#if CPU_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt") &&
           __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
#else
    return 0;
#endif
}

static int cpu_has_avx512(void)
{
#if CPU_X86
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512cd");
#else
    return 0;
#endif
}

static int cpu_has_vpopcntdq(void)
{
#if CPU_X86
    return cpu_has_avx512() && __builtin_cpu_supports("avx512vpopcntdq");
#else
    return 0;
#endif
}

/* OpenBLAS cores below Haswell (no AVX2 GEMM kernels), as
 * openblas_get_corename names them. */
static int blas_core_pre_avx2(const char *core)
{
    static const char *const old[] = {"katmai", "coppermine", "northwood", "prescott", "banias", "core2", "penryn",
                                      "dunnington", "nehalem", "atom", "nano", "sandybridge", "opteron",
                                      "opteron_sse3", "barcelona", "bobcat", "bulldozer", "piledriver",
                                      "steamroller", "unknown"};
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
        if (core && !strcasecmp(core, old[i])) return 1;
    return 0;
}

const char *tcet_cpu_blas_core_choose(const char *user_coretype, const char *blas_config, const char *blas_core,
                                      int has_avx2, int has_avx512)
{
    if (user_coretype && *user_coretype) return NULL;
    if (!blas_config || !strstr(blas_config, "DYNAMIC_ARCH")) return NULL;
    if (!blas_core_pre_avx2(blas_core) || !has_avx2) return NULL;
    return has_avx512 ? "SkylakeX" : "Haswell";
}

const char *tcet_cpu_blas_core_want(void)
{
    return tcet_cpu_blas_core_choose(getenv("OPENBLAS_CORETYPE"), openblas_get_config(), openblas_get_corename(),
                                     cpu_has_avx2(), cpu_has_avx512());
}

/* What OpenBLAS had picked before tcet ran itself again (tcet_cpu_blas_core_note_forced); "" when not. */
static char blas_picked[64];

void tcet_cpu_blas_core_note_forced(const char *picked)
{
    snprintf(blas_picked, sizeof blas_picked, "%s", picked ? picked : "");
}

void tcet_cpu_blas_core_describe(char *buf, size_t size)
{
    const char *core = openblas_get_corename();
    if (blas_picked[0])
        snprintf(buf, size, "%s (forced by tcet: OpenBLAS picked %s for this CPU)", core ? core : "?", blas_picked);
    else
        snprintf(buf, size, "%s", core ? core : "?");
}

int tcet_cpu_isa_supported(int isa)
{
    if (!isa_table(isa)) return 0;
    switch (isa) {
    case TCET_CPU_ISA_GENERIC: return 1;
    case TCET_CPU_ISA_AVX2: return cpu_has_avx2();
    case TCET_CPU_ISA_AVX512: return cpu_has_avx512();
    case TCET_CPU_ISA_AVX512_VP: return cpu_has_vpopcntdq();
    default: return 0;
    }
}

static int isa_best(void)
{
    for (int isa = TCET_CPU_ISA_COUNT - 1; isa > 0; isa--)
        if (tcet_cpu_isa_supported(isa)) return isa;
    return TCET_CPU_ISA_GENERIC;
}

int tcet_cpu_isa_select(int *isa)
{
    const char *want = getenv("TCET_CPU_ISA");
    if (!want || !*want || !strcmp(want, "auto")) {
        *isa = isa_best();
        return 0;
    }
    for (int i = 0; i < TCET_CPU_ISA_COUNT; i++) {
        if (strcmp(want, isa_names[i])) continue;
        if (!tcet_cpu_isa_supported(i)) {
            char have[160];
            tcet_cpu_isa_describe(have, sizeof have);
            return TCET_FAIL(TCET_ERR_BACKEND, "TCET_CPU_ISA=%s: %s; paths available here: %s (unset "
                             "TCET_CPU_ISA or set it to auto to use the best one)", want,
                             isa_table(i) ? "this CPU does not support it" : "not built into this binary",
                             have);
        }
        *isa = i;
        return 0;
    }
    return TCET_FAIL(TCET_ERR_USAGE, "TCET_CPU_ISA=%s: unknown CPU path (auto, generic, avx2, avx512 or "
                     "avx512-vpopcntdq)", want);
}

void tcet_cpu_isa_describe(char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < TCET_CPU_ISA_COUNT && len + 1 < size; i++) {
        if (!isa_table(i)) continue;
        int w = snprintf(buf + len, size - len, "%s%s%s", len ? " " : "", isa_names[i],
                         tcet_cpu_isa_supported(i) ? "" : " (not on this CPU)");
        if (w < 0) break;
        len += (size_t)w;
    }
}

void tcet_cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
#if CPU_X86
    unsigned int r[12], max = __get_cpuid_max(0x80000000u, NULL);
    if (max < 0x80000004u) return;
    for (unsigned int i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
    char s[49];
    memcpy(s, r, 48);
    s[48] = '\0';
    char *p = s, *e = s + strlen(s);
    while (*p == ' ') p++;
    while (e > p && e[-1] == ' ') *--e = '\0';
    if (*p) snprintf(buf, size, "%s", p);
#endif
}

int tcet_cpu_isa_of(const tcet_backend *be) { return impl_of(be)->isa; }

void tcet_cpu_set_conv_engine(tcet_backend *be, int engine) { impl_of(be)->conv_engine = engine; }

int tcet_cpu_uses_dnnl(const tcet_backend *be)
{
    const tcet_cpu_impl *c = impl_of(be);
    return c->dnnl && c->conv_engine != TCET_CPU_CONV_IM2COL;
}

size_t tcet_cpu_dnnl_calls(const tcet_backend *be) { return impl_of(be)->dnnl_calls; }

size_t tcet_cpu_direct_calls(const tcet_backend *be) { return impl_of(be)->direct_calls; }
size_t tcet_cpu_direct_stream_calls(const tcet_backend *be) { return impl_of(be)->direct_stream_calls; }

/* ---- convolutions: oneDNN for the shapes where it wins, else the path's
 * im2col kernels ---------------------------------------------------------- */

/* oneDNN first where it is wanted for this op (0 fwd, 1 bwd data, 2 bwd
 * filter; a, b, w as cpu_dnnl_conv takes them): *done = 1 when it ran the
 * op, else the caller runs the path's own kernel. */
static int dnnl_first(tcet_backend *be, int wanted, int op, const tcet_conv_desc *d, const void *a, const void *b,
                      const void *w, int *done)
{
    *done = 0;
    if (!wanted) return 0;
    TCET_TRY(cpu_check_conv(d));
    return cpu_dnnl_conv(be, op, d, a, b, w, done);
}

static int conv_fwd_any(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x, const void *w,
                        const void *bias, void *y)
{
    tcet_cpu_impl *c = impl_of(be);
    int done;
    TCET_TRY(dnnl_first(be, cpu_dnnl_wanted(c, dt, 0, d, bias != NULL), 0, d, x, y, w, &done));
    return done ? 0 : c->k->conv_fwd(be, dt, d, x, w, bias, y);
}

static int conv_bwd_data_any(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *w, const void *dy,
                             void *dx)
{
    tcet_cpu_impl *c = impl_of(be);
    int done;
    TCET_TRY(dnnl_first(be, dx && cpu_dnnl_wanted(c, dt, 1, d, 0), 1, d, dy, dx, w, &done));
    return done ? 0 : c->k->conv_bwd_data(be, dt, d, w, dy, dx);
}

static int conv_bwd_filter_any(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x, const void *dy,
                               void *dw, void *dbias)
{
    tcet_cpu_impl *c = impl_of(be);
    /* the direct weight gradient (measured faster, docs/performance.md) unless oneDNN was asked for */
    const int direct = dw && c->conv_engine != TCET_CPU_CONV_ONEDNN && c->k->conv_direct_ok(be, dt, 2, d);
    int done;
    TCET_TRY(dnnl_first(be, !direct && cpu_dnnl_wanted(c, dt, 2, d, dbias != NULL), 2, d, x, dy, dw, &done));
    return done ? 0 : c->k->conv_bwd_filter(be, dt, d, x, dy, dw, dbias);
}

static int conv_bn_relu_eval_any(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x, const void *w,
                                 const void *bias, double eps, const void *gamma, const void *beta,
                                 const void *running_mean, const void *running_var, void *y, void *y_relu,
                                 void *codes, int *codes_done)
{
    tcet_cpu_impl *c = impl_of(be);
    int done = 0;
    *codes_done = 0;
    if (!cpu_dnnl_wanted(c, dt, 0, d, bias != NULL))
        TCET_TRY(c->k->conv_bn_relu_eval(be, dt, d, x, w, bias, eps, gamma, beta, running_mean, running_var, y,
                                         y_relu, codes, &done));
    if (done) {
        *codes_done = codes != NULL;
        return 0;
    }
    TCET_TRY(conv_fwd_any(be, dt, d, x, w, bias, y));
    return c->k->bn_relu_fwd(be, dt, 0, d->n, d->cout, d->ho * d->wo, eps, 0.0, y, gamma, beta,
                             (void *)running_mean, (void *)running_var, 0, NULL, y_relu, NULL, NULL);
}

static int conv_pair_eval_any(tcet_backend *be, int dt, const tcet_conv_desc *d1, const tcet_conv_desc *d2,
                              const void *x, const void *w1, const void *b1, const void *w2, const void *b2,
                              double eps, const tcet_bn_eval *bn1, const tcet_bn_eval *bn2, void *y2_relu,
                              void *codes1, void *codes2, int *done)
{
    tcet_cpu_impl *c = impl_of(be);
    *done = 0;
    /* only where both convs would run in the direct kernels anyway */
    if (cpu_dnnl_wanted(c, dt, 0, d1, b1 != NULL) || cpu_dnnl_wanted(c, dt, 0, d2, b2 != NULL)) return 0;
    return c->k->conv_pair_eval(be, dt, d1, d2, x, w1, b1, w2, b2, eps, bn1, bn2, y2_relu, codes1, codes2, done);
}

static int conv_bn_relu_bwd_any(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x, const void *w,
                                const void *y, const void *dy, const void *gamma, const void *beta,
                                const void *save_mean, const void *save_invstd, void *dgamma, void *dbeta, void *dw,
                                void *dx, const tcet_bn_relu_in *xin, int *done)
{
    tcet_cpu_impl *c = impl_of(be);
    *done = 0;
    /* only where the two conv gradients would run in the direct kernels anyway (conv_bwd_*_any above) */
    if (!xin && (c->conv_engine == TCET_CPU_CONV_ONEDNN || (dx && cpu_dnnl_wanted(c, dt, 1, d, 0)))) return 0;
    return c->k->conv_bn_relu_bwd(be, dt, d, x, w, y, dy, gamma, beta, save_mean, save_invstd, dgamma, dbeta, dw, dx,
                                  xin, done);
}

/* Taken exactly where conv_bn_relu_bwd will take the conv with xin (the
 * contract): the direct kernels run its forward and both gradients, and
 * the engine sends none of them to oneDNN. */
static int bn_relu_conv_train_any(tcet_backend *be, int dt, int n, int c, int hw, double eps, double momentum,
                                  const void *x, const void *gamma, const void *beta, void *running_mean,
                                  void *running_var, int update_running, void *save_mean, void *save_invstd,
                                  const tcet_conv_desc *d, const void *w, const void *bias, void *y, int *done)
{
    tcet_cpu_impl *ci = impl_of(be);
    *done = 0;
    if (ci->conv_engine == TCET_CPU_CONV_ONEDNN || cpu_dnnl_wanted(ci, dt, 0, d, bias != NULL) ||
        cpu_dnnl_wanted(ci, dt, 1, d, 0))
        return 0;
    return ci->k->bn_relu_conv_train(be, dt, n, c, hw, eps, momentum, x, gamma, beta, running_mean, running_var,
                                     update_running, save_mean, save_invstd, d, w, bias, y, done);
}

tcet_backend *tcet_backend_cpu_create_isa(int threads, int isa)
{
    if (!tcet_cpu_isa_supported(isa)) {
        TCET_FAIL(TCET_ERR_BACKEND, "CPU backend: the %s kernels are %s", tcet_cpu_isa_name(isa),
                  isa_table(isa) ? "not supported by this CPU" : "not built into this binary");
        return NULL;
    }
    const tcet_cpu_kernels *k = isa_table(isa);
    tcet_cpu_impl *c = xcalloc(1, sizeof *c);
    c->threads = threads > 0 ? threads : 1;
    c->isa = isa;
    c->k = k;
    const char *ce = getenv("TCET_CPU_CONV");
    if (!ce || !*ce || !strcmp(ce, "auto")) {
        c->conv_engine = TCET_CPU_CONV_AUTO;
    } else if (!strcmp(ce, "im2col")) {
        c->conv_engine = TCET_CPU_CONV_IM2COL;
    } else if (!strcmp(ce, "onednn")) {
        c->conv_engine = TCET_CPU_CONV_ONEDNN;
    } else {
        free(c);
        TCET_FAIL(TCET_ERR_USAGE, "TCET_CPU_CONV=%s: unknown (auto, onednn or im2col)", ce);
        return NULL;
    }
    if (cpu_dnnl_create(c)) {
        free(c);
        return NULL;
    }
    /* One BLAS thread per worker rank is the default: on this class of
     * machine two threads bring nothing reliable. */
    openblas_set_num_threads(c->threads);
    tcet_backend *be = xcalloc(1, sizeof *be);
    be->name = "cpu";
    be->impl = c;
    be->has_f16 = 0;   /* every op refuses TCET_F16 (cpu_check_dtype) */
    tcet_cpu_set_conv_tiling(be, 0, 0, 0);
    char blas[64];
    blas_name(blas, sizeof blas);
    const char *core = openblas_get_corename();
    snprintf(be->device, sizeof be->device, "CPU (%s %s%s, %s kernels, %d thread%s)", blas, core ? core : "",
             tcet_cpu_uses_dnnl(be) ? " + oneDNN" : "", tcet_cpu_isa_name(isa), c->threads,
             c->threads == 1 ? "" : "s");

    be->alloc = cpu_alloc;
    be->release = cpu_release;
    be->upload = cpu_copy;
    be->download = cpu_copy;
    be->zero = cpu_zero;
    be->sync = cpu_sync;
    be->destroy = cpu_destroy;
    /* the convolutions through the oneDNN / direct dispatch above, the rest straight from the table */
    be->conv_fwd = conv_fwd_any;
    be->conv_bwd_data = conv_bwd_data_any;
    be->conv_bwd_filter = conv_bwd_filter_any;
    be->conv_bn_relu_eval = conv_bn_relu_eval_any;
    be->conv_pair_eval = conv_pair_eval_any;
    be->conv_bn_relu_bwd = conv_bn_relu_bwd_any;
    be->bn_relu_conv_train = bn_relu_conv_train_any;
#define CPU_OP_COPY(op) be->op = k->op;
    CPU_PLAIN_OPS(CPU_OP_COPY)
#undef CPU_OP_COPY
    be->gram_codes = k->gram_codes;
    return be;
}

tcet_backend *tcet_backend_cpu_create(int threads)
{
    int isa = TCET_CPU_ISA_GENERIC;
    if (tcet_cpu_isa_select(&isa)) return NULL;
    return tcet_backend_cpu_create_isa(threads, isa);
}
