/* Batch normalisation for one element type (T); statistics accumulated in
 * double as PyTorch's CPU kernels do for float.  Needs cpu_reduce_tmpl.h.  y may
 * alias x and dx may alias dy (in-place use). */

/* Scratch (from the caller) in doubles: S(bn_ws_doubles)(c). */
static inline size_t S(bn_ws_doubles)(int c) { return (size_t)c * (2 * RL + 2) + 2 * (size_t)c; }
/* bn_bwd needs 6c (sdy, sdyx, coef[4c]) plus 2c values of T: within the
 * above; bn_relu_bwd one plane of T more, after it (S(bn_bwd_ws_bytes)) */
static inline size_t S(bn_bwd_ws_bytes)(int c, int hw)
{
    return sizeof(double) * S(bn_ws_doubles)(c) + sizeof(T) * (size_t)hw;
}

/* Memory order (docs/performance.md): every pass walks the tensor image by image, channel
 * by channel, i.e. sequentially through memory, with one set of partial sums
 * per channel.  (Walking one channel at a time reads 64 planes that lie a
 * whole image apart, which the prefetchers serve badly: twice slower.)  The
 * per-channel sums see the same terms in the same order as a channel-major
 * loop (images ascending, pixels ascending per lane), so the results do not
 * depend on the walk. */
/* alpha = invstd * gamma, shift = beta - mean * alpha, in T, each step
 * rounded separately (C17 mode: GCC does not contract a*b+c into an fma).
 * One compiled copy (noinline) for the forward and for the mask that
 * S(bn_relu_bwd) recomputes, so both see bit-identical values; the CUDA
 * kernels do the same arithmetic (kernels/cuda/bn_math.h). */
CPU_NOINLINE static void S(bn_affine)(T mean_t, T invstd_t, T g, T b, T *alpha, T *shift)
{
    const T a = invstd_t * g;
    const T ma = mean_t * a;
    *alpha = a;
    *shift = b - ma;
}

/* Channels per block of the train-mode forward's passes (mean, variance,
 * apply) so that one block of every image, `tensors` tensors of it, stays
 * in L2 between the passes: about CPU_BN_BLOCK_BYTES.  With a batch of 64 a block is then one 4 KiB run per
 * image and tensor, which the hardware prefetchers still follow (a walk of
 * one 1 KiB plane per image was twice slower, see below).  Every channel
 * still sees its terms in the same order: the results do not depend on it. */
static inline int S(bn_block_channels)(int n, int c, size_t plane, int tensors)
{
    const size_t chan = (size_t)n * plane * sizeof(T) * (size_t)tensors;
    size_t b = CPU_BN_BLOCK_BYTES / (chan ? chan : 1);
    if (b < 1) b = 1;
    return b >= (size_t)c ? c : (int)b;
}

/* Asks for the next image's run of a block (len values from p) while this
 * image's is summed: the runs lie a whole image apart, and without the hint
 * the first pass over a block read memory at half the sequential rate. */
static inline void S(prefetch_block)(const T *p, size_t len)
{
    const char *b = (const char *)p, *e = (const char *)(p + len);
    for (; b < e; b += 64) __builtin_prefetch(b, 0, 3);
}

/* 1 when the ReLU-only output of a float BN is large enough to go straight
 * to memory (the direct convs' rule, cpu_direct.h: DIRECT_STREAM_MIN_BYTES;
 * the lines would not stay in the caches, and ordinary stores read each
 * line before writing it) and every plane is whole aligned vectors. */
static inline int S(bn_stream)(int n, int c, size_t plane, const T *y, const T *y_relu)
{
#if defined(__AVX2__)
    return sizeof(T) == sizeof(float) && !y && y_relu && plane % 8 == 0 && (uintptr_t)y_relu % 32 == 0 &&
           sizeof(T) * (size_t)n * c * plane >= CPU_STREAM_MIN_BYTES;
#else
    (void)n, (void)c, (void)plane, (void)y, (void)y_relu;
    return 0;
#endif
}

