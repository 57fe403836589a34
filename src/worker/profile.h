/* Cheap phase timers for the scorer (docs/performance.md): where a candidate's time goes.
 *
 * A profile is a set of per-phase second counters.  The scorer owns one and,
 * when profiling is switched on (tcet_scorer_profile_enable), makes it the
 * thread's current profile for the duration of one tcet_scorer_score call;
 * the proxies bracket their phases with tcet_prof_begin / tcet_prof_end.
 * With no current profile those two calls are a load and a branch, so the
 * timers cost nothing measurable when unused (no clock is read). */
#ifndef TCET_PROFILE_H
#define TCET_PROFILE_H

#include "common/clock.h"
#include "worker/scorer.h"

typedef enum {
    TCET_PH_SETUP = 0,   /* batches, network build, weight init, parameter copies */
    TCET_PH_NASWOT_FWD,  /* eval-mode forward of the NASWOT batch */
    TCET_PH_GRAM,        /* Gram of the sign codes, every layer */
    TCET_PH_LOGDET,      /* log|det| of each layer's kernel matrix (host) */
    TCET_PH_SAL_FWD,     /* saliency forward (SNIP train-mode batch / Synflow F64 batch-1) + loss */
    TCET_PH_BWD,         /* backward */
    TCET_PH_REDUCE,      /* saliency statistics Σ|w⊙g|, std; aggregation */
    TCET_PH_OTHER,       /* the rest of the candidate's wall time */
    TCET_PH_COUNT
} tcet_phase;

typedef struct {
    double sec[TCET_PH_COUNT];
} tcet_profile;

/* "setup", "naswot_fwd", "gram", "logdet", "saliency_fwd", "backward", "reduce", "other" */
const char *tcet_phase_name(int phase);

/* The thread's current profile (NULL: profiling off). */
extern _Thread_local tcet_profile *tcet_prof_current;

/* t = tcet_prof_begin(); ...; tcet_prof_end(PHASE, t); */
static inline double tcet_prof_begin(void) { return tcet_prof_current ? tcet_now() : 0.0; }
static inline void tcet_prof_end(int phase, double t0)
{
    if (tcet_prof_current) tcet_prof_current->sec[phase] += tcet_now() - t0;
}

/* Scorer side (implemented in scorer.c): switch profiling on/off for later
 * tcet_scorer_score calls, and read the phases of the last scored candidate
 * (all zero when profiling was off).  Phases sum to the candidate's
 * res->seconds ("other" takes the remainder). */
void tcet_scorer_profile_enable(tcet_scorer *sc, int on);
const tcet_profile *tcet_scorer_profile(const tcet_scorer *sc);

#endif
