/* The proxies tcet scores with and the T-CET per-layer modes: names and ids,
 * shared by the configuration (common), the scorer (worker) and the CLI, so
 * that the ids live below every layer that uses them. */
#ifndef TCET_PROXY_H
#define TCET_PROXY_H

typedef enum {
    TCET_PROXY_TCET_SNIP = 0,
    TCET_PROXY_TCET_SYNFLOW,
    TCET_PROXY_NASWOT_LAYERWISE, /* Σ_ℓ a_ℓ */
    TCET_PROXY_NASWOT,           /* ZenNAS ReLU variant */
    TCET_PROXY_SNIP,             /* foresight SNIP total Σ|w ⊙ g| */
    TCET_PROXY_SYNFLOW,          /* foresight Synflow total */
    TCET_PROXY_SYNFLOW_ZENNAS,   /* ZenNAS "Syncflow" (negated, Gaussian re-init) */
    TCET_PROXY_GRADNORM,
    TCET_PROXY_ZEN,
    TCET_PROXY_TE_NAS,
    TCET_PROXY_ZICO,
    TCET_PROXY_PARAMS,
    TCET_PROXY_FLOPS,
    TCET_PROXY_RANDOM,
    TCET_PROXY_GRADNORM_ZC,      /* zero-cost-nas / NASLib grad_norm: Σ_ℓ ‖∂L/∂W_ℓ‖ */
    TCET_PROXY_COUNT
} tcet_proxy;

/* "tcet-snip", "tcet-synflow", "naswot-layerwise", "naswot", "snip",
 * "synflow", "synflow-zennas", "gradnorm", "zen", "te-nas", "zico",
 * "params", "flops", "random", "gradnorm-zc"; -1 if unknown. */
int tcet_proxy_parse(const char *name);
const char *tcet_proxy_name(int proxy);

/* T-CET per-layer log modes of alethiometer (docs/semantics.md#alethiometer-modes); LOG is the paper's. */
typedef enum { TCET_MODE_LOG = 0, TCET_MODE_NONE, TCET_MODE_LOG1P, TCET_MODE_NORM } tcet_tcet_mode;
int tcet_mode_parse(const char *name);
/* "log", "none", "log1p", "norm" ("?" if out of range). */
const char *tcet_mode_name(int mode);
/* Every mode name, for messages: "log none log1p norm". */
const char *tcet_mode_names(void);

#endif
