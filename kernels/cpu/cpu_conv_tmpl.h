/* Convolution kernels for one element type; included by cpu_conv.c once per
 * dtype with T (element type), S(name) (suffixes the dtype), GEMM
 * (cblas_sgemm / cblas_dgemm) and ACC (accumulator type for sums) defined.
 *
 * Dense and grouped convs: a tile of the input is unfolded (im2col) into
 * col[K][cols] (K = cin * k * k, rows grouped by channel so group g owns rows
 * g*Kg..), then one GEMM per group.  A tile is either nb whole images (small
 * planes: the GEMM's N dimension = nb * ho * wo is long enough for OpenBLAS
 * to run near its peak even at 4x4 or 8x8) or a band of output rows of one
 * image (large K * ho * wo: col stays in L2 instead of streaming megabytes
 * through memory); see conv_tiling.  Single-image tiles read and write NCHW
 * directly through the GEMM's leading dimensions; multi-image tiles go
 * through a [c][nb * hwo] buffer.  1x1 stride-1 unpadded convs with one image
 * per tile run as a plain GEMM on x with no copy at all.
 *
 * Depthwise convs (groups == cin == cout) use direct loops on a zero-padded
 * copy of each plane, split into its stride phases (to_phases).  The output
 * is computed on the phase width wq >= wo, so that every (kh, kw) tap is one
 * long contiguous multiply-add over the whole plane that the compiler
 * vectorises; the junk columns ow >= wo are dropped when copying out. */

/* ---- im2col / col2im for one image, output rows [oh0, oh1) ---------------- */

/* Columns [0, lo) and [hi, wo) of `rows` rows of width wo := 0.  Column by
 * column (strided stores): written row by row, GCC turns each row's 1-3
 * zeros into a memset call, ~50k calls per image for a 7x7 conv at 32x32
 * (docs/performance.md: memset was 5% of T-CET(SNIP)). */
static inline void S(zero_cols)(T *restrict span, int rows, int wo, int lo, int hi)
{
    for (int ow = 0; ow < lo; ow++)
        for (int r = 0; r < rows; r++) span[(size_t)r * wo + ow] = 0;
    for (int ow = hi; ow < wo; ow++)
        for (int r = 0; r < rows; r++) span[(size_t)r * wo + ow] = 0;
}

/* col[r][coff + (oh - oh0) * wo + ow] for r = (c*k + kh)*k + kw, row stride ld.
 * zero = 0: the entries that only ever hold padding zeros (whole taps or
 * rows outside the image, columns outside [lo, hi) of the general path) are
 * left alone, because this col region already holds this exact tile layout
 * from an earlier image (see S(col_bands)); entries that a copy overwrites
 * with junk (the padding columns of the span copy) are always re-zeroed. */
static void S(im2col)(const tcet_conv_desc *d, const T *restrict x, T *restrict col, size_t ld, size_t coff,
                      int oh0, int oh1, int zero)
{
    const int k = d->k, s = d->stride, p = d->pad, h = d->h, w = d->w, wo = d->wo;
    if (k == 1 && s == 1 && p == 0) {
        for (int c = 0; c < d->cin; c++)
            memcpy(col + (size_t)c * ld + coff, x + ((size_t)c * h + oh0) * w, sizeof(T) * (size_t)(oh1 - oh0) * w);
        return;
    }
    if (s == 1 && wo == w) {
        /* "Same" stride-1 convs (docs/performance.md): for each tap the valid output
         * rows read one contiguous span of the input plane, shifted by
         * (kh - p) rows and (kw - p) columns; copy it in one go and then
         * zero the |kw - p| padding columns of each row, instead of one tiny
         * copy per output row (rows are 4..32 values here). */
        const size_t hw = (size_t)h * w;
        for (int c = 0; c < d->cin; c++) {
            const T *xc = x + (size_t)c * hw;
            for (int kh = 0; kh < k; kh++) {
                const int ohA = oh0 > p - kh ? oh0 : p - kh, ohB = oh1 < h + p - kh ? oh1 : h + p - kh;
                for (int kw = 0; kw < k; kw++) {
                    T *dst = col + ((size_t)(c * k + kh) * k + kw) * ld + coff;
                    if (ohA >= ohB) {
                        if (zero) memset(dst, 0, sizeof(T) * (size_t)(oh1 - oh0) * wo);
                        continue;
                    }
                    int lo, hi;
                    conv_valid_range(kw, s, p, w, wo, &lo, &hi);
                    if (zero) {
                        memset(dst, 0, sizeof(T) * (size_t)(ohA - oh0) * wo);
                        memset(dst + (size_t)(ohB - oh0) * wo, 0, sizeof(T) * (size_t)(oh1 - ohB) * wo);
                    }
                    /* dst[(oh - oh0) * w + ow] = xc[(oh + kh - p) * w + ow + kw - p], oh in [ohA, ohB) */
                    T *span = dst + (size_t)(ohA - oh0) * wo;
                    const ptrdiff_t base = (ptrdiff_t)(ohA + kh - p) * w + kw - p;
                    ptrdiff_t j0 = 0, j1 = (ptrdiff_t)(ohB - ohA) * w;
                    if (base + j0 < 0) j0 = -base;                         /* only inside padding columns */
                    if (base + j1 > (ptrdiff_t)hw) j1 = (ptrdiff_t)hw - base; /* idem */
                    memcpy(span + j0, xc + (base + j0), sizeof(T) * (size_t)(j1 - j0));
                    S(zero_cols)(span, ohB - ohA, wo, lo, hi);
                }
            }
        }
        return;
    }
    for (int c = 0; c < d->cin; c++) {
        const T *xc = x + (size_t)c * h * w;
        for (int kh = 0; kh < k; kh++) {
            for (int kw = 0; kw < k; kw++) {
                T *dst = col + ((size_t)(c * k + kh) * k + kw) * ld + coff;
                int lo, hi;
                conv_valid_range(kw, s, p, w, wo, &lo, &hi);
                for (int oh = oh0; oh < oh1; oh++, dst += wo) {
                    int ih = oh * s + kh - p;
                    if (ih < 0 || ih >= h || lo >= hi) {
                        if (zero) memset(dst, 0, sizeof(T) * (size_t)wo);
                        continue;
                    }
                    /* input column of output column ow is off + ow * s */
                    const ptrdiff_t off = (ptrdiff_t)ih * w + kw - p;
                    if (zero)
                        for (int ow = 0; ow < lo; ow++) dst[ow] = 0;
                    if (s == 1)
                        memcpy(dst + lo, xc + off + lo, sizeof(T) * (size_t)(hi - lo));
                    else if (s == 2)
                        for (int ow = lo; ow < hi; ow++) dst[ow] = xc[off + 2 * (ptrdiff_t)ow];
                    else
                        for (int ow = lo; ow < hi; ow++) dst[ow] = xc[off + (ptrdiff_t)ow * s];
                    if (zero)
                        for (int ow = hi; ow < wo; ow++) dst[ow] = 0;
                }
            }
        }
    }
}

