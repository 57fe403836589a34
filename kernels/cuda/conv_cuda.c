/* Convolutions through cuDNN's legacy API (cudnnConvolutionForward /
 * BackwardData / BackwardFilter), float32 and float64, grouped and depthwise
 * via cudnnSetConvolutionGroupCount; the forward also in fp16 (eval-mode
 * latency forward): half tensors, float compute type in the convolution
 * descriptor (cuDNN's PSEUDO_HALF_CONFIG, what PyTorch does for half) and
 * tensor-op math allowed (PyTorch sets CUDNN_TENSOR_OP_MATH for half).
 *
 * Descriptors and the algorithm of each direction are cached per shape in a
 * small open-addressing table (a search meets a few hundred distinct conv
 * shapes; the table evicts when a probe window is full).  Algorithms come from
 * cuDNN's heuristics (cudnnGet*Algorithm_v7), restricted to deterministic ones
 * whose workspace fits ws_limit and, for float32 with TF32 off, to FMA math:
 * CUDNN_DEFAULT_MATH would let Ampere/Hopper use TF32 tensor cores, so TF32
 * off means CUDNN_FMA_MATH (what PyTorch does with allow_tf32 = False). */
#include "kernels/cuda/cuda_internal.h"

#include <string.h>

#include "kernels/cuda/bn_math.h"
#include "kernels/cuda/cuda_kernels.h"

/* Storage type of the tensors and filter. */
static cudnnDataType_t cudnn_type(int dt)
{
    return dt == TCET_F64 ? CUDNN_DATA_DOUBLE : dt == TCET_F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
}

/* Compute type of the convolution descriptor: float for half storage
 * (PSEUDO_HALF_CONFIG: float accumulation; TRUE_HALF would accumulate in half). */
static cudnnDataType_t cudnn_compute_type(int dt) { return dt == TCET_F64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT; }

/* Math type wanted for this dtype: TF32 allowed or plain FMA; fp16 tensor cores. */
static cudnnMathType_t wanted_math(const tcet_cuda *cu, int dt)
{
    if (dt == TCET_F64) return CUDNN_DEFAULT_MATH;  /* FP64 tensor cores (DMMA) are IEEE double */
    if (dt == TCET_F16) return CUDNN_TENSOR_OP_MATH;
    return cu->tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
}

/* The heuristics may list an algorithm with DEFAULT math even when the
 * descriptor asks for FMA; like PyTorch we take such an algorithm and run it
 * with FMA math forced, but skip the ones that need tensor-op math. */
static int math_ok(const tcet_cuda *cu, int dt, cudnnMathType_t m)
{
    if (dt == TCET_F16) return 1;         /* the data are half already: any math type */
    if (m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) return 0;   /* would round to fp16 */
    if (dt == TCET_F64 || cu->tf32) return 1;     /* doubles never use TF32 */
    return m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH;
}

/* The math type an algorithm is run with. */
static cudnnMathType_t run_math(const tcet_cuda *cu, int dt, cudnnMathType_t listed)
{
    if (dt == TCET_F32 && !cu->tf32) return CUDNN_FMA_MATH;
    return listed;
}

static void make_key(const tcet_cuda *cu, int dt, const tcet_conv_desc *d, int *key)
{
    int k[TCET_CONV_KEY_INTS] = {dt, cu->tf32, d->n, d->cin, d->cout, d->k, d->stride,
                                 d->pad, d->groups, d->h, d->w, d->ho, d->wo};
    memcpy(key, k, sizeof k);
}

static unsigned hash_key(const int *key)
{
    unsigned h = 2166136261u;                     /* FNV-1a over the key ints */
    for (int i = 0; i < TCET_CONV_KEY_INTS; i++) {
        unsigned v = (unsigned)key[i];
        for (int b = 0; b < 4; b++) {
            h ^= (v >> (8 * b)) & 0xffu;
            h *= 16777619u;
        }
    }
    return h;
}

static void entry_destroy(tcet_conv_entry *e)
{
    /* Best effort (destroy calls do not fail on valid descriptors). */
    if (e->x) (void)cudnnDestroyTensorDescriptor(e->x);
    if (e->y) (void)cudnnDestroyTensorDescriptor(e->y);
    if (e->bias) (void)cudnnDestroyTensorDescriptor(e->bias);
    if (e->w) (void)cudnnDestroyFilterDescriptor(e->w);
    if (e->conv) (void)cudnnDestroyConvolutionDescriptor(e->conv);
    memset(e, 0, sizeof *e);
}