/* y (if not NULL) = bn(x), y_relu (if not NULL) = relu(bn(x)) for channels
 * [c0, c1) with the per-channel transform alpha_d / shift_d (T values).
 * stream: y_relu alone, float, planes of whole aligned vectors: written with
 * streaming stores (see S(bn_stream)). */
static void S(bn_apply)(int n, int c0, int c1, size_t plane, size_t cstride, const T *x, const double *alpha_d,
                        const double *shift_d, T *y, T *y_relu, int stream)
{
    for (int i = 0; i < n; i++)
        for (int ch = c0; ch < c1; ch++) {
            const T alpha = (T)alpha_d[ch], shift = (T)shift_d[ch]; /* exact round trip */
            const T *xp = x + i * cstride + ch * plane;
            if (y_relu && !y) { /* bn_relu_fwd with only the ReLU output kept */
                T *rp = y_relu + i * cstride + ch * plane;
#if defined(__AVX2__)
                if (stream && sizeof(T) == sizeof(float)) {
                    /* the same two roundings and the same select as below */
                    const __m256 a = _mm256_set1_ps((float)alpha), sh = _mm256_set1_ps((float)shift);
                    const __m256 z = _mm256_setzero_ps();
                    for (size_t q = 0; q < plane; q += 8) {
                        const __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps((const float *)xp + q), a), sh);
                        _mm256_stream_ps((float *)rp + q, _mm256_blendv_ps(v, z, _mm256_cmp_ps(v, z, _CMP_LT_OQ)));
                    }
                    continue;
                }
#endif
                for (size_t q = 0; q < plane; q++) {
                    const T v = BN_APPLY(xp[q], alpha, shift);
                    rp[q] = v < 0 ? 0 : v;
                }
                continue;
            }
            T *yp = y + i * cstride + ch * plane;
            if (y_relu) { /* bn_relu_fwd: relu(y) as cpu_relu_fwd (NaN stays NaN) */
                T *rp = y_relu + i * cstride + ch * plane;
                for (size_t q = 0; q < plane; q++) {
                    const T v = BN_APPLY(xp[q], alpha, shift);
                    yp[q] = v;
                    rp[q] = v < 0 ? 0 : v;
                }
            } else {
                for (size_t q = 0; q < plane; q++) yp[q] = BN_APPLY(xp[q], alpha, shift);
            }
        }
}