/* dx (one image) += fold of the col tile (the adjoint of im2col); for 1x1
 * stride-1 unpadded convs the rows are copied (tiles never overlap there),
 * otherwise the caller zeroes dx before the first tile. */
static void S(col2im)(const tcet_conv_desc *d, T *restrict col, size_t ld, size_t coff, int oh0, int oh1,
                      T *restrict dx)
{
    const int k = d->k, s = d->stride, p = d->pad, h = d->h, w = d->w, wo = d->wo;
    if (k == 1 && s == 1 && p == 0) {
        for (int c = 0; c < d->cin; c++)
            memcpy(dx + ((size_t)c * h + oh0) * w, col + (size_t)c * ld + coff, sizeof(T) * (size_t)(oh1 - oh0) * w);
        return;
    }
    if (s == 1 && wo == w) {
        /* "Same" stride-1 convs (docs/performance.md), the adjoint of the im2col span
         * copy: zero the padding columns of the tile (col is scratch), then
         * add each tap's valid rows as one contiguous span.  Every dx element
         * still receives its contributions in the same (c, kh, kw) order; the
         * extra terms are +0, and dx (zeroed, then sums) is never -0, so the
         * result is bit for bit the per-row loop's. */
        const size_t hw = (size_t)h * w;
        for (int c = 0; c < d->cin; c++) {
            T *dxc = dx + (size_t)c * hw;
            for (int kh = 0; kh < k; kh++) {
                const int ohA = oh0 > p - kh ? oh0 : p - kh, ohB = oh1 < h + p - kh ? oh1 : h + p - kh;
                if (ohA >= ohB) continue;
                for (int kw = 0; kw < k; kw++) {
                    T *span = col + ((size_t)(c * k + kh) * k + kw) * ld + coff + (size_t)(ohA - oh0) * wo;
                    int lo, hi;
                    conv_valid_range(kw, s, p, w, wo, &lo, &hi);
                    S(zero_cols)(span, ohB - ohA, wo, lo, hi);
                    const ptrdiff_t base = (ptrdiff_t)(ohA + kh - p) * w + kw - p;
                    ptrdiff_t j0 = 0, j1 = (ptrdiff_t)(ohB - ohA) * w;
                    if (base + j0 < 0) j0 = -base;                         /* padding columns only */
                    if (base + j1 > (ptrdiff_t)hw) j1 = (ptrdiff_t)hw - base; /* idem */
                    T *restrict dst = dxc + (base + j0);
                    const T *restrict src = span + j0;
                    for (ptrdiff_t j = 0; j < j1 - j0; j++) dst[j] += src[j];
                }
            }
        }
        return;
    }
    for (int c = 0; c < d->cin; c++) {
        T *dxc = dx + (size_t)c * h * w;
        for (int kh = 0; kh < k; kh++) {
            for (int kw = 0; kw < k; kw++) {
                const T *src = col + ((size_t)(c * k + kh) * k + kw) * ld + coff;
                int lo, hi;
                conv_valid_range(kw, s, p, w, wo, &lo, &hi);
                for (int oh = oh0; oh < oh1; oh++, src += wo) {
                    int ih = oh * s + kh - p;
                    if (ih < 0 || ih >= h) continue;
                    const ptrdiff_t off = (ptrdiff_t)ih * w + kw - p;
                    if (s == 1)
                        for (int ow = lo; ow < hi; ow++) dxc[off + ow] += src[ow];
                    else if (s == 2)
                        for (int ow = lo; ow < hi; ow++) dxc[off + 2 * (ptrdiff_t)ow] += src[ow];
                    else
                        for (int ow = lo; ow < hi; ow++) dxc[off + (ptrdiff_t)ow * s] += src[ow];
                }
            }
        }
    }
}

