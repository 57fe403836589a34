/* Element-wise ops, pooling, the linear layer and saliency statistics for one
 * element type (T, GEMM); needs cpu_reduce_tmpl.h.  Element-wise outputs may
 * alias their inputs (in-place use), so those loops carry no restrict. */

static void S(relu_fwd)(size_t count, const T *x, T *y)
{
    /* x < 0 ? 0 : x keeps NaN as NaN, like torch.relu */
    for (size_t i = 0; i < count; i++) y[i] = x[i] < 0 ? 0 : x[i];
}

static void S(relu_bwd)(size_t count, const T *y, const T *dy, T *dx)
{
    /* dy read unconditionally: a conditional load can only be vectorised
     * with masked loads (AVX), so the generic (SSE2) path ran it scalar,
     * 6x slower; the result is the same */
    for (size_t i = 0; i < count; i++) {
        const T g = dy[i];
        dx[i] = y[i] > 0 ? g : 0;
    }
}

static void S(add)(size_t count, const T *a, const T *b, T *y)
{
    for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

static void S(gap_fwd)(size_t nc, size_t hw, const T *x, T *y)
{
    for (size_t i = 0; i < nc; i++) y[i] = (T)(S(sum)(x + i * hw, hw) / (double)hw);
}

static void S(gap_bwd)(size_t nc, size_t hw, const T *dy, T *dx)
{
    const T inv = (T)hw;
    for (size_t i = 0; i < nc; i++) {
        const T v = dy[i] / inv;
        T *restrict p = dx + i * hw;
        for (size_t q = 0; q < hw; q++) p[q] = v;
    }
}

static void S(linear_fwd)(int n, int in, int out, const T *x, const T *w, const T *b, T *y)
{
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1, x, in, w, in, 0, y, out);
    if (!b) return;
    for (int i = 0; i < n; i++) {
        T *restrict yr = y + (size_t)i * out;
        for (int o = 0; o < out; o++) yr[o] += b[o];
    }
}

static void S(linear_bwd)(int n, int in, int out, const T *x, const T *w, const T *dy, T *dx, T *dw, T *db)
{
    if (dx) GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1, dy, out, w, in, 0, dx, in);
    if (dw) GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1, dy, out, x, in, 0, dw, in);
    if (!db) return;
    for (int o = 0; o < out; o++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double)dy[(size_t)i * out + o];
        db[o] = (T)s;
    }
}

/* v = |w g|, taken in T as the reference does (float32 saliencies for SNIP),
 * then summed in double. */
static void S(saliency)(size_t count, const T *restrict w, const T *restrict g, double *sum, double *std)
{
    double part[8] = { 0 };
    size_t j = 0;
    for (; j + 8 <= count; j += 8)
        for (int l = 0; l < 8; l++) part[l] += (double)fabs_t(w[j + l] * g[j + l]);
    double s = 0;
    for (; j < count; j++) s += (double)fabs_t(w[j] * g[j]);
    for (int l = 0; l < 8; l++) s += part[l];
    *sum = s;
    if (count < 2) {
        *std = NAN;
        return;
    }
    const double mean = s / (double)count;
    double sq[8] = { 0 };
    for (j = 0; j + 8 <= count; j += 8)
        for (int l = 0; l < 8; l++) {
            double v = (double)fabs_t(w[j + l] * g[j + l]) - mean;
            sq[l] += v * v;
        }
    double ss = 0;
    for (; j < count; j++) {
        double v = (double)fabs_t(w[j] * g[j]) - mean;
        ss += v * v;
    }
    for (int l = 0; l < 8; l++) ss += sq[l];
    *std = sqrt(ss / (double)(count - 1));
}
