/* Start-up parity check of an accelerator backend against the CPU backend.
 *
 * A worker that scores on a GPU first runs one small network through every
 * op a proxy uses (conv forward/backward incl. depthwise and stride 2, BN
 * train/eval forward/backward, ReLU, residual add, GAP, linear, softmax
 * cross-entropy, NASWOT Gram codes, saliency statistics; float32 as in SNIP
 * and float64 as in Synflow) on that backend and on a CPU backend, with the
 * same weights and inputs, and compares the results.  A GPU, driver or
 * library combination that computes something else is refused before it
 * can put wrong scores into a search.  About 0.1 s, once per process. */
#ifndef TCET_SELFCHECK_H
#define TCET_SELFCHECK_H

#include <stddef.h>

#include "kernels/backend.h"

/* 0: be agrees with the CPU backend; TCET_ERR_BACKEND with the first
 * disagreement (what, values) recorded; other codes for failures to run. */
int tcet_backend_selfcheck(tcet_backend *be);

/* tcet_backend_create, then (for a non-CPU backend, once per process unless
 * TCET_SKIP_SELFCHECK=1) tcet_backend_selfcheck: on a disagreement "auto"
 * falls back to the CPU backend with a warning, "cuda" fails with
 * TCET_ERR_BACKEND. */
int tcet_backend_create_checked(const char *which, int device, int threads, tcet_backend **out);

#endif