/* dst[c][i*hwo ..] = src image i, channel c (NCHW -> [c][nb*hwo]). */
static void S(gather)(const T *restrict src, int nbi, int ch, size_t hwo, T *restrict dst)
{
    size_t ld = (size_t)nbi * hwo;
    for (int i = 0; i < nbi; i++)
        for (int c = 0; c < ch; c++)
            memcpy(dst + (size_t)c * ld + (size_t)i * hwo, src + ((size_t)i * ch + c) * hwo, sizeof(T) * hwo);
}

static void S(add_bias)(T *restrict y, int n, int c, size_t hwo, const T *restrict b)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            T *yp = y + ((size_t)i * c + j) * hwo;
            const T bj = b[j];
            for (size_t q = 0; q < hwo; q++) yp[q] += bj;
        }
}

/* ---- dense / grouped convolution through GEMM ------------------------------ */

/* Shared shape facts of one GEMM convolution. */
typedef struct {
    int G, cin_g, cout_g, direct, nb, rows;
    size_t hw, hwo, Kg, Kt;
} S(conv_geom);

static S(conv_geom) S(conv_geometry)(const tcet_backend *be, const tcet_conv_desc *d)
{
    S(conv_geom) g;
    g.G = d->groups;
    g.cin_g = d->cin / g.G;
    g.cout_g = d->cout / g.G;
    g.hw = (size_t)d->h * d->w;
    g.hwo = (size_t)d->ho * d->wo;
    g.Kg = (size_t)g.cin_g * d->k * d->k;
    g.Kt = g.Kg * g.G;
    g.direct = d->k == 1 && d->stride == 1 && d->pad == 0;
    conv_tiling(be, d, sizeof(T), &g.nb, &g.rows);
    return g;
}

/* One col region per band of output rows (docs/performance.md).  The zeros that
 * im2col writes for the padding depend only on the tile layout (band and
 * ld), not on the image, so when every band keeps its own region (all
 * bands together at most CPU_COL_BANDS_MAX bytes and CPU_COL_BANDS_N bands)
 * they are written for the first image of a conv call only; the per-image
 * memsets were ~3% of T-CET(SNIP).  The tile order, and so every result,
 * is unchanged. */
#ifndef CPU_COL_BANDS_N
#define CPU_COL_BANDS_N 32
#define CPU_COL_BANDS_MAX ((size_t)8 << 20)
#endif
typedef struct {
    size_t region;                   /* elements per band region; 0: one shared region */
    size_t ld_seen[CPU_COL_BANDS_N]; /* ld last unfolded into each region, 0 = none */
} S(col_bands);

/* Elements of col scratch for `cols` columns per tile; sets up *cb. */
static size_t S(col_bands_init)(S(col_bands) *cb, const tcet_conv_desc *d, int rows, size_t Kt, size_t cols)
{
    const size_t nbands = ((size_t)d->ho + (size_t)rows - 1) / (size_t)rows, one = Kt * cols;
    memset(cb, 0, sizeof *cb);
    if (nbands <= CPU_COL_BANDS_N && nbands * one * sizeof(T) <= CPU_COL_BANDS_MAX) {
        cb->region = one;
        return nbands * one;
    }
    return one;
}

/* The col region of the band starting at output row oh0 (rows per band:
 * rows) for a tile of row stride ld; *zero = whether im2col must write the
 * padding zeros. */
static T *S(col_band)(S(col_bands) *cb, T *col, int oh0, int rows, size_t ld, int *zero)
{
    if (!cb->region) {
        *zero = 1;
        return col;
    }
    const size_t b = (size_t)(oh0 / rows);
    *zero = cb->ld_seen[b] != ld;
    cb->ld_seen[b] = ld;
    return col + b * cb->region;
}

