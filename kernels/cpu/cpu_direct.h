/* Direct float32 convolutions for AVX2 + FMA; included by cpu_conv.c on the
 * avx2 and avx512 paths only (docs/performance.md, "Direct convolutions").
 *
 * Why: ZenNet's convolutions have 16-24 output channels (k x k) or a K of
 * 16-24 (1x1).  Through im2col + OpenBLAS every such GEMM writes the
 * unfolded input, OpenBLAS packs it again (sgemm_itcopy, 12 % of a
 * T-CET(Synflow) candidate) and zeroes C before accumulating into it
 * (sgemm_beta, 7 %), so the kernel proper ran under 40 % of the time.  Here
 * each image is copied once into a layout the register tile reads in place
 * (k x k: zero-padded rows, direct_run; 1x1: panels of 16 positions,
 * direct_run_1x1), and results are stored once:
 *
 *   y[o][q] = sum over (c, kh, kw) in that order of xp[c][oh*s + kh][ow*s + kw] * w[o][c][kh][kw]
 *
 * for a tile of NR output channels (6, or 4/2 at the end) by 16 positions
 * (two vectors of 8 consecutive columns of one row; two rows when wo == 8).
 * Each output is one FMA chain over t = (c*k + kh)*k + kw in increasing
 * order, the order of the im2col GEMM's K dimension, so the results differ
 * from the im2col path only where OpenBLAS splits K into blocks.  The data
 * gradient of a stride-1 conv is the same computation on dy with the
 * weights transposed (input and output channels swapped) and rotated by 180
 * degrees; the weight gradient has kernels of its own (dwf_*).  The
 * eval-mode forward may also apply BN + ReLU and write the NASWOT codes in
 * the tile's store (direct_fuse).  Single-threaded per call and fixed
 * order: bit-reproducible. */
/* A fused eval-mode BN + ReLU epilogue for a whole conv op (cpu_conv.c,
 * conv_bn_relu_eval): alpha, shift and y_relu at channel 0, the NASWOT codes
 * (NULL: none) of image 0 and the bytes from one image's code row to the
 * next. */
typedef struct {
    const float *alpha, *shift;
    float *y_relu;
    unsigned char *codes;
    size_t code_row;
} direct_fuse;

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define CPU_HAVE_DIRECT 1

/* Shapes the direct kernels take: pad k/2 with odd k, no groups, an even
 * number of output channels (tiles of 6, then 4 or 2); stride 1 (ho = h, wo
 * = w): k x k convs with rows of 8 or a multiple of 16 columns, 1x1 convs
 * with planes of a multiple of 16 positions; stride 2 (the forward only): k
 * x k convs with output rows of 8 or a multiple of 16.  The output size
 * follows from these (checked by cpu_check_conv). */
static int direct_shape_ok(int cin, int cout, int k, int stride, int pad, int groups, int h, int w)
{
    (void)cin;
    if (groups != 1 || !(k & 1) || pad != k / 2 || cout % 2) return 0;
    if (stride == 2) { /* forward only (the caller checks), k x k */
        const int ho = (h + 2 * pad - k) / 2 + 1, wo = (w + 2 * pad - k) / 2 + 1;
        return k > 1 && ((wo == 8 && ho % 2 == 0) || wo % 16 == 0);
    }
    if (stride != 1) return 0;
    if (k == 1) return ((size_t)h * w) % 16 == 0; /* panels of 16 positions (direct_run_1x1) */
    return (w == 8 && h % 2 == 0) || w % 16 == 0;
}

/* One tile: NR output channels from wk ([K][NR], packed), 16 positions
 * whose input rows start at x0 / x1 and outputs at y + q0 / q1 (channel
 * stride hwo; q1 = q0 + 8 in every caller); tap r of the chain reads x0[off[r]] and x1[off[r]] (off[r] =
 * c*plane + kh*wp + kw: one flat loop keeps the 2*NR accumulators in
 * registers, also for 1x1 convs where the tap loops would have one turn). */
/* Fused eval-mode BN + ReLU after the conv (direct_ep): besides y, the tile
 * stores y_relu = relu(y * alpha + shift) per channel, the operations of the
 * CPU bn_relu_fwd in eval mode (BN_APPLY: a product and a sum rounded
 * separately; relu keeps -0 and NaN as v < 0 ? 0 : v does). */
