/* Rank correlations against the examples of scipy.stats' documentation
 * (spearmanr([1,2,3,4,5],[5,6,7,8,7]) = 0.8207826816681233, kendalltau
 * ([12,2,1,12,2],[1,4,7,1,0]) = -0.47140452079103173, both with ties) and
 * invariants (monotone maps, reversal, constants). */
#include <math.h>

#include "test_support.h"

#include "common/rankcorr.h"

static void test_scipy_examples(void **state)
{
    double x[5] = {1, 2, 3, 4, 5}, y[5] = {5, 6, 7, 8, 7};
    assert_rel_close(tcet_spearman(x, y, 5), 0.8207826816681233, 1e-14);
    double a[5] = {12, 2, 1, 12, 2}, b[5] = {1, 4, 7, 1, 0};
    assert_rel_close(tcet_kendall_tau_b(a, b, 5), -0.47140452079103173, 1e-14);
}

static void test_invariants(void **state)
{
    double x[50], y[50], e[50], r[50], c[50];
    for (int i = 0; i < 50; i++) {
        x[i] = sin(i * 1.7) * 10;
        y[i] = x[i] + 3 * cos(i * 0.9);
        e[i] = exp(x[i] / 4);        /* monotone map of x */
        r[i] = -y[i];
        c[i] = 2.0;
    }
    assert_rel_close(tcet_spearman(e, y, 50), tcet_spearman(x, y, 50), 1e-14);
    assert_rel_close(tcet_kendall_tau_b(e, y, 50), tcet_kendall_tau_b(x, y, 50), 1e-14);
    assert_rel_close(tcet_spearman(x, r, 50), -tcet_spearman(x, y, 50), 1e-14);
    assert_rel_close(tcet_spearman(x, x, 50), 1.0, 1e-14);
    assert_rel_close(tcet_kendall_tau_b(x, x, 50), 1.0, 1e-14);
    assert_true(isnan(tcet_spearman(x, c, 50)));
    assert_true(isnan(tcet_kendall_tau_b(c, y, 50)));
    assert_true(isnan(tcet_spearman(x, y, 1)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scipy_examples),
        cmocka_unit_test(test_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