static int S(conv_fwd_gemm)(tcet_backend *be, const tcet_conv_desc *d, const T *x, const T *wt,
                            const T *bias, T *y)
{
    const S(conv_geom) g = S(conv_geometry)(be, d);
    const int nb = g.nb, G = g.G, cin_g = g.cin_g, cout_g = g.cout_g;
    const size_t hw = g.hw, hwo = g.hwo, Kg = g.Kg;

    if (g.direct && nb == 1) {
        for (int i = 0; i < d->n; i++)
            for (int gi = 0; gi < G; gi++)
                GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout_g, (int)hw, cin_g, 1,
                     wt + (size_t)gi * cout_g * cin_g, cin_g, x + ((size_t)i * d->cin + (size_t)gi * cin_g) * hw,
                     (int)hw, 0, y + ((size_t)i * d->cout + (size_t)gi * cout_g) * hwo, (int)hwo);
        if (bias) S(add_bias)(y, d->n, d->cout, hwo, bias);
        return 0;
    }
    const size_t cols = nb > 1 ? nb * hwo : (size_t)g.rows * d->wo;
    S(col_bands) cb;
    const size_t col_b = cpu_align_up(sizeof(T) * S(col_bands_init)(&cb, d, g.rows, g.Kt, cols));
    const size_t out_b = nb > 1 ? sizeof(T) * (size_t)d->cout * cols : 0;
    char *sc = cpu_scratch(be, col_b + out_b);
    if (!sc) return TCET_ERR_NOMEM;
    T *out = (T *)(sc + col_b);
    for (int n0 = 0; n0 < d->n; n0 += nb) {
        const int nbi = d->n - n0 < nb ? d->n - n0 : nb;
        for (int oh0 = 0; oh0 < d->ho; oh0 += g.rows) {
            const int oh1 = oh0 + g.rows < d->ho ? oh0 + g.rows : d->ho;
            const size_t tile = (size_t)(oh1 - oh0) * d->wo, ld = nbi * tile;
            int zero;
            T *col = S(col_band)(&cb, (T *)sc, oh0, g.rows, ld, &zero);
            for (int i = 0; i < nbi; i++)
                S(im2col)(d, x + (size_t)(n0 + i) * d->cin * hw, col, ld, i * tile, oh0, oh1, zero);
            /* one image: the GEMM writes rows oh0.. of y in place (ldc = hwo) */
            T *o = nb > 1 ? out : y + (size_t)n0 * d->cout * hwo + (size_t)oh0 * d->wo;
            const size_t ldo = nb > 1 ? ld : hwo;
            for (int gi = 0; gi < G; gi++)
                GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout_g, (int)ld, (int)Kg, 1,
                     wt + (size_t)gi * cout_g * Kg, (int)Kg, col + (size_t)gi * Kg * ld, (int)ld,
                     0, o + (size_t)gi * cout_g * ldo, (int)ldo);
        }
        if (nb == 1) {
            if (bias) S(add_bias)(y + (size_t)n0 * d->cout * hwo, 1, d->cout, hwo, bias);
            continue;
        }
        const size_t ld = nbi * hwo;
        for (int i = 0; i < nbi; i++)
            for (int c = 0; c < d->cout; c++) {
                T *dst = y + ((size_t)(n0 + i) * d->cout + c) * hwo;
                const T *src = out + (size_t)c * ld + (size_t)i * hwo;
                const T bc = bias ? bias[c] : 0;
                for (size_t q = 0; q < hwo; q++) dst[q] = src[q] + bc;
            }
    }
    return 0;
}

static int S(conv_bwd_data_gemm)(tcet_backend *be, const tcet_conv_desc *d, const T *wt, const T *dy, T *dx)
{
    const S(conv_geom) g = S(conv_geometry)(be, d);
    const int nb = g.nb, G = g.G, cin_g = g.cin_g, cout_g = g.cout_g;
    const size_t hw = g.hw, hwo = g.hwo, Kg = g.Kg;

    if (g.direct && nb == 1) {
        for (int i = 0; i < d->n; i++)
            for (int gi = 0; gi < G; gi++)
                GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, cin_g, (int)hw, cout_g, 1,
                     wt + (size_t)gi * cout_g * cin_g, cin_g, dy + ((size_t)i * d->cout + (size_t)gi * cout_g) * hwo,
                     (int)hwo, 0, dx + ((size_t)i * d->cin + (size_t)gi * cin_g) * hw, (int)hw);
        return 0;
    }
    const size_t cols = nb > 1 ? nb * hwo : (size_t)g.rows * d->wo;
    const size_t col_b = cpu_align_up(sizeof(T) * g.Kt * cols);
    const size_t dyg_b = nb > 1 ? sizeof(T) * (size_t)d->cout * cols : 0;
    char *sc = cpu_scratch(be, col_b + dyg_b);
    if (!sc) return TCET_ERR_NOMEM;
    T *col = (T *)sc, *dyg = (T *)(sc + col_b);
    for (int n0 = 0; n0 < d->n; n0 += nb) {
        const int nbi = d->n - n0 < nb ? d->n - n0 : nb;
        T *dxn = dx + (size_t)n0 * d->cin * hw;
        if (!g.direct) memset(dxn, 0, sizeof(T) * nbi * d->cin * hw);
        for (int oh0 = 0; oh0 < d->ho; oh0 += g.rows) {
            const int oh1 = oh0 + g.rows < d->ho ? oh0 + g.rows : d->ho;
            const size_t tile = (size_t)(oh1 - oh0) * d->wo, ld = nbi * tile;
            const T *b = dy + (size_t)n0 * d->cout * hwo + (size_t)oh0 * d->wo;
            size_t ldb = hwo;
            if (nb > 1) {
                S(gather)(b, nbi, d->cout, hwo, dyg);
                b = dyg;
                ldb = ld;
            }
            for (int gi = 0; gi < G; gi++)
                GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Kg, (int)ld, cout_g, 1,
                     wt + (size_t)gi * cout_g * Kg, (int)Kg, b + (size_t)gi * cout_g * ldb, (int)ldb,
                     0, col + (size_t)gi * Kg * ld, (int)ld);
            for (int i = 0; i < nbi; i++) S(col2im)(d, col, ld, i * tile, oh0, oh1, dxn + (size_t)i * d->cin * hw);
        }
    }
    return 0;
}

