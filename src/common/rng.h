/* Seeded, keyed random numbers (xoshiro256** seeded through splitmix64).
 *
 * Determinism contract (docs/semantics.md#randomness-and-seeds): every draw about one candidate comes
 * from a generator keyed by (run seed, stream, candidate id), so a score does
 * not depend on which rank computed it; the master's mutation stream is keyed
 * by (run seed, TCET_STREAM_MUTATION, 0) and its state is checkpointed. */
#ifndef TCET_RNG_H
#define TCET_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } tcet_rng;

enum tcet_stream {
    TCET_STREAM_MUTATION = 1, /* master: parent choice and mutation */
    TCET_STREAM_WEIGHTS = 2,  /* candidate weight initialisation */
    TCET_STREAM_BATCH = 3,    /* which training images form a candidate's batch */
    TCET_STREAM_AUGMENT = 4,  /* their crops and flips */
    TCET_STREAM_AUX = 5,      /* proxy-internal draws (Zen/GradNorm/TE-NAS inputs, Random) */
    TCET_STREAM_NASWOT = 6,   /* the run's fixed NASWOT batch (id 0) */
    TCET_STREAM_SYNTH = 7     /* synthetic dataset content */
};

void tcet_rng_seed(tcet_rng *r, uint64_t seed, uint64_t stream, uint64_t id);
uint64_t tcet_rng_next(tcet_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double tcet_rng_uniform(tcet_rng *r);
/* Unbiased uniform integer in [0, n), n > 0 (Lemire's method). */
uint64_t tcet_rng_below(tcet_rng *r, uint64_t n);
/* Standard normal (Box-Muller, no cached second value: the state is s[4] only). */
double tcet_rng_normal(tcet_rng *r);
/* Uniform float in [lo, hi). */
float tcet_rng_uniform_f(tcet_rng *r, float lo, float hi);

#endif
