/* CPU-backend specifics beyond kernels/backend.h, for tests and benchmarks.
 * One backend instance holds one scratch arena: use it from one thread at a
 * time (one backend per worker rank / thread). */
#ifndef TCET_BACKEND_CPU_H
#define TCET_BACKEND_CPU_H

#include <stddef.h>

#include "kernels/backend.h"

/* Bytes currently held by the backend's grow-only scratch arena, and how many
 * times it was enlarged: both stop changing once the largest shape was seen. */
size_t tcet_cpu_scratch_capacity(const tcet_backend *be);
size_t tcet_cpu_scratch_grows(const tcet_backend *be);

/* Tiling of the GEMM convolutions (0 keeps the default): tile_n = GEMM
 * columns aimed for when several small images share one GEMM (256);
 * col_max = bytes of the im2col buffer allowed for such a tile (4 MiB);
 * col_band = bytes of im2col per band of output rows when one image's im2col
 * exceeds it (2 MiB).  For tests (forcing every path with small shapes) and
 * tuning; results do not depend on it beyond rounding. */
void tcet_cpu_set_conv_tiling(tcet_backend *be, size_t tile_n, size_t col_max, size_t col_band);

#endif