/* Weight gradients with few output channels (docs/performance.md): dW = dy . col^T has
 * M = cout_g (16..48 in ZenNet's k5/k7 and bottleneck 1x1 convs) and
 * N = Kg = cin_g * k * k (up to 784).  Computing dW^T = col . dy^T instead
 * puts the long side in M and the short one in N, a shape OpenBLAS runs
 * 10-20% faster here (tests/perf/bench_ops: 7x7 16->16 @32 bwd_filter 65 ->
 * 78 GFLOP/s); it is used whenever cout_g < Kg on the im2col path (not
 * for the direct 1x1 GEMMs, where it measured slower).  dW^T (G x Kg x
 * cout_g, in scratch) is transposed into dw at the end. */
static void S(dw_untranspose)(int G, int cout_g, size_t Kg, const T *restrict dwt, T *restrict dw)
{
    for (int gi = 0; gi < G; gi++)
        for (int o = 0; o < cout_g; o++) {
            T *restrict dst = dw + ((size_t)gi * cout_g + o) * Kg;
            const T *restrict src = dwt + (size_t)gi * Kg * cout_g + o;
            for (size_t r = 0; r < Kg; r++) dst[r] = src[r * cout_g];
        }
}

static int S(conv_bwd_filter_gemm)(tcet_backend *be, const tcet_conv_desc *d, const T *x, const T *dy, T *dw)
{
    const S(conv_geom) g = S(conv_geometry)(be, d);
    const int nb = g.nb, G = g.G, cin_g = g.cin_g, cout_g = g.cout_g;
    const size_t hw = g.hw, hwo = g.hwo, Kg = g.Kg;

    if (g.direct && nb == 1) {
        /* (the transposed form of S(dw_untranspose) measured 5-15% slower here) */
        for (int i = 0; i < d->n; i++)
            for (int gi = 0; gi < G; gi++)
                GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, cout_g, cin_g, (int)hwo, 1,
                     dy + ((size_t)i * d->cout + (size_t)gi * cout_g) * hwo, (int)hwo,
                     x + ((size_t)i * d->cin + (size_t)gi * cin_g) * hw, (int)hw, i ? 1 : 0,
                     dw + (size_t)gi * cout_g * cin_g, cin_g);
        return 0;
    }
    const size_t cols = nb > 1 ? nb * hwo : (size_t)g.rows * d->wo;
    S(col_bands) cb;
    const size_t col_b = cpu_align_up(sizeof(T) * S(col_bands_init)(&cb, d, g.rows, g.Kt, cols));
    const size_t dyg_b = nb > 1 ? cpu_align_up(sizeof(T) * (size_t)d->cout * cols) : 0;
    const int trans = (size_t)cout_g < Kg; /* see S(dw_untranspose) */
    const size_t dwt_b = trans ? sizeof(T) * (size_t)G * Kg * cout_g : 0;
    char *sc = cpu_scratch(be, col_b + dyg_b + dwt_b);
    if (!sc) return TCET_ERR_NOMEM;
    T *dyg = (T *)(sc + col_b), *dwt = (T *)(sc + col_b + dyg_b);
    int first = 1;
    for (int n0 = 0; n0 < d->n; n0 += nb) {
        const int nbi = d->n - n0 < nb ? d->n - n0 : nb;
        for (int oh0 = 0; oh0 < d->ho; oh0 += g.rows) {
            const int oh1 = oh0 + g.rows < d->ho ? oh0 + g.rows : d->ho;
            const size_t tile = (size_t)(oh1 - oh0) * d->wo, ld = nbi * tile;
            int zero;
            T *col = S(col_band)(&cb, (T *)sc, oh0, g.rows, ld, &zero);
            for (int i = 0; i < nbi; i++)
                S(im2col)(d, x + (size_t)(n0 + i) * d->cin * hw, col, ld, i * tile, oh0, oh1, zero);
            const T *a = dy + (size_t)n0 * d->cout * hwo + (size_t)oh0 * d->wo;
            size_t lda = hwo;
            if (nb > 1) {
                S(gather)(a, nbi, d->cout, hwo, dyg);
                a = dyg;
                lda = ld;
            }
            for (int gi = 0; gi < G; gi++)
                if (trans)
                    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Kg, cout_g, (int)ld, 1,
                         col + (size_t)gi * Kg * ld, (int)ld, a + (size_t)gi * cout_g * lda, (int)lda,
                         first ? 0 : 1, dwt + (size_t)gi * Kg * cout_g, cout_g);
                else
                    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, cout_g, (int)Kg, (int)ld, 1,
                         a + (size_t)gi * cout_g * lda, (int)lda, col + (size_t)gi * Kg * ld, (int)ld,
                         first ? 0 : 1, dw + (size_t)gi * cout_g * Kg, (int)Kg);
            first = 0;
        }
    }
    if (trans) S(dw_untranspose)(G, cout_g, Kg, dwt, dw);
    return 0;
}

/* ---- depthwise: direct loops on stride phases ------------------------------ */