static int S(bn_fwd)(int train, int n, int c, int hw, double eps, double momentum, const T *x,
                     const T *gamma, const T *beta, T *rm, T *rv, int update_running, T *y,
                     T *y_relu, T *save_mean, T *save_invstd, double *ws)
{
    /* The statistics follow PyTorch 1.13's CPU kernel operation for operation
     * (batch_norm_cpu_collect_stats_contiguous_impl + VarTransform + the
     * alpha/beta transform), because a value rounded differently next to 0
     * flips a ReLU and visibly moves SNIP/ZiCo saliencies (golden case
     * bottleneck, k7):
     *   mean    = T(Σ x in double / m)
     *   var_sum = T(Σ double(T(x - mean) * T(x - mean)))
     *   invstd  = T(1 / sqrt(double(var_sum / T(m)) + eps))      (train)
     *           = 1 / sqrt(running_var + T(eps)) in T           (eval)
     *   alpha   = invstd * gamma, shift = beta - mean * alpha    (in T)
     * The double sums use RL independent partial sums per channel (the
     * compiler vectorises them; one serial chain of dependent double adds
     * made BN the most expensive op of the forward, docs/performance.md).  Each element
     * still contributes exactly double(x) resp. double(T(d*d)); only the
     * association of the double sum differs, which moves the double result by
     * ~1e-16 relative, far below T's rounding. */
    const size_t m = (size_t)n * hw, plane = (size_t)hw, cstride = (size_t)c * hw;
    double *part = ws, *tail = ws + (size_t)c * RL;           /* [c][RL], [c] */
    double *alpha_d = tail + c, *shift_d = alpha_d + c;        /* per-channel transform (as T values) */
    if (!train) {
        for (int ch = 0; ch < c; ch++) {
            const T mean_t = rm[ch];
            const T invstd_t = (T)1 / (T)sqrt((double)(rv[ch] + (T)eps));
            T alpha, shift;
            S(bn_affine)(mean_t, invstd_t, gamma ? gamma[ch] : (T)1, beta ? beta[ch] : (T)0, &alpha, &shift);
            alpha_d[ch] = (double)alpha;
            shift_d[ch] = (double)shift;
        }
        const int stream = S(bn_stream)(n, c, plane, y, y_relu);
        S(bn_apply)(n, 0, c, plane, cstride, x, alpha_d, shift_d, y, y_relu, stream);
#if defined(__AVX2__)
        if (stream) _mm_sfence();
#endif
        return 0;
    }
    /* Train mode: blocks of channels small enough that the block (all
     * images) stays in L2, so of the three passes only the first reads
     * memory (S(bn_block_channels)). */
    T *mean_v = (T *)(void *)(shift_d + c); /* c values of T, fits in c doubles */
    const int cblk = S(bn_block_channels)(n, c, plane, 1);
    const int stream = S(bn_stream)(n, c, plane, y, y_relu);
    for (size_t k = 0; k < (size_t)c * RL; k++) part[k] = 0;
    for (int ch = 0; ch < c; ch++) tail[ch] = 0;
    for (int c0 = 0; c0 < c; c0 += cblk) {
        const int c1 = c - c0 < cblk ? c : c0 + cblk;
        for (int i = 0; i < n; i++) {
            if (i + 1 < n && cblk < c) S(prefetch_block)(x + (i + 1) * cstride + c0 * plane, (size_t)(c1 - c0) * plane);
            for (int ch = c0; ch < c1; ch++) {
                const T *restrict xp = x + i * cstride + ch * plane;
                double *restrict pp = part + (size_t)ch * RL;
                size_t q = 0;
                for (; q + RL <= plane; q += RL)
                    for (int l = 0; l < RL; l++) pp[l] += (double)xp[q + l];
                for (; q < plane; q++) tail[ch] += (double)xp[q];
            }
        }
        for (int ch = c0; ch < c1; ch++) {
            double sum = tail[ch];
            for (int l = 0; l < RL; l++) sum += part[(size_t)ch * RL + l];
            mean_v[ch] = (T)(sum / (double)m);
            for (int l = 0; l < RL; l++) part[(size_t)ch * RL + l] = 0;
            tail[ch] = 0;
        }
        for (int i = 0; i < n; i++)
            for (int ch = c0; ch < c1; ch++) {
                const T *restrict xp = x + i * cstride + ch * plane;
                double *restrict pp = part + (size_t)ch * RL;
                const T mean_t = mean_v[ch];
                size_t q = 0;
                for (; q + RL <= plane; q += RL)
                    for (int l = 0; l < RL; l++) {
                        const T d = xp[q + l] - mean_t;
                        pp[l] += (double)(d * d);
                    }
                for (; q < plane; q++) {
                    const T d = xp[q] - mean_t;
                    tail[ch] += (double)(d * d);
                }
            }
        for (int ch = c0; ch < c1; ch++) {
            double var_acc = tail[ch];
            for (int l = 0; l < RL; l++) var_acc += part[(size_t)ch * RL + l];
            const T mean_t = mean_v[ch];
            const T var_sum = (T)var_acc;
            const T invstd_t = (T)(1.0 / sqrt((double)(var_sum / (T)m) + eps));
            if (save_mean) save_mean[ch] = mean_t;
            if (save_invstd) save_invstd[ch] = invstd_t;
            if (update_running) {
                /* running = momentum * batch + (1 - momentum) * running, with
                 * the unbiased variance var_sum / (m - 1) */
                const double unbiased = (double)(var_sum / (T)(m - 1));
                rm[ch] = (T)(momentum * (double)mean_t + (1 - momentum) * (double)rm[ch]);
                rv[ch] = (T)(momentum * unbiased + (1 - momentum) * (double)rv[ch]);
            }
            T alpha, shift;
            S(bn_affine)(mean_t, invstd_t, gamma ? gamma[ch] : (T)1, beta ? beta[ch] : (T)0, &alpha, &shift);
            alpha_d[ch] = (double)alpha;
            shift_d[ch] = (double)shift;
        }
        if (y || y_relu) S(bn_apply)(n, c0, c1, plane, cstride, x, alpha_d, shift_d, y, y_relu, stream);
    }
#if defined(__AVX2__)
    if (stream) _mm_sfence(); /* the streamed lines are visible before the next op reads them */
#endif
    return 0;
}

