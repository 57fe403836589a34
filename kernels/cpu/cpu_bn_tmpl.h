/* Batch normalisation for one element type (T); statistics accumulated in
 * double as PyTorch's CPU kernels do for float.  Needs cpu_reduce_tmpl.h.  y may
 * alias x and dx may alias dy (in-place use). */

static int S(bn_fwd)(int train, int n, int c, int hw, double eps, double momentum, const T *x,
                     const T *gamma, const T *beta, T *rm, T *rv, int update_running, T *y,
                     T *save_mean, T *save_invstd)
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
     *   alpha   = invstd * gamma, shift = beta - mean * alpha    (in T) */
    const size_t m = (size_t)n * hw, plane = (size_t)hw, cstride = (size_t)c * hw;
    for (int ch = 0; ch < c; ch++) {
        T mean_t, invstd_t;
        if (train) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                const T *xp = x + i * cstride + ch * plane;
                for (size_t q = 0; q < plane; q++) sum += (double)xp[q];
            }
            mean_t = (T)(sum / (double)m);
            double var_acc = 0;
            for (int i = 0; i < n; i++) {
                const T *xp = x + i * cstride + ch * plane;
                for (size_t q = 0; q < plane; q++) {
                    const T d = xp[q] - mean_t;
                    var_acc += (double)(d * d);
                }
            }
            const T var_sum = (T)var_acc;
            invstd_t = (T)(1.0 / sqrt((double)(var_sum / (T)m) + eps));
            if (save_mean) save_mean[ch] = mean_t;
            if (save_invstd) save_invstd[ch] = invstd_t;
            if (update_running) {
                /* running = momentum * batch + (1 - momentum) * running, with
                 * the unbiased variance var_sum / (m - 1) */
                const double unbiased = (double)(var_sum / (T)(m - 1));
                rm[ch] = (T)(momentum * (double)mean_t + (1 - momentum) * (double)rm[ch]);
                rv[ch] = (T)(momentum * unbiased + (1 - momentum) * (double)rv[ch]);
            }
        } else {
            mean_t = rm[ch];
            invstd_t = (T)1 / (T)sqrt((double)(rv[ch] + (T)eps));
        }
        const T g = gamma ? gamma[ch] : (T)1, b = beta ? beta[ch] : (T)0;
        const T alpha = invstd_t * g;
        const T ma = mean_t * alpha;
        const T shift = b - ma;
        for (int i = 0; i < n; i++) {
            const T *xp = x + i * cstride + ch * plane;
            T *yp = y + i * cstride + ch * plane;
            for (size_t q = 0; q < plane; q++) yp[q] = xp[q] * alpha + shift;
        }
    }
    return 0;
}

static int S(bn_bwd)(int n, int c, int hw, const T *x, const T *dy, const T *gamma,
                     const T *save_mean, const T *save_invstd, T *dx, T *dgamma, T *dbeta)
{
    const size_t m = (size_t)n * hw, plane = (size_t)hw, cstride = (size_t)c * hw;
    for (int ch = 0; ch < c; ch++) {
        const double mean = (double)save_mean[ch], invstd = (double)save_invstd[ch];
        double sdy = 0, sdyx = 0;
        for (int i = 0; i < n; i++)
            S(sum_dotdev)(dy + i * cstride + ch * plane, x + i * cstride + ch * plane, plane, mean, &sdy, &sdyx);
        if (dbeta) dbeta[ch] = (T)sdy;
        if (dgamma) dgamma[ch] = (T)(sdyx * invstd);
        if (!dx) continue;
        /* dx = g invstd (dy - mean(dy) - (x - mean) invstd^2 mean(dy (x - mean))) */
        const double g = gamma ? (double)gamma[ch] : 1.0;
        const T a = (T)(g * invstd), mdy = (T)(sdy / (double)m),
                kx = (T)(sdyx * invstd * invstd / (double)m), mu = (T)mean;
        for (int i = 0; i < n; i++) {
            const T *xp = x + i * cstride + ch * plane;
            const T *dyp = dy + i * cstride + ch * plane;
            T *dxp = dx + i * cstride + ch * plane;
            for (size_t q = 0; q < plane; q++) dxp[q] = (dyp[q] - mdy - (xp[q] - mu) * kx) * a;
        }
    }
    return 0;
}
