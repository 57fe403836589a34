/* Per-type part of kernels/cuda/bn_math.h (included there twice: float and
 * double; include bn_math.h, not this file).  BNM_T is the storage type T,
 * BNM_S(name) the suffixed name, BNM_MUL/ADD/SUB/DIV the rounded operations in
 * T and BNM_D2T the rounding double -> T; the file undefines them at its end
 * (the next instantiation defines its own).  Each function names the line of
 * kernels/cpu/cpu_bn_tmpl.h it reproduces. */

/* ---- per element ---------------------------------------------------------- */

/* BN_APPLY: y = x alpha + shift, two roundings in T. */
TCET_BNM_FN BNM_T BNM_S(bn_apply)(BNM_T x, BNM_T alpha, BNM_T shift)
{
    return BNM_ADD(BNM_MUL(x, alpha), shift);
}

/* relu(y) as cpu_relu_fwd and the fused forward: v < 0 ? 0 : v (NaN and -0 stay). */
TCET_BNM_FN BNM_T BNM_S(bn_relu)(BNM_T v) { return v < (BNM_T)0 ? (BNM_T)0 : v; }

/* relu_mask_plane: the gradient through relu(bn(x)), bn(x) recomputed. */
TCET_BNM_FN BNM_T BNM_S(bn_mask)(BNM_T dy, BNM_T x, BNM_T alpha, BNM_T shift)
{
    return BNM_S(bn_apply)(x, alpha, shift) > (BNM_T)0 ? dy : (BNM_T)0;
}

/* Term of the variance sum: double(T(d * d)), d = T(x - mean). */
TCET_BNM_FN double BNM_S(bn_var_term)(BNM_T x, BNM_T mean_t)
{
    const BNM_T d = BNM_SUB(x, mean_t);
    return (double)BNM_MUL(d, d);
}

/* Term of sum_dotdev's second sum: double(g) (double(x) - mean). */
TCET_BNM_FN double BNM_S(bn_dotdev_term)(BNM_T g, BNM_T x, double mean)
{
    return BNM_DMUL((double)g, BNM_DSUB((double)x, mean));
}

/* dx = (g - mdy - (x - mu) kx) a, every step rounded in T. */
TCET_BNM_FN BNM_T BNM_S(bn_dx)(BNM_T g, BNM_T x, BNM_T a, BNM_T mdy, BNM_T kx, BNM_T mu)
{
    return BNM_MUL(BNM_SUB(BNM_SUB(g, mdy), BNM_MUL(BNM_SUB(x, mu), kx)), a);
}

/* ---- per channel ---------------------------------------------------------- */

/* S(bn_affine): alpha = invstd γ, shift = β − mean alpha, in T. */
TCET_BNM_FN void BNM_S(bn_affine)(BNM_T mean_t, BNM_T invstd_t, BNM_T g, BNM_T b, BNM_T *alpha,
                                  BNM_T *shift)
{
    const BNM_T a = BNM_MUL(invstd_t, g);
    *alpha = a;
    *shift = BNM_SUB(b, BNM_MUL(mean_t, a));
}

/* (T)sum: var_sum from its double sum, dbeta, the channel sums */
TCET_BNM_FN BNM_T BNM_S(bn_round)(double sum) { return BNM_D2T(sum); }

/* mean_v[ch] = (T)(sum / (double)m) */
TCET_BNM_FN BNM_T BNM_S(bn_mean)(double sum, size_t m) { return BNM_D2T(BNM_DDIV(sum, (double)m)); }

/* invstd_t = (T)(1.0 / sqrt((double)(var_sum / (T)m) + eps)), var_sum = (T)sum_sq */
TCET_BNM_FN BNM_T BNM_S(bn_train_invstd)(BNM_T var_sum, size_t m, double eps)
{
    return BNM_D2T(BNM_DDIV(1.0, BNM_DSQRT(BNM_DADD((double)BNM_DIV(var_sum, (BNM_T)m), eps))));
}

/* running = momentum batch + (1 - momentum) running, in double, rounded to T;
 * the variance is the unbiased var_sum / (m - 1) in T. */
