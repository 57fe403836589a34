/* NASWOT Gram of sign codes on the CPU backend (docs/performance.md: the bit-packed
 * popcount kernel) against a naive count: K_ij = #units where the codes
 * (x > 0) of samples i and j agree, positives_i = #units with x > 0.
 * Covers a full 64-image batch, d around the 64-bit word and the chunk
 * boundaries, and the special values whose code is 0: +0, -0, NaN, -inf,
 * negative denormals (and +inf, positive denormals: code 1). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "test_support.h"

static tcet_backend *be;

static int setup(void **state) { return test_cpu_backend(&be); }
static int teardown(void **state) { return test_cpu_backend_free(&be); }

static uint64_t lcg = 88172645463325252ull;
static uint32_t next_u32(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg >> 33);
}

/* mostly random normal-ish values, with every special value sprinkled in */
static float draw(void)
{
    uint32_t r = next_u32();
    switch (r % 16) {
    case 0: return 0.0f;
    case 1: return -0.0f;
    case 2: return NAN;
    case 3: return INFINITY;
    case 4: return -INFINITY;
    case 5: return 1e-41f;  /* positive denormal: code 1 */
    case 6: return -1e-41f; /* negative denormal: code 0 */
    default: return ((float)(r >> 8) / 16777216.0f) - 0.5f;
    }
}

static void check(int n, size_t d)
{
    float *x = malloc((size_t)n * d * sizeof *x);
    unsigned char *c = malloc((size_t)n * d);
    double *K = malloc((size_t)n * n * sizeof *K);
    int64_t *pos = malloc((size_t)n * sizeof *pos);
    assert_non_null(x), assert_non_null(c), assert_non_null(K), assert_non_null(pos);
    for (size_t i = 0; i < (size_t)n * d; i++) {
        x[i] = draw();
        c[i] = x[i] > 0.0f; /* the code as the reference defines it: (x > 0).float() */
    }
    /* one sample all positive, one all non-positive (when there are two) */
    if (n > 2) {
        for (size_t u = 0; u < d; u++) x[u] = 1.0f + (float)u, c[u] = 1;
        for (size_t u = 0; u < d; u++) x[d + u] = -0.0f, c[d + u] = 0;
    }
    assert_int_equal(be->gram_codes(be, n, d, x, K, pos), 0);
    for (int i = 0; i < n; i++) {
        int64_t p = 0;
        for (size_t u = 0; u < d; u++) p += c[(size_t)i * d + u];
        assert_int_equal(pos[i], p);
        for (int j = 0; j < n; j++) {
            int64_t agree = 0;
            const unsigned char *ci = c + (size_t)i * d, *cj = c + (size_t)j * d;
            for (size_t u = 0; u < d; u++) agree += ci[u] == cj[u];
            if (K[(size_t)i * n + j] != (double)agree)
                fail_msg("n=%d d=%zu: K[%d][%d] = %.17g, naive count %lld", n, d, i, j,
                         K[(size_t)i * n + j], (long long)agree);
        }
    }
    free(x), free(c), free(K), free(pos);
}

static void test_word_boundaries(void **state)
{
    (void)state;
    const size_t dims[] = { 1, 2, 63, 64, 65, 127, 128, 1000 };
    for (size_t k = 0; k < sizeof dims / sizeof *dims; k++) {
        check(64, dims[k]);
        check(3, dims[k]);
        check(1, dims[k]);
    }
}

static void test_long_codes(void **state)
{
    (void)state;
    /* across chunk boundaries of any reasonable tiling (16384 bits = 256 words) */
    check(64, 16384 + 77);
    check(5, 3 * 16384 + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_word_boundaries),
        cmocka_unit_test(test_long_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
