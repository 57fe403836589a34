/* Phase timers (see profile.h). */
#include "worker/profile.h"

_Thread_local tcet_profile *tcet_prof_current = NULL;

static const char *const phase_names[TCET_PH_COUNT] = {
    [TCET_PH_SETUP] = "setup",       [TCET_PH_NASWOT_FWD] = "naswot_fwd",
    [TCET_PH_GRAM] = "gram",         [TCET_PH_LOGDET] = "logdet",
    [TCET_PH_SAL_FWD] = "saliency_fwd", [TCET_PH_BWD] = "backward",
    [TCET_PH_REDUCE] = "reduce",     [TCET_PH_OTHER] = "other",
};

const char *tcet_phase_name(int phase)
{
    return (phase >= 0 && phase < TCET_PH_COUNT) ? phase_names[phase] : "?";
}

