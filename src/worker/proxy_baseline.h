/* Helpers shared by the ZenNAS-style baseline proxies (docs/semantics.md#baseline-proxies): the
 * Gaussian re-initialisation and the proxies' own random inputs, taken from
 * the golden /aux tensors when scoring a golden file (torch's random stream
 * cannot be replayed) and otherwise drawn from the candidate's keyed stream
 * (run seed, TCET_STREAM_AUX, candidate id), weights first, then inputs. */
#ifndef TCET_PROXY_BASELINE_H
#define TCET_PROXY_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"
#include "worker/proxies.h"

/* The candidate's AUX generator. */
void baseline_rng(const tcet_proxy_ctx *ctx, tcet_rng *r);

/* ZenNAS network_weight_gaussian_init on net (any dtype/batch of this arch):
 * golden /aux/gaussian_params when present, else N(0,1) draws from r. */
int baseline_gaussian_init(const tcet_proxy_ctx *ctx, tcet_net *net, tcet_rng *r);

/* Host float32 images [n,3,R,R]: the golden tensor t when ctx->golden holds
 * it (its size must match), else N(0,1) draws from r into scratch slot
 * `slot`.  *out stays valid until the slot is reused. */
int baseline_randn_images(const tcet_proxy_ctx *ctx, const tcet_golden_tensor *t, int slot, int n,
                          tcet_rng *r, const float **out);

/* The start every image-free ZenNAS baseline shares: the candidate's AUX
 * generator in *r, the Gaussian re-initialisation of ctx->net, then the first
 * random batch [n,3,R,R] (golden /aux/rand_input1, else drawn into scratch
 * slot 0) in *x.  Draw order: weights, then this batch (then whatever the
 * proxy draws next from *r). */
int baseline_start(tcet_proxy_ctx *ctx, tcet_rng *r, const float **x);

/* Slot 0..TCET_SCRATCH_SLOTS-1 of the scorer's grow-only host scratch
 * (ctx->scratch), at least `bytes` long; valid until the slot is reused. */
void *baseline_scratch(const tcet_proxy_ctx *ctx, int slot, size_t bytes);

/* Number of elements of one image batch. */
static inline size_t baseline_image_count(const tcet_proxy_ctx *ctx, int n)
{
    return (size_t)n * 3 * (size_t)ctx->cfg->resolution * (size_t)ctx->cfg->resolution;
}

#endif
