/* Proxy and T-CET mode names (proxy.h). */
#include "common/proxy.h"

#include <string.h>

static const char *const proxy_names[TCET_PROXY_COUNT] = {
    [TCET_PROXY_TCET_SNIP] = "tcet-snip",
    [TCET_PROXY_TCET_SYNFLOW] = "tcet-synflow",
    [TCET_PROXY_NASWOT_LAYERWISE] = "naswot-layerwise",
    [TCET_PROXY_NASWOT] = "naswot",
    [TCET_PROXY_SNIP] = "snip",
    [TCET_PROXY_SYNFLOW] = "synflow",
    [TCET_PROXY_SYNFLOW_ZENNAS] = "synflow-zennas",
    [TCET_PROXY_GRADNORM] = "gradnorm",
    [TCET_PROXY_ZEN] = "zen",
    [TCET_PROXY_TE_NAS] = "te-nas",
    [TCET_PROXY_ZICO] = "zico",
    [TCET_PROXY_PARAMS] = "params",
    [TCET_PROXY_FLOPS] = "flops",
    [TCET_PROXY_RANDOM] = "random",
    [TCET_PROXY_GRADNORM_ZC] = "gradnorm-zc",
};

int tcet_proxy_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < TCET_PROXY_COUNT; i++)
        if (strcmp(name, proxy_names[i]) == 0) return i;
    return -1;
}

const char *tcet_proxy_name(int proxy)
{
    return (proxy >= 0 && proxy < TCET_PROXY_COUNT) ? proxy_names[proxy] : "?";
}

/* The one list of mode names, in tcet_tcet_mode order (each with the
 * separator that precedes it in tcet_mode_names). */
#define TCET_MODES(X) X("log", "") X("none", " ") X("log1p", " ") X("norm", " ")
#define MODE_NAME(name, sep) name,
#define MODE_LIST(name, sep) sep name
static const char *const mode_names[] = {TCET_MODES(MODE_NAME)};
_Static_assert(sizeof mode_names / sizeof mode_names[0] == TCET_MODE_NORM + 1, "one name per tcet_tcet_mode");

int tcet_mode_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i <= TCET_MODE_NORM; i++)
        if (strcmp(name, mode_names[i]) == 0) return i;
    return -1;
}

const char *tcet_mode_name(int mode) { return mode >= 0 && mode <= TCET_MODE_NORM ? mode_names[mode] : "?"; }

const char *tcet_mode_names(void) { return TCET_MODES(MODE_LIST); }
