/* ZiCo per-layer statistics (docs/semantics.md#zico; golden/README "ZiCo").
 *
 * The official `caculate_zico` works on float32 numpy arrays: per weight
 * element, over the m batches, std = np.std (ddof 0) and mean|g|; the
 * elements with std != 0 contribute mean|g|/std to tmpsum = np.sum(...) in
 * float32 with numpy's pairwise summation; a layer adds log(tmpsum) unless
 * tmpsum == 0.  Everything here reproduces that arithmetic bit for bit
 * (except logf, which may differ from numpy's SIMD log by 1 ulp). */
#ifndef TCET_ZICO_MATH_H
#define TCET_ZICO_MATH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t nonzero_std_count; /* elements with std != 0 */
    float tmpsum;              /* Σ mean|g| / std over them (float32, numpy order) */
    float log;                 /* logf(tmpsum); 0 when skipped */
    int skipped;               /* tmpsum == 0 */
} tcet_zico_layer;

/* numpy's float32 pairwise summation of a contiguous array of n elements
 * (FLOAT_pairwise_sum: < 8 plain loop, <= 128 eight interleaved accumulators,
 * else split at n/2 rounded down to a multiple of 8). */
float tcet_np_pairwise_sum_f32(const float *a, size_t n);

/* np.sum of a float32 1-D array: pairwise sums of consecutive 8192-element
 * chunks (the ufunc buffer), added left to right in float32. */
float tcet_np_sum_f32(const float *a, size_t n);

/* Statistics of one layer from m >= 1 gradient rows of numel elements each
 * (rows[b] = flattened ∂L_b/∂W, float32). */
void tcet_zico_layer_stats(const float *const *rows, int m, size_t numel, tcet_zico_layer *out);

/* The same layer term all in double (the float64 diagnostic path,
 * docs/proxies.md#numerical-conditioning): log Σ mean|g| / std over the
 * elements with std != 0, plain summation; 0 when that sum is 0. */
double tcet_zico_layer_log_f64(const double *const *rows, int m, size_t numel);

/* ZiCo total: Σ over non-skipped layers of (double)log, in layer order,
 * starting from 0 (the reference's Python int accumulator). */
double tcet_zico_total(const tcet_zico_layer *layers, int nlayers);

#endif
