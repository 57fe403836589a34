/* Backend self-check (src/worker/selfcheck.h): the CPU backend passes
 * against itself; a backend that differs in one op — one conv output
 * element, a float64-only conv error of 1e-7, a saliency sum 1 % off, one
 * Gram entry — is refused with TCET_ERR_BACKEND and a message naming what
 * differs; a CPU request skips the check. (The CPU backend's "device"
 * memory is host memory, so the faults are injected by wrapping its ops.) */
#include <string.h>
#include <time.h>

#include "test_support.h"

#include "common/error.h"
#include "worker/selfcheck.h"

static tcet_backend *real;   /* the CPU backend the faulty one wraps */

static int conv_one_element(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x, const void *w,
                            const void *bias, void *y)
{
    (void)be;
    int rc = real->conv_fwd(real, dt, d, x, w, bias, y);
    if (dt == TCET_F32) ((float *)y)[5] += 1.0f;
    return rc;
}

static int conv_f64_scaled(tcet_backend *be, int dt, const tcet_conv_desc *d, const void *x, const void *w,
                           const void *bias, void *y)
{
    (void)be;
    int rc = real->conv_fwd(real, dt, d, x, w, bias, y);
    if (dt == TCET_F64) {
        size_t count = (size_t)d->n * (size_t)d->cout * (size_t)d->ho * (size_t)d->wo;
        for (size_t i = 0; i < count; i++) ((double *)y)[i] *= 1.0 + 1e-7;
    }
    return rc;
}

static int saliency_off(tcet_backend *be, int dt, size_t count, const void *w, const void *g, double *sum,
                        double *std)
{
    (void)be;
    int rc = real->saliency_stats(real, dt, count, w, g, sum, std);
    if (dt == TCET_F32) *sum *= 1.01;
    return rc;
}

static int gram_off(tcet_backend *be, int n, size_t d, const float *x, double *K, int64_t *pos)
{
    (void)be;
    int rc = real->gram_codes(real, n, d, x, K, pos);
    for (int i = 0; i < n * n; i++) K[i] += 1.0; /* every entry: beyond the round-off allowance */
    return rc;
}

static void expect_refused(tcet_backend *faulty, const char *what)
{
    tcet_error_clear();
    assert_int_equal(tcet_backend_selfcheck(faulty), TCET_ERR_BACKEND);
    const char *msg = tcet_error_message();
    print_message("refused: %s\n", msg);
    assert_non_null(strstr(msg, "backend self-check failed on"));
    assert_non_null(strstr(msg, what));
    tcet_error_clear();
}

static void test_cpu_passes(void **s)
{
    (void)s;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(tcet_backend_selfcheck(real), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("self-check on the CPU: %.3f s\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
}

static void test_faults_refused(void **s)
{
    (void)s;
    tcet_backend faulty = *real;
    faulty.conv_fwd = conv_one_element;
    expect_refused(&faulty, "eval-mode logits");
    faulty = *real;
    faulty.conv_fwd = conv_f64_scaled;
    expect_refused(&faulty, "float64 Synflow saliency sum");
    faulty = *real;
    faulty.saliency_stats = saliency_off;
    expect_refused(&faulty, "SNIP saliency sum of layer 0");
    faulty = *real;
    faulty.gram_codes = gram_off;
    expect_refused(&faulty, "NASWOT Gram");
}

static void test_cpu_request_not_checked(void **s)
{
    (void)s;
    tcet_backend *be = NULL;
    assert_int_equal(tcet_backend_create_checked("cpu", 0, 1, &be), 0);
    assert_string_equal(be->name, "cpu");
    be->destroy(be);
}

static int setup(void **s)
{
    (void)s;
    real = tcet_backend_cpu_create(1);
    return real ? 0 : -1;
}

static int teardown(void **s)
{
    (void)s;
    real->destroy(real);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_passes),
        cmocka_unit_test(test_faults_refused),
        cmocka_unit_test(test_cpu_request_not_checked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
