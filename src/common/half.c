/* binary16 <-> binary32 by bit manipulation (see half.h). */
#include "common/half.h"

#include <string.h>

uint16_t tcet_half_from_float(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) {
        if (ax == 0x7f800000u) return (uint16_t)(sign | 0x7c00u);          /* ±inf */
        /* NaN: quiet bit set so that a payload lost in the low bits cannot
         * turn it into an infinity */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    }
    /* 65520 = 65504 + half an ulp: the tie goes to the even neighbour, which
     * is 2^16, i.e. infinity */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);
    if (ax >= 0x38800000u) {
        /* normal half (|f| >= 2^-14): rebias the exponent, keep 10 of the 23
         * mantissa bits, round the 13 dropped ones to nearest even.  A carry
         * out of the mantissa correctly bumps the exponent. */
        uint32_t h = (((ax >> 23) - 127u + 15u) << 10) | ((ax >> 13) & 0x3ffu);
        const uint32_t rem = ax & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    /* subnormal half: value = m * 2^-24 with m < 1024.  At or below 2^-25
     * (half of the smallest subnormal; the tie goes to the even 0) -> zero. */
    if (ax <= 0x33000000u) return sign;
    const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;   /* 24-bit significand */
    const int e = (int)(ax >> 23) - 127;                  /* -25 .. -15 */
    /* |f| = mant * 2^(e-23) = (mant >> shift) * 2^-24 with shift = -e - 1 */
    const unsigned shift = (unsigned)(-e - 1);            /* 14 .. 24 */
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (h & 1u))) h++;  /* may reach 0x400 = 2^-14: right */
    return (uint16_t)(sign | h);
}

float tcet_half_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    uint32_t x;
    if (e == 0x1fu) {
        x = sign | 0x7f800000u | (m << 13);        /* inf, or NaN with its payload */
    } else if (e != 0) {
        x = sign | ((e - 15u + 127u) << 23) | (m << 13);
    } else {
        /* zero or subnormal: m * 2^-24, exact in float */
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

void tcet_half_from_floats(uint16_t *dst, const float *src, size_t count)
{
    for (size_t i = 0; i < count; i++) dst[i] = tcet_half_from_float(src[i]);
}

void tcet_half_to_floats(float *dst, const uint16_t *src, size_t count)
{
    for (size_t i = 0; i < count; i++) dst[i] = tcet_half_to_float(src[i]);
}
