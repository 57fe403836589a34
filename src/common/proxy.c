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

static const char *const mode_names[] = {"log", "none", "log1p", "norm"};

int tcet_mode_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(name, mode_names[i]) == 0) return i;
    return -1;
}

const char *tcet_mode_name(int mode) { return mode >= 0 && mode < 4 ? mode_names[mode] : "?"; }
