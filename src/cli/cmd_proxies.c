/* tcet proxies: every proxy with what it measures, where it comes from,
 * its direction, whether it reads dataset images, and its cost on
 * ZenNet-1M (docs/proxies.md says the same at length). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common/args.h"
#include "common/error.h"
#include "common/json.h"
#include "worker/scorer.h"

typedef struct {
    int proxy;
    const char *measures;
    const char *source;
    int higher_better;
    const char *images;   /* "yes" (dataset batch), "no" (random input or ones), "none" (no forward) */
    double cost_s;        /* seconds per candidate, ZenNet-1M (docs/proxies.md) */
} proxy_info;

/* Costs: `tcet bench --structures zennet-1m --proxies ... --repeat 2 --warmup 1`,
 * batch 64, resolution 32, 100 classes, one CPU thread (OpenBLAS), median wall
 * seconds per candidate on a shared 2-core machine (load average 10-30, so
 * upper bounds; docs/proxies.md). */
static const proxy_info infos[] = {
    {TCET_PROXY_TCET_SNIP, "sum over conv/linear layers of log(SNIP saliency SNR) x layer-wise NASWOT",
     "Xiang et al., AutoML 2023 (T-CET); code: alethiometer", 1, "yes", 3.5},
    {TCET_PROXY_TCET_SYNFLOW, "sum over layers of log(Synflow saliency SNR) x layer-wise NASWOT",
     "Xiang et al., AutoML 2023 (T-CET)", 1, "yes", 1.03},
    {TCET_PROXY_NASWOT_LAYERWISE, "sum over layers of log|K| of each layer's binary activation codes",
     "T-CET paper (layer-wise NASWOT)", 1, "yes", 1.13},
    {TCET_PROXY_NASWOT, "log|K_H|: Hamming kernel of ReLU activation codes, summed over ReLUs",
     "Mellor et al., ICML 2021; as in ZenNAS's code (Gaussian init, random input)", 1, "no", 1.68},
    {TCET_PROXY_SNIP, "sum |w * dL/dw| (connection sensitivity) of one batch", "Lee et al., ICLR 2019; "
     "zero-cost-nas (Abdelfattah et al., ICLR 2021)", 1, "yes", 4.21},
    {TCET_PROXY_SYNFLOW, "sum |w * dR/dw|, R = sum of logits of the |w| network on ones, no BN, float64",
     "Tanaka et al., NeurIPS 2020; zero-cost-nas", 1, "no", 0.107},
    {TCET_PROXY_SYNFLOW_ZENNAS, "ZenNAS's Synflow variant (Gaussian re-init, BN kept)", "ZenNAS code (Lin et al., "
     "ICCV 2021)", 1, "no", 0.261},
    {TCET_PROXY_GRADNORM, "Euclidean norm of the loss gradient over all weights", "Abdelfattah et al., ICLR 2021; "
     "ZenNAS code", 1, "no", 4.75},
    {TCET_PROXY_GRADNORM_ZC, "sum over conv/linear layers of the norm of the loss gradient of the layer's weights",
     "zero-cost-nas (Abdelfattah et al., ICLR 2021), NASLib grad_norm", 1, "yes", 4.4},
    {TCET_PROXY_ZEN, "log of the feature-map change under a small input perturbation + BN scales",
     "Lin et al., ICCV 2021 (Zen-NAS)", 1, "no", 16.4},
    {TCET_PROXY_TE_NAS, "negated condition number of the NTK (J J^T) of one batch",
     "Chen et al., ICLR 2021 (TE-NAS), ZenNAS's port", 1, "no", 682},
    {TCET_PROXY_ZICO, "sum over layers of log(mean |g| / std g) of gradients over two batches",
     "Li et al., ICLR 2023 (ZiCo)", 1, "yes", 27},
    {TCET_PROXY_PARAMS, "parameter count (ZenNAS get_model_size; NB201: exact count)", "reference counters", 1,
     "none", 7.2e-07},
    {TCET_PROXY_FLOPS, "multiply-accumulates at the input resolution", "reference counters", 1, "none", 6.5e-07},
    {TCET_PROXY_RANDOM, "an N(0,1) draw keyed by the candidate (a baseline)", "-", 1, "none", 6.6e-07},
};
enum { NINFO = sizeof infos / sizeof infos[0] };

int cmd_proxies(int argc, char **argv)
{
    int json = 0, help = 0;
    const arg_spec flags[] = {{"--json", ARG_SWITCH, &json, 1, 0, NULL}};
    if (arg_parse("proxies", argc, argv, flags, 1, NULL, NULL, NULL, NULL, &help)) {
        tcet_error_print();
        return TCET_ERR_USAGE;
    }
    if (help) {
        printf("usage: tcet proxies [--json]\n\nLists every proxy: what it measures, its source, whether "
               "higher is better,\nwhether it reads dataset images, and its cost per candidate on ZenNet-1M\n"
               "(batch 64, 32x32, one CPU thread).  docs/proxies.md has the details.\n");
        return 0;
    }
    if (json) {
        tcet_json j;
        json_begin(&j, stdout, 1);
        json_arr_open(&j, NULL);
        for (int i = 0; i < NINFO; i++) {
            json_obj_open(&j, NULL);
            json_str(&j, "name", tcet_proxy_name(infos[i].proxy));
            json_str(&j, "measures", infos[i].measures);
            json_str(&j, "source", infos[i].source);
            json_bool(&j, "higher_is_better", infos[i].higher_better);
            json_str(&j, "reads_images", infos[i].images);
            json_num(&j, "cost_s_zennet_1m", infos[i].cost_s);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_end(&j);
        return 0;
    }
    printf("%-17s %-7s %-7s %9s  %s\n", "proxy", "higher", "images", "s/cand", "measures  [source]");
    for (int i = 0; i < NINFO; i++)
        printf("%-17s %-7s %-7s %9.3g  %s  [%s]\n", tcet_proxy_name(infos[i].proxy),
               infos[i].higher_better ? "better" : "worse", infos[i].images, infos[i].cost_s, infos[i].measures,
               infos[i].source);
    printf("\ns/cand: seconds per candidate on ZenNet-1M, batch 64, 32x32, one CPU thread (docs/proxies.md)\n");
    return 0;
}