/* aff[2c] = (alpha, shift) of every channel from the saved statistics: the
 * transform the train-mode forward applied (S(bn_affine) of the same T
 * values), for the ReLU masks and outputs the backward recomputes. */
static void S(bn_affines)(int c, const T *gamma, const T *beta, const T *save_mean, const T *save_invstd, T *aff)
{
    for (int ch = 0; ch < c; ch++)
        S(bn_affine)(save_mean[ch], save_invstd[ch], gamma ? gamma[ch] : (T)1, beta ? beta[ch] : (T)0, &aff[2 * ch],
                     &aff[2 * ch + 1]);
}

/* g = relu_bwd's output for one plane: (x alpha + shift > 0) ? dy : 0, with
 * bn(x) recomputed as S(bn_fwd) did.  (Summing the masked terms directly
 * in the double reduction defeats GCC's vectoriser, 3x slower overall; the
 * masked plane goes through a small buffer that stays in L1 instead, and
 * S(sum_dotdev) then sees exactly the values relu_bwd would have written.) */
static void S(relu_mask_plane)(const T *restrict dy, const T *restrict x, size_t len, T alpha, T shift,
                               T *restrict g)
{
    for (size_t q = 0; q < len; q++) {
        const T dv = dy[q]; /* loaded unconditionally: the select vectorises */
        g[q] = BN_APPLY(x[q], alpha, shift) > 0 ? dv : 0;
    }
}

/* S(relu_mask_plane) then S(sum_dotdev) of the masked plane, in one pass
 * where AVX2 is there for float: the same values (mask bn(x) > 0 with
 * BN_APPLY's two roundings, masked-out terms +0), the same 8 double lanes
 * (lane l: positions l mod 8, in order), the lanes summed in order and the
 * tail after them, so bit for bit the two-step version, which the generic
 * path keeps (and which GCC's vectoriser did not fuse, see above).  The
 * fused loop is the bulk of the first backward pass over every BN. */
