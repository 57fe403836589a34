/* Deterministic, vectorisable reductions for one element type (T), summed in
 * ACC.  Eight independent partial sums (two to four SIMD accumulators) let the
 * compiler use SIMD without -ffast-math and hide the add latency; the
 * association order is fixed, so results repeat exactly. */

#ifndef RL
#define RL 8 /* reduction lanes (8: what GCC vectorises well here) */
#endif

static inline ACC S(lanes_total)(const ACC *part)
{
    ACC s = 0;
    for (int l = 0; l < RL; l++) s += part[l];
    return s;
}

static inline ACC S(sum)(const T *restrict p, size_t len)
{
    ACC part[RL] = { 0 };
    size_t j = 0;
    for (; j + RL <= len; j += RL)
        for (int l = 0; l < RL; l++) part[l] += (ACC)p[j + l];
    ACC s = S(lanes_total)(part);
    for (; j < len; j++) s += (ACC)p[j];
    return s;
}

/* One pass: *s1 += Σ (p - shift), *s2 += Σ (p - shift)^2.  With a shift
 * close to the mean the variance (s2 - s1^2/m)/m loses nothing noticeable in
 * double (the error scales with (mean - shift)^2 / var * 1e-16). */
CPU_NOINLINE static void S(sum_sq)(const T *restrict p, size_t len, ACC shift, ACC *s1, ACC *s2)
{
    ACC a[RL] = { 0 }, b[RL] = { 0 };
    size_t j = 0;
    for (; j + RL <= len; j += RL)
        for (int l = 0; l < RL; l++) {
            ACC v = (ACC)p[j + l] - shift;
            a[l] += v;
            b[l] += v * v;
        }
    ACC sa = S(lanes_total)(a), sb = S(lanes_total)(b);
    for (; j < len; j++) {
        ACC v = (ACC)p[j] - shift;
        sa += v;
        sb += v * v;
    }
    *s1 += sa;
    *s2 += sb;
}

/* One pass: *sa += Σ a, *sab += Σ a (b - mean) */
CPU_NOINLINE static void S(sum_dotdev)(const T *restrict a, const T *restrict b, size_t len, ACC mean, ACC *sa, ACC *sab)
{
    ACC x[RL] = { 0 }, y[RL] = { 0 };
    size_t j = 0;
    for (; j + RL <= len; j += RL)
        for (int l = 0; l < RL; l++) {
            x[l] += (ACC)a[j + l];
            y[l] += (ACC)a[j + l] * ((ACC)b[j + l] - mean);
        }
    ACC s = S(lanes_total)(x), t = S(lanes_total)(y);
    for (; j < len; j++) {
        s += (ACC)a[j];
        t += (ACC)a[j] * ((ACC)b[j] - mean);
    }
    *sa += s;
    *sab += t;
}