void tcet_cuda_conv_cache_clear(tcet_cuda *cu)
{
    if (!cu->cache) return;
    for (int i = 0; i < TCET_CONV_CACHE_SLOTS; i++)
        if (cu->cache[i].used) entry_destroy(&cu->cache[i]);
}

static int check_desc(const tcet_conv_desc *d)
{
    if (d->n <= 0 || d->cin <= 0 || d->cout <= 0 || d->k <= 0 || d->stride <= 0 || d->pad < 0 ||
        d->groups <= 0 || d->h <= 0 || d->w <= 0 || d->cin % d->groups || d->cout % d->groups)
        return TCET_FAIL(TCET_ERR_USAGE,
                         "bad convolution n=%d cin=%d cout=%d k=%d stride=%d pad=%d groups=%d %dx%d",
                         d->n, d->cin, d->cout, d->k, d->stride, d->pad, d->groups, d->h, d->w);
    if (d->h + 2 * d->pad < d->k || d->w + 2 * d->pad < d->k ||
        d->ho != (d->h + 2 * d->pad - d->k) / d->stride + 1 ||
        d->wo != (d->w + 2 * d->pad - d->k) / d->stride + 1)
        return TCET_FAIL(TCET_ERR_USAGE, "conv output %dx%d does not match input %dx%d, k=%d "
                         "stride=%d pad=%d", d->ho, d->wo, d->h, d->w, d->k, d->stride, d->pad);
    return 0;
}

static int entry_init(tcet_conv_entry *e, int dt, const tcet_conv_desc *d)
{
    cudnnDataType_t t = cudnn_type(dt), ct = cudnn_compute_type(dt);
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&e->x));
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&e->y));
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&e->bias));
    CHECK_CUDNN(cudnnCreateFilterDescriptor(&e->w));
    CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&e->conv));
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(e->x, CUDNN_TENSOR_NCHW, t, d->n, d->cin, d->h, d->w));
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(e->y, CUDNN_TENSOR_NCHW, t, d->n, d->cout, d->ho, d->wo));
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(e->bias, CUDNN_TENSOR_NCHW, t, 1, d->cout, 1, 1));
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(e->w, t, CUDNN_TENSOR_NCHW, d->cout, d->cin / d->groups,
                                           d->k, d->k));
    CHECK_CUDNN(cudnnSetConvolution2dDescriptor(e->conv, d->pad, d->pad, d->stride, d->stride, 1, 1,
                                                CUDNN_CROSS_CORRELATION, ct));
    CHECK_CUDNN(cudnnSetConvolutionGroupCount(e->conv, d->groups));
    int on, oc, oh, ow;
    CHECK_CUDNN(cudnnGetConvolution2dForwardOutputDim(e->conv, e->x, e->w, &on, &oc, &oh, &ow));
    if (on != d->n || oc != d->cout || oh != d->ho || ow != d->wo)
        return TCET_FAIL(TCET_ERR_USAGE,
                         "convolution output %dx%d does not match the descriptor's %dx%d "
                         "(h=%d k=%d stride=%d pad=%d)", oh, ow, d->ho, d->wo, d->h, d->k,
                         d->stride, d->pad);
    return 0;
}

/* Find or create the entry of this shape. */
static int lookup(tcet_cuda *cu, int dt, const tcet_conv_desc *d, tcet_conv_entry **out)
{
    TCET_TRY(check_desc(d));
    int key[TCET_CONV_KEY_INTS];
    make_key(cu, dt, d, key);
    unsigned h = hash_key(key);
    tcet_conv_entry *free_slot = NULL;
    for (int p = 0; p < TCET_CONV_CACHE_PROBE; p++) {
        tcet_conv_entry *e = &cu->cache[(h + (unsigned)p) & (TCET_CONV_CACHE_SLOTS - 1)];
        if (e->used && !memcmp(e->key, key, sizeof key)) {
            cu->cache_hits++;
            *out = e;
            return 0;
        }
        if (!e->used && !free_slot) free_slot = e;
    }
    cu->cache_misses++;
    if (!free_slot) {               /* window full: evict the home slot */
        free_slot = &cu->cache[h & (TCET_CONV_CACHE_SLOTS - 1)];
        entry_destroy(free_slot);
        cu->cache_evictions++;
    }
    int rc = entry_init(free_slot, dt, d);
    if (rc) {
        entry_destroy(free_slot);
        return tcet_trace(rc, __FILE__, __LINE__, "conv descriptor");
    }
    free_slot->used = 1;
    memcpy(free_slot->key, key, sizeof key);
    *out = free_slot;
    return 0;
}