typedef struct {
    const float *alpha, *shift; /* this tile's first channel */
    float *y_relu;              /* likewise, at the tile's first position q0 */
    size_t rs;                  /* y_relu's channel stride (hwo in NCHW; 16 in a panel, see
                                 * direct_run_1x1_pair) */
    unsigned char *codes;       /* NULL, or the image's NASWOT code row (bit u = unit u of
                                 * the image's output > 0, the layout of gram_pack in
                                 * cpu_proxy.c), at this tile's first channel */
} direct_ep;

/* The 16 code bits of a tile row: units u0 .. u0 + 15 (u0 a multiple of 16:
 * planes of 16k positions, tiles of 16 aligned positions), y > 0 as in
 * gram_pack (false for NaN), least significant bit first. */
static inline void direct_store_codes(unsigned char *codes, size_t u0, __m256 v0, __m256 v1)
{
    const __m256 z = _mm256_setzero_ps();
    const uint16_t m = (uint16_t)((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v0, z, _CMP_GT_OQ)) |
                                  ((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v1, z, _CMP_GT_OQ)) << 8));
    memcpy(codes + u0 / 8, &m, sizeof m);
}

static inline __m256 direct_bn_relu(__m256 v, __m256 a, __m256 sh)
{
    const __m256 b = _mm256_add_ps(_mm256_mul_ps(v, a), sh);
    return _mm256_blendv_ps(b, _mm256_setzero_ps(), _mm256_cmp_ps(b, _mm256_setzero_ps(), _CMP_LT_OQ));
}

/* Stores of the outputs: streaming when nt (direct_stream). */
#define DIRECT_ST(p, v)                                                                                      \
    do {                                                                                                     \
        if (nt) _mm256_stream_ps(p, v);                                                                      \
        else _mm256_storeu_ps(p, v);                                                                         \
    } while (0)
#define DIRECT_DECL(j) __m256 c0_##j = _mm256_setzero_ps(), c1_##j = _mm256_setzero_ps();
#define DIRECT_STEP(j)                                                                                       \
    {                                                                                                        \
        const __m256 b = _mm256_broadcast_ss(wk + j);                                                        \
        c0_##j = _mm256_fmadd_ps(a0, b, c0_##j);                                                             \
        c1_##j = _mm256_fmadd_ps(a1, b, c1_##j);                                                             \
    }