TCET_BNM_FN void BNM_S(bn_running)(BNM_T mean_t, BNM_T var_sum, size_t m, double momentum, BNM_T *rm,
                                   BNM_T *rv)
{
    const double unbiased = (double)BNM_DIV(var_sum, (BNM_T)(m - 1));
    const double keep = BNM_DSUB(1.0, momentum);
    *rm = BNM_D2T(BNM_DADD(BNM_DMUL(momentum, (double)mean_t), BNM_DMUL(keep, (double)*rm)));
    *rv = BNM_D2T(BNM_DADD(BNM_DMUL(momentum, unbiased), BNM_DMUL(keep, (double)*rv)));
}

/* eval: invstd_t = (T)1 / (T)sqrt((double)(rv + (T)eps)) */
TCET_BNM_FN BNM_T BNM_S(bn_eval_invstd)(BNM_T rv, double eps)
{
    return BNM_DIV((BNM_T)1, BNM_D2T(BNM_DSQRT((double)BNM_ADD(rv, BNM_D2T(eps)))));
}

/* Backward coefficients from the two sums (bn_bwd_any's per-channel block);
 * g = γ or 1.  coef = {a, mdy, kx, mu}. */
TCET_BNM_FN void BNM_S(bn_bwd_coef)(double sdy, double sdyx, BNM_T save_mean, BNM_T save_invstd, BNM_T g,
                                    size_t m, BNM_T *dgamma, BNM_T *dbeta, BNM_T *coef)
{
    const double invstd = (double)save_invstd;
    *dbeta = BNM_D2T(sdy);
    *dgamma = BNM_D2T(BNM_DMUL(sdyx, invstd));
    coef[0] = BNM_D2T(BNM_DMUL((double)g, invstd));
    coef[1] = BNM_D2T(BNM_DDIV(sdy, (double)m));
    coef[2] = BNM_D2T(BNM_DDIV(BNM_DMUL(BNM_DMUL(sdyx, invstd), invstd), (double)m));
    coef[3] = save_mean;
}

#ifdef __cplusplus
template <> struct tcet_bnm<BNM_T> {
    typedef BNM_T T;
    TCET_BNM_FN T apply(T x, T alpha, T shift) { return BNM_S(bn_apply)(x, alpha, shift); }
    TCET_BNM_FN T relu(T v) { return BNM_S(bn_relu)(v); }
    TCET_BNM_FN T mask(T dy, T x, T alpha, T shift) { return BNM_S(bn_mask)(dy, x, alpha, shift); }
    TCET_BNM_FN double var_term(T x, T mean_t) { return BNM_S(bn_var_term)(x, mean_t); }
    TCET_BNM_FN double dotdev_term(T g, T x, double mean) { return BNM_S(bn_dotdev_term)(g, x, mean); }
    TCET_BNM_FN T dx(T g, T x, T a, T mdy, T kx, T mu) { return BNM_S(bn_dx)(g, x, a, mdy, kx, mu); }
    TCET_BNM_FN void affine(T mean_t, T invstd_t, T g, T b, T *alpha, T *shift)
    {
        BNM_S(bn_affine)(mean_t, invstd_t, g, b, alpha, shift);
    }
    TCET_BNM_FN T narrow(double sum) { return BNM_S(bn_round)(sum); }
    TCET_BNM_FN T mean(double sum, size_t m) { return BNM_S(bn_mean)(sum, m); }
    TCET_BNM_FN T train_invstd(T var_sum, size_t m, double eps) { return BNM_S(bn_train_invstd)(var_sum, m, eps); }
    TCET_BNM_FN void running(T mean_t, T var_sum, size_t m, double momentum, T *rm, T *rv)
    {
        BNM_S(bn_running)(mean_t, var_sum, m, momentum, rm, rv);
    }
    TCET_BNM_FN T eval_invstd(T rv, double eps) { return BNM_S(bn_eval_invstd)(rv, eps); }
    TCET_BNM_FN void bwd_coef(double sdy, double sdyx, T save_mean, T save_invstd, T g, size_t m, T *dgamma,
                              T *dbeta, T *coef)
    {
        BNM_S(bn_bwd_coef)(sdy, sdyx, save_mean, save_invstd, g, m, dgamma, dbeta, coef);
    }
};
#endif

#undef BNM_T
#undef BNM_S
#undef BNM_MUL
#undef BNM_ADD
#undef BNM_SUB
#undef BNM_DIV
#undef BNM_D2T
