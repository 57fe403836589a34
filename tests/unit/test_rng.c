/* The keyed generator: reproducible per key, independent across keys, and
 * uniform enough for the mutation draws (chi-square bound). */
#include "test_support.h"

#include <math.h>
#include <string.h>

#include "common/rng.h"

static void same_key_same_stream(void **state)
{
    tcet_rng a, b;
    tcet_rng_seed(&a, 42, TCET_STREAM_WEIGHTS, 7);
    tcet_rng_seed(&b, 42, TCET_STREAM_WEIGHTS, 7);
    for (int i = 0; i < 1000; i++) assert_true(tcet_rng_next(&a) == tcet_rng_next(&b));
}

static void different_keys_differ(void **state)
{
    tcet_rng a, b, c;
    tcet_rng_seed(&a, 42, TCET_STREAM_WEIGHTS, 7);
    tcet_rng_seed(&b, 42, TCET_STREAM_WEIGHTS, 8);
    tcet_rng_seed(&c, 42, TCET_STREAM_BATCH, 7);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = tcet_rng_next(&a);
        same_ab += x == tcet_rng_next(&b);
        same_ac += x == tcet_rng_next(&c);
    }
    assert_int_equal(same_ab, 0);
    assert_int_equal(same_ac, 0);
}

static void below_is_uniform(void **state)
{
    /* 7 bins, 700000 draws: chi-square with 6 dof; P(X > 22.46) = 0.001. */
    tcet_rng r;
    tcet_rng_seed(&r, 1, 1, 0);
    long count[7] = {0};
    for (int i = 0; i < 700000; i++) count[tcet_rng_below(&r, 7)]++;
    double chi = 0;
    for (int k = 0; k < 7; k++) chi += (count[k] - 100000.0) * (count[k] - 100000.0) / 100000.0;
    assert_true(chi < 22.46);
}

static void normal_moments(void **state)
{
    tcet_rng r;
    tcet_rng_seed(&r, 3, 5, 0);
    double s = 0, s2 = 0;
    const int n = 400000;
    for (int i = 0; i < n; i++) {
        double x = tcet_rng_normal(&r);
        s += x;
        s2 += x * x;
    }
    /* standard errors: mean 1/sqrt(n) = 0.0016, variance sqrt(2/n) = 0.0022 */
    assert_true(fabs(s / n) < 0.008);
    assert_true(fabs(s2 / n - 1.0) < 0.011);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_key_same_stream),
        cmocka_unit_test(different_keys_differ),
        cmocka_unit_test(below_is_uniform),
        cmocka_unit_test(normal_moments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