/* ---- algorithm choice ------------------------------------------------------
 * For each direction: ask the heuristics for a ranked list, then take the
 * first entry that succeeded, is deterministic, has acceptable math, and whose
 * workspace query (with the math type it will run with) succeeds within
 * ws_limit.  If none qualifies, a fixed deterministic algorithm is used. */

typedef enum { DIR_FWD = 0, DIR_BWD_DATA = 1, DIR_BWD_FILTER = 2 } conv_dir;

/* Deterministic algorithms that exist for every shape and dtype. */
static const int k_fallback[3] = {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                  CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1};

/* Workspace of algorithm `algo` in direction dir run with math m. */
static cudnnStatus_t ws_query(tcet_cuda *cu, tcet_conv_entry *e, conv_dir dir, int algo,
                              cudnnMathType_t m, size_t *ws)
{
    cudnnStatus_t st = cudnnSetConvolutionMathType(e->conv, m);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    switch (dir) {
    case DIR_FWD:
        return cudnnGetConvolutionForwardWorkspaceSize(cu->cudnn, e->x, e->w, e->conv, e->y,
                                                       (cudnnConvolutionFwdAlgo_t)algo, ws);
    case DIR_BWD_DATA:
        return cudnnGetConvolutionBackwardDataWorkspaceSize(
            cu->cudnn, e->w, e->y, e->conv, e->x, (cudnnConvolutionBwdDataAlgo_t)algo, ws);
    default:
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(
            cu->cudnn, e->x, e->y, e->conv, e->w, (cudnnConvolutionBwdFilterAlgo_t)algo, ws);
    }
}

/* One heuristic entry, whatever the direction. */
typedef struct {
    int algo;
    cudnnStatus_t status;
    size_t memory;
    cudnnDeterminism_t determinism;
    cudnnMathType_t math;
} algo_perf;

#define ALGO_MAX 16

static int heuristics(tcet_cuda *cu, int dt, tcet_conv_entry *e, conv_dir dir, algo_perf *out,
                      int *got)
{
    *got = 0;
    CHECK_CUDNN(cudnnSetConvolutionMathType(e->conv, wanted_math(cu, dt)));
    if (dir == DIR_FWD) {
        cudnnConvolutionFwdAlgoPerf_t p[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        CHECK_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(cu->cudnn, e->x, e->w, e->conv, e->y,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, got, p));
        for (int i = 0; i < *got && i < ALGO_MAX; i++)
            out[i] = (algo_perf){(int)p[i].algo, p[i].status, p[i].memory, p[i].determinism, p[i].mathType};
    } else if (dir == DIR_BWD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t p[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        CHECK_CUDNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(
            cu->cudnn, e->w, e->y, e->conv, e->x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, got, p));
        for (int i = 0; i < *got && i < ALGO_MAX; i++)
            out[i] = (algo_perf){(int)p[i].algo, p[i].status, p[i].memory, p[i].determinism, p[i].mathType};
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t p[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        CHECK_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
            cu->cudnn, e->x, e->y, e->conv, e->w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, got, p));
        for (int i = 0; i < *got && i < ALGO_MAX; i++)
            out[i] = (algo_perf){(int)p[i].algo, p[i].status, p[i].memory, p[i].determinism, p[i].mathType};
    }
    if (*got > ALGO_MAX) *got = ALGO_MAX;
    return 0;
}

