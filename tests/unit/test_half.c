/* Host binary16 conversion (src/common/half.h) against hand-derived bit
 * patterns, the definition of round-to-nearest-even at every midpoint
 * between neighbouring halves, and an exact round trip of every half. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

#include "common/half.h"
#include "kernels/backend.h"

static float bits_f(uint32_t x)
{
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

static void test_hand_patterns(void **s)
{
    (void)s;
    assert_int_equal(tcet_half_from_float(1.0f), 0x3C00);
    assert_int_equal(tcet_half_from_float(-2.0f), 0xC000);
    assert_int_equal(tcet_half_from_float(0.0f), 0x0000);
    assert_int_equal(tcet_half_from_float(-0.0f), 0x8000);
    assert_int_equal(tcet_half_from_float(65504.0f), 0x7BFF);     /* largest finite */
    assert_int_equal(tcet_half_from_float(65519.0f), 0x7BFF);     /* below the midpoint */
    assert_int_equal(tcet_half_from_float(65520.0f), 0x7C00);     /* midpoint: even = inf */
    assert_int_equal(tcet_half_from_float(-1e6f), 0xFC00);
    assert_int_equal(tcet_half_from_float(INFINITY), 0x7C00);
    assert_int_equal(tcet_half_from_float(-INFINITY), 0xFC00);
    /* 1/3 = 1.0101...b x 2^-2: exponent 13, mantissa 0101010101, rest < half */
    assert_int_equal(tcet_half_from_float(1.0f / 3.0f), 0x3555);
    assert_int_equal(tcet_half_from_float(0x1p-14f), 0x0400);     /* smallest normal */
    assert_int_equal(tcet_half_from_float(0x1p-24f), 0x0001);     /* smallest subnormal */
    assert_int_equal(tcet_half_from_float(0x1p-25f), 0x0000);     /* tie -> even 0 */
    assert_int_equal(tcet_half_from_float(-0x1p-25f), 0x8000);
    assert_int_equal(tcet_half_from_float(0x1.000002p-25f), 0x0001); /* just above the tie */
    assert_int_equal(tcet_half_from_float(3 * 0x1p-25f), 0x0002); /* 1.5 ulp: tie -> even 2 */
    assert_int_equal(tcet_half_from_float(5 * 0x1p-25f), 0x0002); /* 2.5 ulp: tie -> even 2 */
    assert_int_equal(tcet_half_from_float(1e-10f), 0x0000);
    assert_int_equal(tcet_half_from_float(bits_f(0x00000001u)), 0x0000); /* float subnormal */
    /* largest subnormal + half an ulp rounds up into the smallest normal */
    assert_int_equal(tcet_half_from_float(0x3FFp-24f + 0x1p-25f), 0x0400);
    /* 1 + 2^-11 (tie, 0x3C00 even) and 1 + 3 * 2^-11 (tie, 0x3C02 even) */
    assert_int_equal(tcet_half_from_float(1.0f + 0x1p-11f), 0x3C00);
    assert_int_equal(tcet_half_from_float(1.0f + 3 * 0x1p-11f), 0x3C02);
    /* 2047/1024 * 2^0 + half ulp carries into the exponent: 2.0 */
    assert_int_equal(tcet_half_from_float(0x7FFp-10f + 0x1p-11f), 0x4000);

    assert_true(tcet_half_to_float(0x3C00) == 1.0f);
    assert_true(tcet_half_to_float(0xC000) == -2.0f);
    assert_true(tcet_half_to_float(0x7BFF) == 65504.0f);
    assert_true(tcet_half_to_float(0x0001) == 0x1p-24f);
    assert_true(tcet_half_to_float(0x03FF) == 0x3FFp-24f);
    assert_true(tcet_half_to_float(0x3555) == 0x155p-12f + 0.25f);
    assert_true(isinf(tcet_half_to_float(0x7C00)) && tcet_half_to_float(0x7C00) > 0);
    assert_true(isinf(tcet_half_to_float(0xFC00)) && tcet_half_to_float(0xFC00) < 0);
    float nz = tcet_half_to_float(0x8000);
    assert_true(nz == 0.0f && signbit(nz));
}

static void test_nan_stays_nan(void **s)
{
    (void)s;
    const uint32_t nans[] = {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0x7FA00000u, 0x7FFFFFFFu};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t h = tcet_half_from_float(bits_f(nans[i]));
        assert_int_equal(h & 0x7C00, 0x7C00);          /* exponent all ones */
        assert_true((h & 0x3FF) != 0);                   /* not an infinity */
        assert_int_equal(h >> 15, nans[i] >> 31);        /* sign kept */
        assert_true(isnan(tcet_half_to_float(h)));
    }
    for (uint32_t h = 0x7C01; h <= 0x7FFF; h++) {
        assert_true(isnan(tcet_half_to_float((uint16_t)h)));
        assert_true(isnan(tcet_half_to_float((uint16_t)(h | 0x8000))));
    }
}

/* Every non-NaN half converts to a float and back to itself. */
static void test_round_trip_all(void **s)
{
    (void)s;
    int checked = 0;
    for (uint32_t h = 0; h <= 0xFFFF; h++) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;   /* NaN */
        float f = tcet_half_to_float((uint16_t)h);
        assert_int_equal(tcet_half_from_float(f), h);
        checked++;
    }
    assert_int_equal(checked, 65536 - 2 * 1023);
}

/* Round to nearest even from the definition: between neighbouring halves a
 * < b (b = inf after 65504), the exact midpoint (a float: 12 significant
 * bits) goes to the one with an even pattern, one float ulp below it to a,
 * one above it to b.  Negative values mirror positive ones. */
static void test_midpoints(void **s)
{
    (void)s;
    for (uint32_t h = 0; h < 0x7C00; h++) {
        float a = tcet_half_to_float((uint16_t)h);
        float b = h + 1 == 0x7C00 ? 65536.0f : tcet_half_to_float((uint16_t)(h + 1));
        float mid = (a + b) / 2;   /* exact */
        assert_true(mid > a && mid < b);
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        assert_int_equal(tcet_half_from_float(mid), even);
        assert_int_equal(tcet_half_from_float(nextafterf(mid, 0.0f)), h);
        assert_int_equal(tcet_half_from_float(nextafterf(mid, INFINITY)), h + 1);
        assert_int_equal(tcet_half_from_float(-mid), even | 0x8000);
        assert_int_equal(tcet_half_from_float(-nextafterf(mid, 0.0f)), h | 0x8000);
    }
}

static void test_arrays_and_dtype_size(void **s)
{
    (void)s;
    const float in[4] = {1.0f, -2.0f, 65504.0f, 0x1p-24f};
    uint16_t h[4];
    float back[4];
    tcet_half_from_floats(h, in, 4);
    assert_int_equal(h[0], 0x3C00);
    assert_int_equal(h[1], 0xC000);
    assert_int_equal(h[2], 0x7BFF);
    assert_int_equal(h[3], 0x0001);
    tcet_half_to_floats(back, h, 4);
    for (int i = 0; i < 4; i++) assert_true(back[i] == in[i]);
    assert_int_equal(tcet_dtype_size(TCET_F16), 2);
    assert_int_equal(tcet_dtype_size(TCET_F32), 4);
    assert_int_equal(tcet_dtype_size(TCET_F64), 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_patterns),
        cmocka_unit_test(test_nan_stays_nan),
        cmocka_unit_test(test_round_trip_all),
        cmocka_unit_test(test_midpoints),
        cmocka_unit_test(test_arrays_and_dtype_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