#define DIRECT_STORE(j)                                                                                      \
    {                                                                                                        \
        if (bias) {                                                                                          \
            const __m256 bj = _mm256_set1_ps(bias[j]);                                                       \
            c0_##j = _mm256_add_ps(c0_##j, bj);                                                              \
            c1_##j = _mm256_add_ps(c1_##j, bj);                                                              \
        }                                                                                                    \
        if (!ep || !ep->codes) { /* with codes, y itself is not kept (conv_bn_relu_eval) */                \
            DIRECT_ST(y + (size_t)(j) * hwo + q0, c0_##j);                                                   \
            DIRECT_ST(y + (size_t)(j) * hwo + q1, c1_##j);                                                   \
        }                                                                                                    \
        if (ep) {                                                                                            \
            const __m256 a = _mm256_set1_ps(ep->alpha[j]), sh = _mm256_set1_ps(ep->shift[j]);                \
            DIRECT_ST(ep->y_relu + (size_t)(j) * ep->rs, direct_bn_relu(c0_##j, a, sh));                     \
            DIRECT_ST(ep->y_relu + (size_t)(j) * ep->rs + 8, direct_bn_relu(c1_##j, a, sh));                 \
            if (ep->codes) direct_store_codes(ep->codes, (size_t)(j) * hwo + q0, c0_##j, c1_##j);           \
        }                                                                                                    \
    }
/* Named accumulators, not arrays: GCC kept an array's registers but also
 * stored them to the stack on every turn (half the kernel's time). */
#define DIRECT_FOR_6(M) M(0) M(1) M(2) M(3) M(4) M(5)
#define DIRECT_FOR_4(M) M(0) M(1) M(2) M(3)
#define DIRECT_FOR_2(M) M(0) M(1)
#define DIRECT_TILE(NR)                                                                                      \
    static void direct_tile_##NR(const float *restrict x0, const float *restrict x1,                         \
                                 const int *restrict off, int K, const float *restrict wk,                   \
                                 float *restrict y, size_t hwo, size_t q0, size_t q1,                        \
                                 const float *restrict bias, const direct_ep *ep, int nt)                    \
    {                                                                                                        \
        DIRECT_FOR_##NR(DIRECT_DECL)                                                                         \
        for (int r = 0; r < K; r++, wk += NR) {                                                              \
            const __m256 a0 = _mm256_loadu_ps(x0 + off[r]), a1 = _mm256_loadu_ps(x1 + off[r]);               \
            DIRECT_FOR_##NR(DIRECT_STEP)                                                                     \
        }                                                                                                    \
        DIRECT_FOR_##NR(DIRECT_STORE)                                                                        \
    }
DIRECT_TILE(6)
DIRECT_TILE(4)
DIRECT_TILE(2)

/* The tile of nr (6, 4 or 2) output channels from o0 of image i, with the
 * fused epilogue's pointers for it when fuse is set. */
static void direct_tile(int nr, const float *x0, const float *x1, const int *off, int K, const float *wt, float *y,
                        size_t hwo, size_t q0, size_t q1, const float *bias, const direct_fuse *fuse, int i, int co,
                        int o0, int nt)
{
    direct_ep e, *ep = NULL;
    if (fuse) {
        e = (direct_ep){fuse->alpha + o0, fuse->shift + o0, fuse->y_relu + ((size_t)i * co + o0) * hwo + q0, hwo,
                        fuse->codes ? fuse->codes + (size_t)i * fuse->code_row + (size_t)o0 * hwo / 8 : NULL};
        ep = &e;
    }
    float *yo = y ? y + (size_t)o0 * hwo : NULL; /* NULL: only the fused outputs (codes set) */
    const float *bo = bias ? bias + o0 : NULL;
    if (nr == 6) direct_tile_6(x0, x1, off, K, wt, yo, hwo, q0, q1, bo, ep, nt);
    else if (nr == 4) direct_tile_4(x0, x1, off, K, wt, yo, hwo, q0, q1, bo, ep, nt);
    else direct_tile_2(x0, x1, off, K, wt, yo, hwo, q0, q1, bo, ep, nt);
}
#undef DIRECT_TILE

/* Streaming (non-temporal) stores for the outputs of one direct conv: an
 * output tensor larger than this goes straight to memory.  It would not
 * stay in the caches anyway, and the ordinary stores first read every line
 * they write (read for ownership) and, with a tile's rows one plane apart
 * (4 KiB at 32x32), contend for one L1 set.  Measured on ZenNet-1M's
 * expanding 1x1 convs (docs/performance.md#streaming-stores): 16->120 @32
 * 26 -> 60 GFLOP/s; below about this size the next op finds the output in
 * L2/L3 and ordinary stores win. */
#define DIRECT_STREAM_MIN_BYTES CPU_STREAM_MIN_BYTES

/* 1 when the outputs (y, and y_relu when fused) of bytes bytes, planes of
 * hwo positions, are streamed: large enough and every vector store 32-byte
 * aligned. */
static int direct_stream(const float *y, const direct_fuse *fuse, size_t hwo, size_t bytes)
{
    if (bytes < DIRECT_STREAM_MIN_BYTES || hwo % 8) return 0;
    return (uintptr_t)y % 32 == 0 && (!fuse || (uintptr_t)fuse->y_relu % 32 == 0);
}

/* out = relu(x * alpha + shift) per channel for one image (c planes of hw,
 * aff[2c] pairs): a BN + ReLU output recomputed for the weight gradient of
 * the conv it feeds (conv_bn_relu_bwd's xin), the values bn_relu_fwd wrote. */
static void direct_bn_relu_image(const float *restrict x, int c, size_t hw, const float *aff, float *restrict out)
{
    for (int ch = 0; ch < c; ch++) {
        const __m256 a = _mm256_set1_ps(aff[2 * ch]), sh = _mm256_set1_ps(aff[2 * ch + 1]);
        const float *xp = x + (size_t)ch * hw;
        float *op = out + (size_t)ch * hw;
        for (size_t q = 0; q < hw; q += 8) _mm256_storeu_ps(op + q, direct_bn_relu(_mm256_loadu_ps(xp + q), a, sh));
    }
}

/* Output-channel tiles: 6 each, the rest (cout % 6: 0, 2 or 4) last. */
static int direct_nr(int cout, int o0) { return cout - o0 >= 6 ? 6 : cout - o0; }

/* dst[0..w) = src[0..w): rows of 8-48 floats, where a memcpy call per row
 * cost more than the copy */
static inline void direct_copy_row(float *restrict dst, const float *restrict src, int w)
{
    int j = 0;
    for (; j + 8 <= w; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
    for (; j < w; j++) dst[j] = src[j];
}

/* out[n][co][h][w] = conv(in[n][ci][h][w]) with packed weights wpk (see
 * direct_pack_*): the forward on (x, w) or the data gradient on (dy,
 * rotated transposed w).  Each image is first copied, zero-padded, into
 * scratch as [padded row][channel][padded column]: a tile's taps then read
 * one contiguous block of k rows of all channels.  (Reading the NCHW planes
 * in place put the taps of a 1x1 conv on a 32x32 plane 4 KiB apart, all in
 * one L1 set: 12 GFLOP/s instead of 40-55.)  off: K tap offsets. */
static void direct_run(const float *in, int n, int ci, int co, int h, int w, int k, int st, const float *wpk,
                       const float *bias, float *out, float *xp, int *off, const direct_fuse *fuse, int nt)
{
    /* Stride st (1 or 2): each padded row is stored as st column phases
     * (column j at phase j % st, index j / st), so that the taps of 8
     * consecutive outputs are 8 consecutive floats in either case. */
    const int p = k / 2, wp = w + 2 * p, wph = (wp + st - 1) / st;
    const int ho = (h + 2 * p - k) / st + 1, wo = (wp - k) / st + 1;
    const size_t chb = (size_t)st * wph, rowb = (size_t)ci * chb, hw = (size_t)h * w, hwo = (size_t)ho * wo;
    const size_t K = (size_t)ci * k * k;
    for (int c = 0, r = 0; c < ci; c++)
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++)
                off[r++] = (int)((size_t)kh * rowb + (size_t)c * chb + (size_t)(kw % st) * wph + (size_t)(kw / st));
    /* the padding rows and columns stay zero: only the interior is copied */
    memset(xp, 0, sizeof(float) * rowb * (size_t)(h + 2 * p));
    for (int i = 0; i < n; i++) {
        const float *img = in + (size_t)i * ci * hw;
        for (int r = 0; r < h; r++)
            for (int c = 0; c < ci; c++) {
                float *dst = xp + (size_t)(r + p) * rowb + (size_t)c * chb;
                const float *src = img + (size_t)c * hw + (size_t)r * w;
                if (st == 1) {
                    direct_copy_row(dst + p, src, w);
                } else {
                    for (int j = 0; j < w; j++) dst[(size_t)((j + p) % 2) * wph + (size_t)((j + p) / 2)] = src[j];
                }
            }
        float *y = out + (size_t)i * co * hwo;
        const float *wt = wpk;
        for (int o0 = 0; o0 < co; o0 += direct_nr(co, o0)) {
            const int nr = direct_nr(co, o0);
            for (int oh = 0; oh < ho; oh += wo == 8 ? 2 : 1)
                for (int ow = 0; ow < wo; ow += 16) {
                    /* two vectors of 8 outputs: this row's next 8, or (wo == 8) the next row */
                    const size_t off0 = (size_t)oh * st * rowb + ow, off1 = wo == 8 ? off0 + st * rowb : off0 + 8;
                    const size_t q0 = (size_t)oh * wo + ow;
                    direct_tile(nr, xp + off0, xp + off1, off, (int)K, wt, y, hwo, q0, q0 + 8, bias, fuse, i, co, o0, nt);
                }
            wt += K * (size_t)nr;
        }
    }
    if (nt) _mm_sfence(); /* the streamed lines are visible before the next op reads them */
}

/* 1x1 convs: no padding, and every position is independent, so the plane
 * is cut into panels of 16 consecutive positions; each panel is packed as
 * [channel][16] (two aligned vectors per channel, read once from each
 * NCHW plane) and then serves every output-channel tile from L1.  (Reading
 * the planes in place puts a tile's taps 4 KiB apart on a 32x32 plane, all
 * in one L1 set; a copy of the whole image into the row layout of
 * direct_run cost more than the arithmetic of a channel-reducing 1x1 conv,
 * which does only cout multiply-adds per input value.)  off: K offsets. */
/* Positions per block of panels packed at once: 32 panels, ci x 2 KiB
 * packed, at most (176-240 KiB for ZenNet's channel-reducing 1x1 convs: it stays in
 * L2).  Packing panel by panel read 16 floats from each of ci planes in
 * turn, a pattern the hardware prefetchers do not follow; a block reads each
 * plane as one run of 2 KiB.  Zen 2, 224->24 @16: 29-38 -> 51 GFLOP/s
 * (docs/performance.md#blocks-of-panels-for-the-1x1-convs). */
#define DIRECT_1X1_BLOCK 512

/* Packs np panels of 16 positions from b0 of one image (ci planes of hw) as
 * [panel][channel][16], each plane read as one run; with aff (alpha, shift
 * pairs per channel) the values packed are relu(x * alpha + shift). */
static void direct_pack_panels(const float *img, int ci, size_t hw, size_t b0, size_t np, float *panel,
                               const float *aff)
{
    for (int c = 0; c < ci; c++) {
        const float *src = img + (size_t)c * hw + b0;
        float *dst = panel + 16 * (size_t)c;
        if (aff) {
            const __m256 a = _mm256_set1_ps(aff[2 * c]), sh = _mm256_set1_ps(aff[2 * c + 1]);
            for (size_t j = 0; j < np; j++, src += 16, dst += 16 * (size_t)ci) {
                _mm256_store_ps(dst, direct_bn_relu(_mm256_loadu_ps(src), a, sh));
                _mm256_store_ps(dst + 8, direct_bn_relu(_mm256_loadu_ps(src + 8), a, sh));
            }
            continue;
        }
        for (size_t j = 0; j < np; j++, src += 16, dst += 16 * (size_t)ci) {
            _mm256_store_ps(dst, _mm256_loadu_ps(src));
            _mm256_store_ps(dst + 8, _mm256_loadu_ps(src + 8));
        }
    }
}

/* aff (NULL: none): the input is relu(in * alpha + shift) per input
 * channel (aff[2c], aff[2c + 1]; BN_APPLY's two roundings and the ReLU of
 * direct_bn_relu), applied as the panels are packed: a train-mode BN +
 * ReLU whose output is not stored (bn_relu_conv_train). */
static void direct_run_1x1(const float *in, int n, int ci, int co, size_t hw, const float *wpk,
                           const float *bias, float *out, float *panel, int *off, const direct_fuse *fuse, int nt,
                           const float *aff)
{
    for (int r = 0; r < ci; r++) off[r] = 16 * r;
    const size_t blk = hw < DIRECT_1X1_BLOCK ? hw : DIRECT_1X1_BLOCK; /* hw and blk: multiples of 16 */
    for (int i = 0; i < n; i++) {
        const float *img = in + (size_t)i * ci * hw;
        float *y = out + (size_t)i * co * hw;
        for (size_t b0 = 0; b0 < hw; b0 += blk) {
            const size_t np = (hw - b0 < blk ? hw - b0 : blk) / 16;
            /* pack the block's panels, each plane read as one run */
            direct_pack_panels(img, ci, hw, b0, np, panel, aff);
            for (size_t j = 0; j < np; j++) {
                const float *pj = panel + 16 * (size_t)ci * j;
                const size_t q0 = b0 + 16 * j;
                const float *wt = wpk;
                for (int o0 = 0; o0 < co; o0 += direct_nr(co, o0)) {
                    const int nr = direct_nr(co, o0);
                    direct_tile(nr, pj, pj + 8, off, ci, wt, y, hw, q0, q0 + 8, bias, fuse, i, co, o0, nt);
                    wt += (size_t)ci * nr;
                }
            }
        }
    }
    if (nt) _mm_sfence();
}

/* Two 1x1 convs, each followed by an eval-mode BN + ReLU, with the NASWOT
 * codes of both conv outputs (conv_pair_eval in kernels/backend.h): the
 * expanding 1x1 conv at the end of a ZenNAS bottleneck block and the
 * reducing one that starts the next.  The wide tensor between them (ReLU
 * output of the first) never goes to memory: for each block of positions
 * the first conv's tiles store it straight into panel layout ([channel][16]
 * per panel of 16 positions, what direct_run_1x1 packs), and the second
 * conv's tiles read those panels from L2.  Every value is computed by the
 * same tile code in the same order as conv_bn_relu_eval twice, so the codes
 * and the second ReLU output are bit for bit theirs.  mid: cm x blk floats;
 * panel: ci x blk floats; off: max(ci, cm) ints; f1 has no y_relu (its
 * panel layout is set per tile), f2 writes NCHW. */
static void direct_run_1x1_pair(const float *in, int n, int ci, int cm, int co, size_t hw, size_t blk,
                                const float *wpk1, const float *bias1, const float *wpk2, const float *bias2,
                                float *panel, float *mid, int *off, const direct_fuse *f1, const direct_fuse *f2)
{
    const int kmax = ci > cm ? ci : cm;
    for (int r = 0; r < kmax; r++) off[r] = 16 * r;
    for (int i = 0; i < n; i++) {
        const float *img = in + (size_t)i * ci * hw;
        for (size_t b0 = 0; b0 < hw; b0 += blk) {
            const size_t np = (hw - b0 < blk ? hw - b0 : blk) / 16;
            direct_pack_panels(img, ci, hw, b0, np, panel, NULL);
            for (size_t j = 0; j < np; j++) {
                const float *pj = panel + 16 * (size_t)ci * j;
                float *mj = mid + 16 * (size_t)cm * j;
                const size_t q0 = b0 + 16 * j;
                const float *wt = wpk1;
                for (int o0 = 0; o0 < cm; o0 += direct_nr(cm, o0)) {
                    const int nr = direct_nr(cm, o0);
                    const direct_ep e = {f1->alpha + o0, f1->shift + o0, mj + 16 * (size_t)o0, 16,
                                         f1->codes + (size_t)i * f1->code_row + (size_t)o0 * hw / 8};
                    const float *bo = bias1 ? bias1 + o0 : NULL;
                    if (nr == 6) direct_tile_6(pj, pj + 8, off, ci, wt, NULL, hw, q0, q0 + 8, bo, &e, 0);
                    else if (nr == 4) direct_tile_4(pj, pj + 8, off, ci, wt, NULL, hw, q0, q0 + 8, bo, &e, 0);
                    else direct_tile_2(pj, pj + 8, off, ci, wt, NULL, hw, q0, q0 + 8, bo, &e, 0);
                    wt += (size_t)ci * nr;
                }
                wt = wpk2;
                for (int o0 = 0; o0 < co; o0 += direct_nr(co, o0)) {
                    const int nr = direct_nr(co, o0);
                    direct_tile(nr, mj, mj + 8, off, cm, wt, NULL, hw, q0, q0 + 8, bias2, f2, i, co, o0, 0);
                    wt += (size_t)cm * nr;
                }
            }
        }
    }
}

/* Positions per block of direct_run_1x1_pair: the wide tensor's block (cm
 * channels) at most 128 KiB, so that it and the packed input stay in L2; a
 * multiple of 16 dividing into the plane's panels. */
static size_t direct_pair_block(int cm, size_t hw)
{
    size_t blk = ((size_t)128 << 10) / (sizeof(float) * (size_t)cm) / 16 * 16;
    if (blk < 16) blk = 16;
    return blk < hw ? blk : hw;
}

/* ---- weight gradient --------------------------------------------------------
 *
 *   dw[o][t] = sum over images, then over positions p of dy[o][p] * x(t, p)
 *
 * for taps t = (c*k + kh)*k + kw, x read as in the forward (k x k: the
 * padded row layout; 1x1: the NCHW planes in place, tap t = channel t).  A
 * register tile holds A taps (3, or 2/1 at the end) x 4 output channels; one
 * step loads A input vectors and 4 dy vectors of 8 consecutive positions and
 * does 4*A FMAs.  Each lane is one FMA chain over the image's positions
 * (p = l, l + 8, ...); after the image it is added to its lane accumulator
 * (accv, [t][o][8]); after the batch the 8 lanes of each weight are summed
 * in lane order.  Fixed order throughout: bit-reproducible. */
static int direct_filter_shape_ok(int cin, int cout, int k, int stride, int pad, int groups, int h, int w)
{
    (void)cin;
    /* planes of at least 128 positions: on 8x8 planes a lane's chain has 8
     * steps and the lane accumulators' update per image cost more than it
     * saved (5x5 24->24 @8: 59 GFLOP/s against oneDNN's 85) */
    /* and at most 131,072 weights: the lane accumulators take 32 bytes per
     * weight (4 MiB then), scratch the memory estimate does not count; wide
     * layers are GEMM-shaped enough for oneDNN / OpenBLAS anyway */
    return groups == 1 && stride == 1 && (k & 1) && pad == k / 2 && w % 8 == 0 && cout % 4 == 0 && h * w >= 128 &&
           (size_t)cin * k * k * cout <= 131072;
}

#define DWF_DECL(t) __m256 s##t##_0 = _mm256_setzero_ps(), s##t##_1 = s##t##_0, s##t##_2 = s##t##_0, s##t##_3 = s##t##_0;
#define DWF_LOADX(t) const __m256 x##t = _mm256_loadu_ps(xq + toff[t]);
/* one dy vector at a time against the A input vectors held in registers:
 * 4*A accumulators + A inputs + 1 (A = 3: all 16 registers, no reloads; a
 * tap-major order held 4 dy vectors and reloaded one of them per tap) */
#define DWF_FMA_3(o) s0_##o = _mm256_fmadd_ps(x0, d, s0_##o); s1_##o = _mm256_fmadd_ps(x1, d, s1_##o); s2_##o = _mm256_fmadd_ps(x2, d, s2_##o);
#define DWF_FMA_2(o) s0_##o = _mm256_fmadd_ps(x0, d, s0_##o); s1_##o = _mm256_fmadd_ps(x1, d, s1_##o);
#define DWF_FMA_1(o) s0_##o = _mm256_fmadd_ps(x0, d, s0_##o);
#define DWF_OUT(A, o)                                                                                        \
    {                                                                                                        \
        const __m256 d = _mm256_loadu_ps(dq + (size_t)(o) * hw);                                             \
        DWF_FMA_##A(o)                                                                                       \
    }
#define DWF_ACC1(t, o)                                                                                       \
    _mm256_store_ps(accv + ((size_t)(t) * cout + (o)) * 8,                                                   \
                    _mm256_add_ps(_mm256_load_ps(accv + ((size_t)(t) * cout + (o)) * 8), s##t##_##o));
#define DWF_ACC(t) DWF_ACC1(t, 0) DWF_ACC1(t, 1) DWF_ACC1(t, 2) DWF_ACC1(t, 3)
#define DWF_FOR_3(M) M(0) M(1) M(2)
#define DWF_FOR_2(M) M(0) M(1)
#define DWF_FOR_1(M) M(0)
#define DWF_TILE(A)                                                                                          \
    static void dwf_tile_##A(const float *restrict x, const int *restrict xb, const int *restrict toff,      \
                             const float *restrict dy, size_t hw, int np, float *restrict accv, int cout)    \
    {                                                                                                        \
        DWF_FOR_##A(DWF_DECL)                                                                                \
        for (int p = 0; p < np; p++) {                                                                       \
            const float *xq = x + xb[p], *dq = dy + (size_t)8 * p;                                           \
            DWF_FOR_##A(DWF_LOADX)                                                                           \
            DWF_OUT(A, 0) DWF_OUT(A, 1) DWF_OUT(A, 2) DWF_OUT(A, 3)                                          \
        }                                                                                                    \
        DWF_FOR_##A(DWF_ACC)                                                                                 \
    }
DWF_TILE(3)
DWF_TILE(2)
DWF_TILE(1)

/* scratch: accv (K * co * 8 floats, 64-byte aligned), the padded image
 * (k > 1), the tap offsets (K ints) and the position bases (h*w/8 ints). */
static size_t direct_filter_scratch_bytes(int ci, int co, int k, int h, int w, size_t *pad_at, size_t *off_at,
                                          size_t *xb_at)
{
    const size_t p = (size_t)k / 2, K = (size_t)ci * k * k;
    *pad_at = cpu_align_up(sizeof(float) * K * co * 8);
    *off_at = *pad_at + (k > 1 ? cpu_align_up(sizeof(float) * (size_t)ci * (h + 2 * p) * (w + 2 * p)) : 0);
    *xb_at = *off_at + cpu_align_up(sizeof(int) * K);
    return *xb_at + cpu_align_up(sizeof(int) * ((size_t)h * w / 8));
}

/* The weight gradient in three steps, so that a fused op can feed it one
 * image at a time (conv_bn_relu_bwd): the tables and zeroed accumulators,
 * one image (its input img and output gradient dyi), the lane sums. */
static void direct_filter_begin(int ci, int co, int h, int w, int k, float *accv, float *xp, int *toff, int *xb)
{
    const int p = k / 2, wp = w + 2 * p;
    const size_t rowb = (size_t)ci * wp, hw = (size_t)h * w, K = (size_t)ci * k * k;
    const int np = (int)(hw / 8);
    if (k > 1) {
        for (int c = 0, r = 0; c < ci; c++)
            for (int kh = 0; kh < k; kh++)
                for (int kw = 0; kw < k; kw++) toff[r++] = (int)((size_t)kh * rowb + (size_t)c * wp + (size_t)kw);
        for (int q = 0; q < np; q++) xb[q] = (int)((size_t)(8 * q / w) * rowb + (size_t)(8 * q % w));
        memset(xp, 0, sizeof(float) * rowb * (size_t)(h + 2 * p));
    } else {
        for (int c = 0; c < ci; c++) toff[c] = (int)((size_t)c * hw);
        for (int q = 0; q < np; q++) xb[q] = 8 * q;
    }
    memset(accv, 0, sizeof(float) * K * co * 8);
}

static void direct_filter_image(const float *img, const float *dyi, int ci, int co, int h, int w, int k,
                                float *accv, float *xp, const int *toff, const int *xb)
{
    const int p = k / 2, wp = w + 2 * p;
    const size_t rowb = (size_t)ci * wp, hw = (size_t)h * w, K = (size_t)ci * k * k;
    const int np = (int)(hw / 8);
    const float *src = img;
    if (k > 1) {
        for (int r = 0; r < h; r++)
            for (int c = 0; c < ci; c++)
                direct_copy_row(xp + (size_t)(r + p) * rowb + (size_t)c * wp + p, img + (size_t)c * hw + (size_t)r * w, w);
        src = xp;
    }
    for (int o0 = 0; o0 < co; o0 += 4) {
        const float *d = dyi + (size_t)o0 * hw;
        size_t t0 = 0;
        for (; t0 + 3 <= K; t0 += 3) dwf_tile_3(src, xb, toff + t0, d, hw, np, accv + (t0 * co + o0) * 8, co);
        if (K - t0 == 2) dwf_tile_2(src, xb, toff + t0, d, hw, np, accv + (t0 * co + o0) * 8, co);
        else if (K - t0 == 1) dwf_tile_1(src, xb, toff + t0, d, hw, np, accv + (t0 * co + o0) * 8, co);
    }
}

static void direct_filter_end(int ci, int co, int k, const float *accv, float *dw)
{
    const size_t K = (size_t)ci * k * k;
    for (size_t t = 0; t < K; t++)
        for (int o = 0; o < co; o++) {
            const float *a = accv + (t * co + (size_t)o) * 8;
            float sum = a[0];
            for (int l = 1; l < 8; l++) sum += a[l];
            dw[(size_t)o * K + t] = sum;
        }
}

static void direct_filter_run(const float *x, const float *dy, int n, int ci, int co, int h, int w, int k,
                              float *dw, float *accv, float *xp, int *toff, int *xb)
{
    const size_t hw = (size_t)h * w;
    direct_filter_begin(ci, co, h, w, k, accv, xp, toff, xb);
    for (int i = 0; i < n; i++)
        direct_filter_image(x + (size_t)i * ci * hw, dy + (size_t)i * co * hw, ci, co, h, w, k, accv, xp, toff, xb);
    direct_filter_end(ci, co, k, accv, dw);
}

/* Forward weights w[co][ci][k][k] -> per channel tile [K][nr]. */
static void direct_pack_fwd(const float *w, int ci, int co, int k, float *wpk)
{
    const size_t K = (size_t)ci * k * k;
    for (int o0 = 0; o0 < co; o0 += direct_nr(co, o0)) {
        const int nr = direct_nr(co, o0);
        for (size_t r = 0; r < K; r++)
            for (int j = 0; j < nr; j++) *wpk++ = w[(size_t)(o0 + j) * K + r];
    }
}

/* Data-gradient weights: the conv from dy (cout channels) to dx (cin
 * channels) has w'[c][o][kh][kw] = w[o][c][k-1-kh][k-1-kw]. */
static void direct_pack_bwd(const float *w, int cin, int cout, int k, float *wpk)
{
    const size_t kk = (size_t)k * k, K = (size_t)cout * kk;
    for (int c0 = 0; c0 < cin; c0 += direct_nr(cin, c0)) {
        const int nr = direct_nr(cin, c0);
        for (size_t r = 0; r < K; r++) {
            const size_t o = r / kk, t = kk - 1 - r % kk; /* rotated tap */
            for (int j = 0; j < nr; j++) *wpk++ = w[(o * (size_t)cin + (size_t)(c0 + j)) * kk + t];
        }
    }
}

/* Scratch: packed weights, one padded image, the tap offsets (each region
 * 64-byte aligned); *pad_at / *off_at: where the last two start. */
static size_t direct_scratch_bytes(int ci, int co, int k, int st, int h, int w, size_t *pad_at, size_t *off_at)
{
    const size_t p = (size_t)k / 2, K = (size_t)ci * k * k, wph = ((size_t)w + 2 * p + (size_t)st - 1) / (size_t)st;
    *pad_at = cpu_align_up(sizeof(float) * K * co);
    *off_at = *pad_at + cpu_align_up(sizeof(float) * (size_t)ci * (h + 2 * p) * (size_t)st * wph);
    return *off_at + cpu_align_up(sizeof(int) * K);
}
#else
#define CPU_HAVE_DIRECT 0
#endif