static int choose(tcet_cuda *cu, int dt, tcet_conv_entry *e, conv_dir dir, int *algo,
                  cudnnMathType_t *math, size_t *ws)
{
    algo_perf perf[ALGO_MAX];
    int got;
    TCET_TRY(heuristics(cu, dt, e, dir, perf, &got));
    for (int i = 0; i < got; i++) {
        if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > cu->ws_limit ||
            perf[i].determinism != CUDNN_DETERMINISTIC || !math_ok(cu, dt, perf[i].math))
            continue;
        cudnnMathType_t m = run_math(cu, dt, perf[i].math);
        size_t need = 0;
        if (ws_query(cu, e, dir, perf[i].algo, m, &need) != CUDNN_STATUS_SUCCESS ||
            need > cu->ws_limit)
            continue;
        *algo = perf[i].algo;
        *math = m;
        *ws = need;
        return 0;
    }
    *algo = k_fallback[dir];
    *math = run_math(cu, dt, CUDNN_DEFAULT_MATH);
    CHECK_CUDNN(ws_query(cu, e, dir, *algo, *math, ws));
    return 0;
}

static int choose_fwd(tcet_cuda *cu, int dt, tcet_conv_entry *e)
{
    int algo;
    TCET_TRY(choose(cu, dt, e, DIR_FWD, &algo, &e->fwd_math, &e->fwd_ws));
    e->fwd = (cudnnConvolutionFwdAlgo_t)algo;
    e->have_fwd = 1;
    return 0;
}

static int choose_bwd_data(tcet_cuda *cu, int dt, tcet_conv_entry *e)
{
    int algo;
    TCET_TRY(choose(cu, dt, e, DIR_BWD_DATA, &algo, &e->bwd_data_math, &e->bwd_data_ws));
    e->bwd_data = (cudnnConvolutionBwdDataAlgo_t)algo;
    e->have_bwd_data = 1;
    return 0;
}

static int choose_bwd_filter(tcet_cuda *cu, int dt, tcet_conv_entry *e)
{
    int algo;
    TCET_TRY(choose(cu, dt, e, DIR_BWD_FILTER, &algo, &e->bwd_filter_math, &e->bwd_filter_ws));
    e->bwd_filter = (cudnnConvolutionBwdFilterAlgo_t)algo;
    e->have_bwd_filter = 1;
    return 0;
}

/* alpha = 1, beta = 0 (or 1) in the dtype cuDNN expects for the scaling
 * factors: double for double tensors, float for float AND half tensors. */
typedef struct {
    float f[2];
    double d[2];
} scalars;

static const void *sc_one(const scalars *s, int dt) { return dt == TCET_F64 ? (const void *)&s->d[1] : (const void *)&s->f[1]; }
static const void *sc_zero(const scalars *s, int dt) { return dt == TCET_F64 ? (const void *)&s->d[0] : (const void *)&s->f[0]; }
static const scalars k_scalars = {{0.0f, 1.0f}, {0.0, 1.0}};

/* Switch an entry's direction to the fixed fallback algorithm (after cuDNN
 * refused to run the heuristic's choice). */
static int use_fallback(tcet_cuda *cu, int dt, tcet_conv_entry *e, conv_dir dir)
{
    cudnnMathType_t m = run_math(cu, dt, CUDNN_DEFAULT_MATH);
    size_t ws = 0;
    CHECK_CUDNN(ws_query(cu, e, dir, k_fallback[dir], m, &ws));
    if (dir == DIR_FWD) {
        e->fwd = (cudnnConvolutionFwdAlgo_t)k_fallback[dir];
        e->fwd_math = m;
        e->fwd_ws = ws;
    } else if (dir == DIR_BWD_DATA) {
        e->bwd_data = (cudnnConvolutionBwdDataAlgo_t)k_fallback[dir];
        e->bwd_data_math = m;
        e->bwd_data_ws = ws;
    } else {
        e->bwd_filter = (cudnnConvolutionBwdFilterAlgo_t)k_fallback[dir];
        e->bwd_filter_math = m;
        e->bwd_filter_ws = ws;
    }
    return 0;
}

/* Run one direction; a "not supported" answer (cuDNN 9 status 3xxx) for the
 * heuristic's algorithm gets one retry with the fallback algorithm. */