/* Split the zero-padded plane x (h x w, padding p) into its s*s stride
 * phases: P[a*s + b][r][c] = xpad[r*s + a][c*s + b], each phase hq x wq plus
 * slack zeros (see dw_geom in cpu_conv.c).  Every tap (kh, kw) of a stride-s
 * conv then reads phase (kh % s, kw % s) at offset (kh / s, kw / s) with unit
 * stride. */
static void S(to_phases)(const tcet_conv_desc *d, const dw_geom *g, const T *restrict x, T *restrict P)
{
    const int s = d->stride, p = d->pad, h = d->h, w = d->w;
    memset(P, 0, sizeof(T) * g->plane * s * s);
    if (s == 1) {
        for (int ih = 0; ih < h; ih++) memcpy(P + (size_t)(ih + p) * g->wq + p, x + (size_t)ih * w, sizeof(T) * w);
        return;
    }
    for (int b = 0; b < s; b++) {
        /* padded columns cc = iw + p with cc % s == b: cc0, cc0 + s, ... */
        const int cc0 = p + ((b - p % s) + s) % s, cnt = cc0 < p + w ? (p + w - cc0 + s - 1) / s : 0;
        for (int ih = 0, rr = p; ih < h; ih++, rr++) {
            const T *restrict sp = x + (size_t)ih * w + (cc0 - p);
            T *restrict dst = P + (size_t)((rr % s) * s + b) * g->plane + (size_t)(rr / s) * g->wq + cc0 / s;
            if (s == 2) /* constant stride: vectorised deinterleave */
                for (int j = 0; j < cnt; j++) dst[j] = sp[2 * j];
            else
                for (int j = 0; j < cnt; j++) dst[j] = sp[j * s];
        }
    }
}

/* dx (h x w) = the interior of the phase planes dP (inverse of to_phases). */
static void S(from_phases)(const tcet_conv_desc *d, const dw_geom *g, const T *restrict dP, T *restrict dx)
{
    const int s = d->stride, p = d->pad, h = d->h, w = d->w;
    if (s == 1) {
        for (int ih = 0; ih < h; ih++) memcpy(dx + (size_t)ih * w, dP + (size_t)(ih + p) * g->wq + p, sizeof(T) * w);
        return;
    }
    for (int b = 0; b < s; b++) {
        const int cc0 = p + ((b - p % s) + s) % s, cnt = cc0 < p + w ? (p + w - cc0 + s - 1) / s : 0;
        for (int ih = 0, rr = p; ih < h; ih++, rr++) {
            T *restrict dp = dx + (size_t)ih * w + (cc0 - p);
            const T *restrict sp = dP + (size_t)((rr % s) * s + b) * g->plane + (size_t)(rr / s) * g->wq + cc0 / s;
            if (s == 2)
                for (int j = 0; j < cnt; j++) dp[2 * j] = sp[j];
            else
                for (int j = 0; j < cnt; j++) dp[j * s] = sp[j];
        }
    }
}

/* dyq[oh*wq + ow] = dy[oh][ow], zero for ow >= wo */
static void S(dy_to_grid)(const tcet_conv_desc *d, const dw_geom *g, const T *restrict dy, T *restrict dyq)
{
    for (int oh = 0; oh < d->ho; oh++) {
        memcpy(dyq + (size_t)oh * g->wq, dy + (size_t)oh * d->wo, sizeof(T) * d->wo);
        memset(dyq + (size_t)oh * g->wq + d->wo, 0, sizeof(T) * (g->wq - d->wo));
    }
}

/* out[j] = init + Σ_t wv[t] src[j + off[t]] for j < len.  32 outputs at a
 * time stay in registers (four 8-lane accumulators) across all taps; every
 * output sums its taps in the same order, so the result does not depend on
 * where the blocks fall. */
static void S(dw_taps)(const T *src, const ptrdiff_t *restrict off, const T *restrict wv, size_t nt, size_t len,
                       T init, T *restrict out)
{
    size_t j0 = 0;
    for (; j0 + 32 <= len; j0 += 32) {
        T b0[8], b1[8], b2[8], b3[8];
        for (int l = 0; l < 8; l++) b0[l] = b1[l] = b2[l] = b3[l] = init;
        for (size_t t = 0; t < nt; t++) {
            const T w = wv[t];
            const T *sp = src + off[t] + (ptrdiff_t)j0;
            for (int l = 0; l < 8; l++) {
                b0[l] += w * sp[l];
                b1[l] += w * sp[8 + l];
                b2[l] += w * sp[16 + l];
                b3[l] += w * sp[24 + l];
            }
        }
        for (int l = 0; l < 8; l++) {
            out[j0 + l] = b0[l];
            out[j0 + 8 + l] = b1[l];
            out[j0 + 16 + l] = b2[l];
            out[j0 + 24 + l] = b3[l];
        }
    }
    for (; j0 + 8 <= len; j0 += 8) {
        T b0[8];
        for (int l = 0; l < 8; l++) b0[l] = init;
        for (size_t t = 0; t < nt; t++) {
            const T w = wv[t];
            const T *sp = src + off[t] + (ptrdiff_t)j0;
            for (int l = 0; l < 8; l++) b0[l] += w * sp[l];
        }
        for (int l = 0; l < 8; l++) out[j0 + l] = b0[l];
    }
    for (; j0 < len; j0++) {
        T a = init;
        for (size_t t = 0; t < nt; t++) a += wv[t] * src[off[t] + (ptrdiff_t)j0];
        out[j0] = a;
    }
}