static void S(relu_sum_dotdev)(const T *restrict dy, const T *restrict x, size_t len, T alpha, T shift,
                               double mean, T *restrict gbuf, double *sa, double *sab)
{
#if defined(__AVX2__)
    if (sizeof(T) == sizeof(float) && RL == 8) {
        const float *df = (const float *)dy, *xf = (const float *)x;
        const __m256 a = _mm256_set1_ps((float)alpha), sh = _mm256_set1_ps((float)shift), z = _mm256_setzero_ps();
        const __m256d mv = _mm256_set1_pd(mean);
        __m256d s_lo = _mm256_setzero_pd(), s_hi = s_lo, t_lo = s_lo, t_hi = s_lo;
        size_t j = 0;
        for (; j + 8 <= len; j += 8) {
            const __m256 xv = _mm256_loadu_ps(xf + j);
            const __m256 bn = _mm256_add_ps(_mm256_mul_ps(xv, a), sh);
            const __m256 g = _mm256_and_ps(_mm256_loadu_ps(df + j), _mm256_cmp_ps(bn, z, _CMP_GT_OQ));
            const __m256d g_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(g));
            const __m256d g_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
            const __m256d x_lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)), mv);
            const __m256d x_hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)), mv);
            s_lo = _mm256_add_pd(s_lo, g_lo);
            s_hi = _mm256_add_pd(s_hi, g_hi);
            t_lo = _mm256_add_pd(t_lo, _mm256_mul_pd(g_lo, x_lo));
            t_hi = _mm256_add_pd(t_hi, _mm256_mul_pd(g_hi, x_hi));
        }
        double sl[8], tl[8];
        _mm256_storeu_pd(sl, s_lo), _mm256_storeu_pd(sl + 4, s_hi);
        _mm256_storeu_pd(tl, t_lo), _mm256_storeu_pd(tl + 4, t_hi);
        double s = 0, t = 0;
        for (int l = 0; l < 8; l++) s += sl[l];
        for (int l = 0; l < 8; l++) t += tl[l];
        for (; j < len; j++) {
            const T dv = dy[j];
            const double g = (double)(BN_APPLY(x[j], alpha, shift) > 0 ? dv : 0);
            s += g;
            t += g * ((double)x[j] - mean);
        }
        *sa += s;
        *sab += t;
        return;
    }
#endif
    S(relu_mask_plane)(dy, x, len, alpha, shift, gbuf);
    S(sum_dotdev)(gbuf, x, len, mean, sa, sab);
}

/* bn_bwd; with relu (bn_relu_bwd) dy is the gradient of relu(bn(x)) and the
 * ReLU mask bn(x) > 0 is recomputed from x exactly as S(bn_fwd) computed
 * bn(x) (same S(bn_affine), same roundings), which saves relu_bwd's pass over three
 * tensors (docs/performance.md); beta is only read then. */
static int S(bn_bwd_any)(int n, int c, int hw, const T *x, const T *dy, const T *gamma, const T *beta,
                         int relu, const T *save_mean, const T *save_invstd, T *dx, T *dgamma, T *dbeta,
                         double *ws);

static int S(bn_bwd)(int n, int c, int hw, const T *x, const T *dy, const T *gamma,
                     const T *save_mean, const T *save_invstd, T *dx, T *dgamma, T *dbeta, double *ws)
{
    return S(bn_bwd_any)(n, c, hw, x, dy, gamma, NULL, 0, save_mean, save_invstd, dx, dgamma, dbeta, ws);
}

static int S(bn_relu_bwd)(int n, int c, int hw, const T *x, const T *dy, const T *gamma, const T *beta,
                          const T *save_mean, const T *save_invstd, T *dx, T *dgamma, T *dbeta, double *ws)
{
    return S(bn_bwd_any)(n, c, hw, x, dy, gamma, beta, 1, save_mean, save_invstd, dx, dgamma, dbeta, ws);
}

/* The first pass of bn_bwd / bn_relu_bwd: the per-channel sums over the
 * batch, dgamma and dbeta, and the coefficients of the second pass, coef[4c]
 * (a, mean(dy), kx, mu as T values) and, with relu, aff[2c] (alpha, shift of
 * the recomputed mask).  ws: S(bn_ws_doubles)(c) doubles, then one plane of
 * T (relu), see S(bn_bwd_ws_bytes); coef and aff may lie in it (they do for
 * S(bn_bwd_any): coef after the 2c sums, aff after coef). */