static int run_dir(tcet_cuda *cu, int dt, tcet_conv_entry *e, conv_dir dir, const void *a,
                   const void *b, void *out)
{
    const void *one = sc_one(&k_scalars, dt), *zero = sc_zero(&k_scalars, dt);
    for (int attempt = 0;; attempt++) {
        void *ws;
        cudnnStatus_t st;
        if (dir == DIR_FWD) {
            TCET_TRY(tcet_cuda_workspace(cu, e->fwd_ws, &ws));
            CHECK_CUDNN(cudnnSetConvolutionMathType(e->conv, e->fwd_math));
            /* a = x, b = w, out = y */
            st = cudnnConvolutionForward(cu->cudnn, one, e->x, a, e->w, b, e->conv, e->fwd, ws,
                                         e->fwd_ws, zero, e->y, out);
        } else if (dir == DIR_BWD_DATA) {
            TCET_TRY(tcet_cuda_workspace(cu, e->bwd_data_ws, &ws));
            CHECK_CUDNN(cudnnSetConvolutionMathType(e->conv, e->bwd_data_math));
            /* a = w, b = dy, out = dx */
            st = cudnnConvolutionBackwardData(cu->cudnn, one, e->w, a, e->y, b, e->conv, e->bwd_data,
                                              ws, e->bwd_data_ws, zero, e->x, out);
        } else {
            TCET_TRY(tcet_cuda_workspace(cu, e->bwd_filter_ws, &ws));
            CHECK_CUDNN(cudnnSetConvolutionMathType(e->conv, e->bwd_filter_math));
            /* a = x, b = dy, out = dw */
            st = cudnnConvolutionBackwardFilter(cu->cudnn, one, e->x, a, e->y, b, e->conv,
                                                e->bwd_filter, ws, e->bwd_filter_ws, zero, e->w, out);
        }
        if (st == CUDNN_STATUS_SUCCESS) return 0;
        if (attempt > 0 || (int)st / 1000 != 3)
            return tcet_cudnn_fail(st, dir == DIR_FWD        ? "cudnnConvolutionForward"
                                       : dir == DIR_BWD_DATA ? "cudnnConvolutionBackwardData"
                                                             : "cudnnConvolutionBackwardFilter",
                                   __FILE__, __LINE__);
        TCET_TRY(use_fallback(cu, dt, e, dir));
    }
}

int tcet_cuda_conv_fwd(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x,
                       const void *w, const void *bias, void *y)
{
    tcet_cuda *cu = tcet_cuda_of(be);
    tcet_conv_entry *e;
    TCET_TRY(tcet_cuda_check_dtype(dt, 1, "conv_fwd"));
    TCET_TRY(lookup(cu, dt, d, &e));
    if (!e->have_fwd) TCET_TRY(choose_fwd(cu, dt, e));
    TCET_TRY(run_dir(cu, dt, e, DIR_FWD, x, w, y));
    if (bias)
        CHECK_CUDNN(cudnnAddTensor(cu->cudnn, sc_one(&k_scalars, dt), e->bias, bias,
                                   sc_one(&k_scalars, dt), e->y, y));
    return 0;
}

int tcet_cuda_conv_bwd_data(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *w,
                            const void *dy, void *dx)
{
    tcet_cuda *cu = tcet_cuda_of(be);
    tcet_conv_entry *e;
    TCET_TRY(tcet_cuda_check_dtype(dt, 0, "conv_bwd_data"));
    TCET_TRY(lookup(cu, dt, d, &e));
    if (!e->have_bwd_data) TCET_TRY(choose_bwd_data(cu, dt, e));
    return run_dir(cu, dt, e, DIR_BWD_DATA, w, dy, dx);
}

int tcet_cuda_conv_bwd_filter(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x,
                              const void *dy, void *dw, void *dbias)
{
    tcet_cuda *cu = tcet_cuda_of(be);
    tcet_conv_entry *e;
    TCET_TRY(tcet_cuda_check_dtype(dt, 0, "conv_bwd_filter"));
    TCET_TRY(lookup(cu, dt, d, &e));
    if (!e->have_bwd_filter) TCET_TRY(choose_bwd_filter(cu, dt, e));
    TCET_TRY(run_dir(cu, dt, e, DIR_BWD_FILTER, x, dy, dw));
    /* dbias by our own deterministic reduction (double accumulation) rather
     * than the deprecated cudnnConvolutionBackwardBias */
    if (dbias) {
        const int hw = d->ho * d->wo;
        void *scratch;
        TCET_TRY(tcet_cuda_scratch(cu, tcet_bn_scratch_bytes(d->n, d->cout, hw), &scratch));
        CHECK_CUDA(tcet_cuk_channel_sum(cu->stream, dt, d->n, d->cout, hw, dy, dbias, scratch));
    }
    return 0;
}