static int S(dw_fwd)(tcet_backend *be, const tcet_conv_desc *d, const T *x, const T *wt, const T *bias, T *y)
{
    const dw_geom g = dw_geometry(d);
    const int wo = d->wo, ho = d->ho;
    const size_t kk = (size_t)d->k * d->k, hw = (size_t)d->h * d->w, hwo = (size_t)ho * wo, len = (size_t)ho * g.wq;
    const size_t off_b = cpu_align_up(sizeof(ptrdiff_t) * kk), P_b = cpu_align_up(sizeof(T) * g.plane * d->stride * d->stride);
    char *sc = cpu_scratch(be, off_b + P_b + sizeof(T) * len);
    if (!sc) return TCET_ERR_NOMEM;
    ptrdiff_t *off = (ptrdiff_t *)sc;
    T *P = (T *)(sc + off_b), *acc = (T *)(sc + off_b + P_b);
    dw_offsets(d, &g, off);
    for (int i = 0; i < d->n; i++) {
        for (int c = 0; c < d->cin; c++) {
            S(to_phases)(d, &g, x + ((size_t)i * d->cin + c) * hw, P);
            /* acc[oh*wq + ow]; columns ow >= wo are junk, dropped below */
            S(dw_taps)(P, off, wt + (size_t)c * kk, kk, len, bias ? bias[c] : 0, acc);
            T *yc = y + ((size_t)i * d->cout + c) * hwo;
            for (int oh = 0; oh < ho; oh++) memcpy(yc + (size_t)oh * wo, acc + (size_t)oh * g.wq, sizeof(T) * wo);
        }
    }
    return 0;
}

/* The adjoint in gather form: phase ab of dP is a correlation of the dy grid
 * with the taps of that phase, at offsets -(kh/s * wq + kw/s).  dy sits in a
 * zero-filled buffer with F = the largest such offset in front, so every
 * phase element is written once (no scatter, no zeroing of dP). */
static int S(dw_bwd_data)(tcet_backend *be, const tcet_conv_desc *d, const T *wt, const T *dy, T *dx)
{
    const dw_geom g = dw_geometry(d);
    const int k = d->k, s = d->stride, ss = s * s;
    const size_t kk = (size_t)k * k, hw = (size_t)d->h * d->w, hwo = (size_t)d->ho * d->wo;
    const size_t phase_len = g.hq * g.wq, F = (size_t)((k - 1) / s) * g.wq + (size_t)((k - 1) / s);
    const size_t tab_b = cpu_align_up((sizeof(ptrdiff_t) + sizeof(size_t) + sizeof(T)) * kk + sizeof(size_t) * (ss + 1));
    const size_t P_b = cpu_align_up(sizeof(T) * g.plane * ss), dyq_n = F + phase_len;
    char *sc = cpu_scratch(be, tab_b + P_b + sizeof(T) * dyq_n);
    if (!sc) return TCET_ERR_NOMEM;
    ptrdiff_t *boff = (ptrdiff_t *)sc;
    size_t *perm = (size_t *)(boff + kk), *start = perm + kk;
    T *wperm = (T *)(start + ss + 1);
    T *dP = (T *)(sc + tab_b), *dyq = (T *)(sc + tab_b + P_b);
    /* taps grouped by phase: perm[start[ph] .. start[ph+1]) */
    size_t m = 0;
    for (int ph = 0; ph < ss; ph++) {
        start[ph] = m;
        for (int kh = ph / s; kh < k; kh += s)
            for (int kw = ph % s; kw < k; kw += s) {
                perm[m] = (size_t)kh * k + kw;
                boff[m++] = -(ptrdiff_t)((size_t)(kh / s) * g.wq + (size_t)(kw / s));
            }
    }
    start[ss] = m;
    memset(dyq, 0, sizeof(T) * dyq_n);
    for (int i = 0; i < d->n; i++) {
        for (int c = 0; c < d->cin; c++) {
            const T *wc = wt + (size_t)c * kk;
            for (size_t t = 0; t < kk; t++) wperm[t] = wc[perm[t]];
            S(dy_to_grid)(d, &g, dy + ((size_t)i * d->cout + c) * hwo, dyq + F);
            for (int ph = 0; ph < ss; ph++)
                S(dw_taps)(dyq + F, boff + start[ph], wperm + start[ph], start[ph + 1] - start[ph], phase_len, 0,
                           dP + (size_t)ph * g.plane);
            S(from_phases)(d, &g, dP, dx + ((size_t)i * d->cin + c) * hw);
        }
    }
    return 0;
}

/* lanes[l % 32] += Σ a[j] b[j] over j ≡ l, *tail += the last len % 8 terms:
 * four independent 8-lane FMA chains (vectorised).  The lanes are reduced
 * once per channel, not per call, so short planes do not pay a horizontal
 * sum per tap and image.  Fixed order: deterministic. */