static void S(bn_bwd_coefs)(int n, int c, int hw, const T *x, const T *dy, const T *gamma, const T *beta, int relu,
                            const T *save_mean, const T *save_invstd, T *dgamma, T *dbeta, double *ws, T *coef,
                            T *aff)
{
    const size_t m = (size_t)n * hw, plane = (size_t)hw, cstride = (size_t)c * hw;
    double *sdy = ws, *sdyx = ws + c;
    T *gbuf = (T *)(void *)(ws + S(bn_ws_doubles)(c)); /* one masked plane (relu only) */
    for (int ch = 0; ch < c; ch++) sdy[ch] = sdyx[ch] = 0;
    if (relu) S(bn_affines)(c, gamma, beta, save_mean, save_invstd, aff);
    /* (Blocks of channels as in S(bn_fwd), so that the second pass finds x
     * and dy in L2, measured no faster here: docs/performance.md.) */
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            const T *g = dy + i * cstride + ch * plane;
            if (relu)
                S(relu_sum_dotdev)(g, x + i * cstride + ch * plane, plane, aff[2 * ch], aff[2 * ch + 1],
                                   (double)save_mean[ch], gbuf, &sdy[ch], &sdyx[ch]);
            else
                S(sum_dotdev)(g, x + i * cstride + ch * plane, plane, (double)save_mean[ch], &sdy[ch], &sdyx[ch]);
        }
    for (int ch = 0; ch < c; ch++) {
        const double mean = (double)save_mean[ch], invstd = (double)save_invstd[ch];
        if (dbeta) dbeta[ch] = (T)sdy[ch];
        if (dgamma) dgamma[ch] = (T)(sdyx[ch] * invstd);
        /* dx = g invstd (dy - mean(dy) - (x - mean) invstd^2 mean(dy (x - mean))) */
        const double g = gamma ? (double)gamma[ch] : 1.0;
        coef[4 * (size_t)ch] = (T)(g * invstd);
        coef[4 * (size_t)ch + 1] = (T)(sdy[ch] / (double)m);
        coef[4 * (size_t)ch + 2] = (T)(sdyx[ch] * invstd * invstd / (double)m);
        coef[4 * (size_t)ch + 3] = (T)mean;
    }
}

/* The second pass for channels [0, c) of one image (x, dy, dx at its
 * channel 0): dx = (g - mean(dy) - (x - mu) kx) a, g = dy or, with relu, dy
 * where the recomputed bn(x) > 0. */
static void S(bn_bwd_image)(int c, size_t plane, const T *x, const T *dy, int relu, const T *coef, const T *aff,
                            T *dx)
{
    for (int ch = 0; ch < c; ch++) {
        const T *cf = coef + 4 * (size_t)ch;
        const T a = cf[0], mdy = cf[1], kx = cf[2], mu = cf[3];
        const T *xp = x + ch * plane;
        const T *dyp = dy + ch * plane;
        T *dxp = dx + ch * plane;
        if (relu) {
            const T alpha = aff[2 * ch], shift = aff[2 * ch + 1];
            for (size_t q = 0; q < plane; q++) {
                const T dv = dyp[q];
                const T g = BN_APPLY(xp[q], alpha, shift) > 0 ? dv : 0;
                dxp[q] = (g - mdy - (xp[q] - mu) * kx) * a;
            }
        } else {
            for (size_t q = 0; q < plane; q++) dxp[q] = (dyp[q] - mdy - (xp[q] - mu) * kx) * a;
        }
    }
}

static int S(bn_bwd_any)(int n, int c, int hw, const T *x, const T *dy, const T *gamma, const T *beta,
                         int relu, const T *save_mean, const T *save_invstd, T *dx, T *dgamma, T *dbeta,
                         double *ws)
{
    /* coef [c][4] and aff [c][2] in the 2c .. 2c + 6c doubles of ws (T fits a double) */
    T *coef = (T *)(void *)(ws + 2 * (size_t)c), *aff = coef + 4 * (size_t)c;
    S(bn_bwd_coefs)(n, c, hw, x, dy, gamma, beta, relu, save_mean, save_invstd, dgamma, dbeta, ws, coef, aff);
    if (!dx) return 0;
    const size_t plane = (size_t)hw, cstride = (size_t)c * hw;
    for (int i = 0; i < n; i++)
        S(bn_bwd_image)(c, plane, x + i * cstride, dy + i * cstride, relu, coef, aff, dx + i * cstride);
    return 0;
}
