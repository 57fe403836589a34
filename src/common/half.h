/* IEEE 754 binary16 ("half") <-> binary32 conversion on the host, for the
 * fp16 budget network (kernels/backend.h TCET_F16): parameters are drawn and
 * inputs made in float on the host and converted when uploaded.
 *
 * float -> half rounds to nearest, ties to even, like CUDA's __float2half_rn
 * and PyTorch's .half(): magnitudes from 65520 up become infinity, below
 * 2^-14 become subnormals (steps of 2^-24), 2^-25 and below become (signed)
 * zero.  NaN stays NaN (quiet, the top payload bits kept).  half -> float is
 * exact.  Plain bit manipulation: no dependence on the compiler's _Float16. */
#ifndef TCET_HALF_H
#define TCET_HALF_H

#include <stddef.h>
#include <stdint.h>

uint16_t tcet_half_from_float(float f);
float tcet_half_to_float(uint16_t h);

/* Arrays (count elements; src and dst must not overlap). */
void tcet_half_from_floats(uint16_t *dst, const float *src, size_t count);
void tcet_half_to_floats(float *dst, const uint16_t *src, size_t count);

#endif