static void S(dot_acc)(const T *restrict a, const T *restrict b, size_t len, T *restrict lanes, ACC *tail)
{
    T p0[8], p1[8], p2[8], p3[8];
    for (int l = 0; l < 8; l++) p0[l] = lanes[l], p1[l] = lanes[8 + l], p2[l] = lanes[16 + l], p3[l] = lanes[24 + l];
    size_t j = 0;
    for (; j + 32 <= len; j += 32)
        for (int l = 0; l < 8; l++) {
            p0[l] += a[j + l] * b[j + l];
            p1[l] += a[j + 8 + l] * b[j + 8 + l];
            p2[l] += a[j + 16 + l] * b[j + 16 + l];
            p3[l] += a[j + 24 + l] * b[j + 24 + l];
        }
    for (; j + 8 <= len; j += 8)
        for (int l = 0; l < 8; l++) p0[l] += a[j + l] * b[j + l];
    ACC t = 0;
    for (; j < len; j++) t += (ACC)a[j] * b[j];
    *tail += t;
    for (int l = 0; l < 8; l++) lanes[l] = p0[l], lanes[8 + l] = p1[l], lanes[16 + l] = p2[l], lanes[24 + l] = p3[l];
}

static int S(dw_bwd_filter)(tcet_backend *be, const tcet_conv_desc *d, const T *x, const T *dy, T *dwt)
{
    const dw_geom g = dw_geometry(d);
    const size_t kk = (size_t)d->k * d->k, hw = (size_t)d->h * d->w, hwo = (size_t)d->ho * d->wo;
    const size_t len = (size_t)d->ho * g.wq;
    const size_t off_b = cpu_align_up(sizeof(ptrdiff_t) * kk), P_b = cpu_align_up(sizeof(T) * g.plane * d->stride * d->stride);
    const size_t dyq_b = cpu_align_up(sizeof(T) * len), lanes_b = cpu_align_up(sizeof(T) * 32 * kk);
    char *sc = cpu_scratch(be, off_b + P_b + dyq_b + lanes_b + sizeof(ACC) * kk);
    if (!sc) return TCET_ERR_NOMEM;
    ptrdiff_t *off = (ptrdiff_t *)sc;
    T *P = (T *)(sc + off_b), *dyq = (T *)(sc + off_b + P_b), *lanes = (T *)(sc + off_b + P_b + dyq_b);
    ACC *tail = (ACC *)(sc + off_b + P_b + dyq_b + lanes_b);
    dw_offsets(d, &g, off);
    for (int c = 0; c < d->cin; c++) {
        memset(lanes, 0, sizeof(T) * 32 * kk);
        for (size_t t = 0; t < kk; t++) tail[t] = 0;
        for (int i = 0; i < d->n; i++) {
            S(to_phases)(d, &g, x + ((size_t)i * d->cin + c) * hw, P);
            S(dy_to_grid)(d, &g, dy + ((size_t)i * d->cout + c) * hwo, dyq);
            for (size_t t = 0; t < kk; t++) S(dot_acc)(dyq, P + off[t], len, lanes + 32 * t, &tail[t]);
        }
        for (size_t t = 0; t < kk; t++) {
            ACC sum = tail[t];
            for (int l = 0; l < 32; l++) sum += (ACC)lanes[32 * t + l];
            dwt[(size_t)c * kk + t] = (T)sum;
        }
    }
    return 0;
}

/* dbias[c] = Σ_{n,hw} dy (accumulated in ACC) */
static void S(bias_grad)(const tcet_conv_desc *d, const T *dy, T *db)
{
    const size_t hwo = (size_t)d->ho * d->wo;
    for (int c = 0; c < d->cout; c++) {
        ACC sum = 0;
        for (int i = 0; i < d->n; i++) {
            const T *p = dy + ((size_t)i * d->cout + c) * hwo;
            T part[8] = { 0 };
            size_t q = 0;
            for (; q + 8 <= hwo; q += 8)
                for (int l = 0; l < 8; l++) part[l] += p[q + l];
            for (; q < hwo; q++) sum += p[q];
            for (int l = 0; l < 8; l++) sum += part[l];
        }
        db[c] = (T)sum;
    }
}

/* ---- entry points for this dtype --------------------------------------------- */

static int S(conv_fwd)(tcet_backend *be, const tcet_conv_desc *d, const void *x, const void *w,
                       const void *bias, void *y)
{
    if (conv_is_depthwise(d)) return S(dw_fwd)(be, d, x, w, bias, y);
    return S(conv_fwd_gemm)(be, d, x, w, bias, y);
}

static int S(conv_bwd_data)(tcet_backend *be, const tcet_conv_desc *d, const void *w, const void *dy, void *dx)
{
    if (conv_is_depthwise(d)) return S(dw_bwd_data)(be, d, w, dy, dx);
    return S(conv_bwd_data_gemm)(be, d, w, dy, dx);
}

static int S(conv_bwd_filter)(tcet_backend *be, const tcet_conv_desc *d, const void *x, const void *dy,
                              void *dw, void *dbias)
{
    if (dbias) S(bias_grad)(d, dy, dbias);
    if (!dw) return 0;
    if (conv_is_depthwise(d)) return S(dw_bwd_filter)(be, d, x, dy, dw);
    return S(conv_bwd_filter_gemm)(be, d, x, dy, dw);
}
