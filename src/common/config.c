/* Options, presets and the canonical text form of a search configuration. */
#include "common/config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/error.h"
#include "common/mutate.h"
#include "common/proxy.h"

typedef enum { OPT_INT, OPT_LONG, OPT_DOUBLE, OPT_U64, OPT_STR, OPT_SPACE, OPT_WEIGHTS, OPT_PROXY, OPT_MODE,
               OPT_STRUCT, OPT_BOOL } opt_type;

typedef struct {
    const char *flag;     /* command-line flag */
    const char *key;      /* key in the text form */
    opt_type type;
    size_t off, size;
    int identity;         /* part of the run's identity (compared on resume) */
    double lo, hi;        /* numeric range */
    const char *help;     /* --help adds the flag's older spelling (arg_alias) */
} opt;

#define F(field) offsetof(tcet_search_config, field), sizeof(((tcet_search_config *)0)->field)
static const opt opts[] = {
    {"--population-size", "population_size", OPT_INT, F(population_size), 1, 1, 1e7, "population size (512)"},
    {"--evolution-max-iter", "evolution_max_iter", OPT_LONG, F(max_iter), 1, 1, 1e12,
     "iterations, rejected candidates included (480000)"},
    {"--budget-model-size", "budget_model_size", OPT_DOUBLE, F(budget_params), 1, 0, 1e15,
     "max reference params of the budget (reslink) network (unset)"},
    {"--budget-flops", "budget_flops", OPT_DOUBLE, F(budget_flops), 1, 0, 1e18,
     "max reference FLOPs at --resolution (unset)"},
    {"--budget-latency", "budget_latency", OPT_DOUBLE, F(budget_latency), 1, 0, 1e3,
     "max seconds per image (unset; see docs/search.md)"},
    {"--max-layers", "max_layers", OPT_INT, F(max_layers), 1, 0, 1e6, "max sum of sub-layers (unset)"},
    {"--batch-size", "batch_size", OPT_INT, F(batch_size), 1, 1, 1e5, "proxy batch size (64)"},
    {"--resolution", "input_image_size", OPT_INT, F(resolution), 1, 1, 4096, "input image size (32)"},
    {"--num-classes", "num_classes", OPT_INT, F(num_classes), 1, 1, 1e6, "classifier width (100)"},
    {"--search-space", "search_space", OPT_SPACE, F(space), 1, 0, 0, "XXBL or IDW_fixfc (XXBL)"},
    {"--mutation-weights", "mutation_weights", OPT_WEIGHTS, F(weights), 1, 0, 0,
     "reference: draw a replacement block with the reference's duplicate-weighted candidate list; "
     "uniform: every distinct candidate alike (reference)"},
    {"--init-structure", "init_structure", OPT_STRUCT, F(init_structure), 1, 0, 0,
     "initial structure, STR or @file (the CIFAR script's)"},
    {"--proxy", "proxy", OPT_PROXY, F(proxy), 1, 0, 0,
     "tcet-snip tcet-synflow naswot-layerwise naswot snip synflow synflow-zennas gradnorm zen te-nas "
     "zico params flops random gradnorm-zc (tcet-snip)"},
    {"--mode", "tcet_mode", OPT_MODE, F(mode), 1, 0, 0, "T-CET per-layer mode (log):"},
    {"--gamma", "gamma", OPT_DOUBLE, F(gamma), 1, 0, 1e6, "Zen mixup coefficient (1e-2)"},
    {"--dataset", "dataset", OPT_STR, F(dataset), 1, 0, 0, "synthetic cifar10 cifar100 hdf5 (inferred from --data; synthetic only when asked)"},
    {"--data", "data", OPT_STR, F(data), 1, 0, 0, "dataset directory or file (its kind is inferred without --dataset)"},
    {"--same-batch", "same_batch", OPT_BOOL, F(same_batch), 1, 0, 1,
     "0/1: NASWOT and saliency on one batch (alethiometer) (0)"},
    {"--seed", "seed", OPT_U64, F(seed), 1, 0, 0, "run seed (1)"},
    {"--window", "window", OPT_INT, F(window), 1, 0, 65536,
     "candidates in flight; 1 = the sequential reference loop (8 x workers x lanes)"},
    {"--save-dir", "save_dir", OPT_STR, F(save_dir), 0, 0, 0, "run directory (required unless --resume)"},
    {"--resume", "resume", OPT_STR, F(resume), 0, 0, 0, "continue the run in RUN_DIR"},
    {"--checkpoint-every", "checkpoint_every", OPT_DOUBLE, F(checkpoint_every), 0, 0, 1e9,
     "seconds between checkpoints (300)"},
    {"--backend", "backend", OPT_STR, F(backend), 0, 0, 0, "auto cpu cuda (auto)"},
    {"--threads", "threads", OPT_INT, F(threads), 0, 1, 1024, "BLAS threads per rank and lane (1)"},
    {"--lanes", "lanes", OPT_INT, F(lanes), 0, 1, 64,
     "candidates scored at once by each worker rank: threads, each with its own backend (on a "
     "GPU its own stream); scores do not depend on it (1)"},
};
#undef F
enum { NOPTS = sizeof opts / sizeof opts[0] };


static const char *CIFAR_INIT =
    "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK3K3(16,32,2,16,1)"
    "SuperResK3K3(32,64,2,32,1)SuperResK3K3(64,64,2,32,1)SuperConvK1BNRELU(64,128,1,1)";
static const char *IMAGENET_INIT =
    "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)SuperResIDWE6K3(32,48,2,32,1)"
    "SuperResIDWE6K3(48,96,2,48,1)SuperResIDWE6K3(96,128,2,96,1)SuperConvK1BNRELU(128,2048,1,1)";
static const char *LATENCY_INIT =
    "SuperConvK3BNRELU(3,32,2,1)SuperResK3K3(32,64,2,32,1)SuperResK3K3(64,128,2,64,1)"
    "SuperResK3K3(128,256,2,128,1)SuperResK3K3(256,512,2,256,1)SuperConvK1BNRELU(256,512,1,1)";

void tcet_config_defaults(tcet_search_config *c)
{
    memset(c, 0, sizeof *c);
    c->population_size = 512;
    c->max_iter = 480000;
    c->batch_size = 64;
    c->resolution = 32;
    c->num_classes = 100;
    c->space = TCET_SPACE_XXBL;
    c->weights = TCET_WEIGHTS_REFERENCE;
    snprintf(c->init_structure, sizeof c->init_structure, "%s", CIFAR_INIT);
    c->proxy = TCET_PROXY_TCET_SNIP;
    c->mode = TCET_MODE_LOG;
    c->gamma = 1e-2;
    snprintf(c->dataset, sizeof c->dataset, "synthetic");
    c->seed = 1;
    c->checkpoint_every = 300;
    snprintf(c->backend, sizeof c->backend, "auto");
    c->threads = 1;
    c->lanes = 1;
}

/* ---- presets (docs/semantics.md#script-settings-and-presets) ---- */
typedef struct {
    const char *name;
    const char *proxy;
    int kind;            /* 0 CIFAR, 1 ImageNet FLOPs, 2 ImageNet latency */
    double budget;       /* params (CIFAR), FLOPs or latency */
    int max_layers;
    long iters;
    int batch;
    const char *dataset; /* NULL: the proxy does not read images (synthetic); "synthetic": asked for */
    const char *note;
    int population;      /* 0: the reference's 512 */
} preset;

static const preset presets[] = {
    /* README main job: the CIFAR T-CET(SNIP) setting, small enough for 2 cores; it
     * asks for synthetic data itself (the only preset that does) */
    {"demo-cifar-tcet-snip-synthetic", "tcet-snip", 0, 1e6, 18, 240, 64, "synthetic",
     "README demo: CIFAR params-1M T-CET(SNIP) on SYNTHETIC data, population 24, 240 iterations", 24},
    {"cifar-params1M-tcet-snip", "tcet-snip", 0, 1e6, 18, 480000, 64, "cifar100", "TCET_snip_NAS_cifar_params1M", 0},
    {"cifar-params1M-tcet-synflow", "tcet-synflow", 0, 1e6, 18, 480000, 64, "cifar100",
     "TCET_synflow_NAS_cifar_params1M", 0},
    {"cifar-params1M-zen", "zen", 0, 1e6, 18, 480000, 64, NULL, "Zen_NAS_cifar_params1M", 0},
    {"cifar-params2M-zen", "zen", 0, 2e6, 20, 480000, 64, NULL, "Zen_NAS_cifar_params2M", 0},
    {"cifar-params1M-naswot", "naswot", 0, 1e6, 18, 480000, 8, NULL, "NASWOT_NAS_cifar_params1M (batch 8)", 0},
    {"cifar-params1M-gradnorm", "gradnorm", 0, 1e6, 18, 480000, 64, NULL, "GradNorm_NAS_cifar_params1M", 0},
    {"cifar-params1M-synflow", "synflow-zennas", 0, 1e6, 18, 480000, 64, NULL, "Syncflow_NAS_cifar_params1M", 0},
    {"cifar-params1M-te-nas", "te-nas", 0, 1e6, 18, 480000, 64, NULL, "TE_NAS_cifar_params1M", 0},
    {"cifar-params1M-flops", "flops", 0, 1e6, 18, 480000, 64, NULL, "Flops_NAS_cifar_params1M", 0},
    {"cifar-params1M-params", "params", 0, 1e6, 18, 480000, 64, NULL, "Params_NAS_cifar_params1M", 0},
    {"cifar-params1M-random", "random", 0, 1e6, 18, 480000, 64, NULL, "Random_NAS_cifar_params1M", 0},
    {"cifar-params1M-zico", "zico", 0, 1e6, 18, 480000, 64, "cifar100", "ZiCo (ZenNAS-based), CIFAR 1M", 0},
    {"imagenet-flops450M-tcet-snip", "params", 1, 450e6, 14, 100000, 128, NULL,
     "TCET_snip_NAS_IM_flops450M: the script runs Params (sic)", 0},
    /* The T-CET ImageNet scripts pass --batch_size 128, but the reference's
     * T-CET scores on its data loader's batches, built with 64 images
     * whatever --batch_size says (docs/semantics.md#script-settings-and-presets):
     * tcet's --batch-size is the T-CET batch, so these presets say 64. */
    {"imagenet-flops600M-tcet-snip", "tcet-snip", 1, 600e6, 14, 100000, 64, "hdf5", "TCET_snip_NAS_IM_flops600M", 0},
    {"imagenet-flops1G-tcet-snip", "params", 1, 1000e6, 14, 100000, 128, NULL,
     "TCET_snip_NAS_IM_flops1G: the script runs Params (sic)", 0},
    {"imagenet-flops450M-tcet-synflow", "tcet-synflow", 1, 450e6, 14, 100000, 64, "hdf5",
     "TCET_synflow_NAS_IM_flops450M", 0},
    {"imagenet-flops400M-zen", "zen", 1, 400e6, 14, 480000, 64, NULL, "Zen_NAS_ImageNet_flops400M", 0},
    {"imagenet-flops600M-zen", "zen", 1, 600e6, 14, 480000, 64, NULL, "Zen_NAS_ImageNet_flops600M", 0},
    {"imagenet-flops800M-zen", "zen", 1, 800e6, 16, 480000, 64, NULL, "Zen_NAS_ImageNet_flops800M", 0},
    {"imagenet-latency01ms-zen", "zen", 2, 1e-4, 10, 480000, 64, NULL, "Zen_NAS_ImageNet_latency0.1ms", 0},
    {"imagenet-latency02ms-zen", "zen", 2, 2e-4, 13, 480000, 64, NULL, "Zen_NAS_ImageNet_latency0.2ms", 0},
    {"imagenet-latency03ms-zen", "zen", 2, 3e-4, 16, 480000, 64, NULL, "Zen_NAS_ImageNet_latency0.3ms", 0},
    {"imagenet-latency05ms-zen", "zen", 2, 5e-4, 20, 480000, 64, NULL, "Zen_NAS_ImageNet_latency0.5ms", 0},
    {"imagenet-latency08ms-zen", "zen", 2, 8e-4, 25, 480000, 64, NULL, "Zen_NAS_ImageNet_latency0.8ms", 0},
    {"imagenet-latency12ms-zen", "zen", 2, 12e-4, 30, 480000, 64, NULL, "Zen_NAS_ImageNet_latency1.2ms", 0},
};
enum { NPRESETS = sizeof presets / sizeof presets[0] };

void tcet_config_list_presets(FILE *f)
{
    for (int i = 0; i < NPRESETS; i++) fprintf(f, "  %-33s %s\n", presets[i].name, presets[i].note);
}

int tcet_config_preset(tcet_search_config *c, const char *name)
{
    const preset *p = NULL;
    for (int i = 0; i < NPRESETS; i++)
        if (!strcmp(presets[i].name, name)) p = &presets[i];
    if (!p) {
        fprintf(stderr, "known presets:\n");
        tcet_config_list_presets(stderr);
        return TCET_FAIL(TCET_ERR_USAGE, "unknown --preset '%s' (the list is above)", name);
    }
    c->population_size = p->population ? p->population : 512;
    c->proxy = tcet_proxy_parse(p->proxy);
    c->max_layers = p->max_layers;
    c->max_iter = p->iters;
    c->batch_size = p->batch;
    c->budget_params = c->budget_flops = c->budget_latency = 0;
    if (p->kind == 0) {
        c->space = TCET_SPACE_XXBL;
        c->budget_params = p->budget;
        c->resolution = 32;
        c->num_classes = 100;
        snprintf(c->init_structure, sizeof c->init_structure, "%s", CIFAR_INIT);
    } else {
        c->resolution = 224;
        c->num_classes = 1000;
        c->space = p->kind == 1 ? TCET_SPACE_IDW_FIXFC : TCET_SPACE_XXBL;
        if (p->kind == 1) c->budget_flops = p->budget;
        else c->budget_latency = p->budget;
        snprintf(c->init_structure, sizeof c->init_structure, "%s", p->kind == 1 ? IMAGENET_INIT : LATENCY_INIT);
    }
    snprintf(c->dataset, sizeof c->dataset, "%s", p->dataset ? p->dataset : "synthetic");
    c->dataset_explicit = p->dataset && !strcmp(p->dataset, "synthetic") ? 2 : 0; /* the demo asks for it */
    snprintf(c->preset, sizeof c->preset, "%s", p->name);
    return 0;
}


/* ---- parsing ------------------------------------------------------------ */
static int set_value(tcet_search_config *c, const opt *o, const char *val, int err_code)
{
    void *p = (char *)c + o->off;
    switch (o->type) {
    case OPT_INT: {
        long v = 0;
        TCET_TRY(tcet_parse_long(o->flag, val, (long)o->lo, (long)o->hi, &v, err_code));
        *(int *)p = (int)v;
        return 0;
    }
    case OPT_BOOL: {
        long v = 0;
        TCET_TRY(tcet_parse_long(o->flag, val, 0, 1, &v, err_code));
        *(int *)p = (int)v;
        return 0;
    }
    case OPT_LONG: {
        long v = 0;
        TCET_TRY(tcet_parse_long(o->flag, val, (long)o->lo, (long)o->hi, &v, err_code));
        *(long *)p = v;
        return 0;
    }
    case OPT_DOUBLE: {
        double v = 0;
        TCET_TRY(tcet_parse_double(o->flag, val, o->lo, o->hi, &v, err_code));
        *(double *)p = v;
        return 0;
    }
    case OPT_U64: {
        uint64_t v = 0;
        TCET_TRY(tcet_parse_u64(o->flag, val, &v, err_code));
        *(uint64_t *)p = v;
        return 0;
    }
    case OPT_STR:
        if (strlen(val) >= o->size)
            return TCET_FAIL(err_code, "%s: value longer than %zu characters", o->flag, o->size - 1);
        memcpy(p, val, strlen(val) + 1);
        return 0;
    case OPT_SPACE: {
        int s = tcet_space_parse(val);
        if (s < 0) return TCET_FAIL(err_code, "%s: unknown search space '%s' (XXBL or IDW_fixfc)", o->flag, val);
        *(int *)p = s;
        return 0;
    }
    case OPT_WEIGHTS: {
        int s = tcet_weights_parse(val);
        if (s < 0) return TCET_FAIL(err_code, "%s: unknown mutation weights '%s' (reference or uniform)", o->flag, val);
        *(int *)p = s;
        return 0;
    }
    case OPT_PROXY: {
        int s = tcet_proxy_parse(val);
        if (s < 0) return TCET_FAIL(err_code, "%s: unknown proxy '%s' (see --help)", o->flag, val);
        *(int *)p = s;
        return 0;
    }
    case OPT_MODE: {
        int m = tcet_mode_parse(val);
        if (m < 0) return TCET_FAIL(err_code, "%s: unknown mode '%s' (%s)", o->flag, val, tcet_mode_names());
        *(int *)p = m;
        return 0;
    }
    case OPT_STRUCT: {
        tcet_arch a;
        int rc = tcet_arch_load(val, &a);
        if (rc) return tcet_trace(err_code, __FILE__, __LINE__, o->flag);
        if (a.grammar != TCET_GRAMMAR_ZENNAS)
            return TCET_FAIL(err_code, "%s: the search mutates ZenNAS structures; a NAS-Bench-201 cell is "
                             "scored with 'tcet score' or 'tcet validate nb201'", o->flag);
        /* Keep the canonical string: two spellings of one structure are one run. */
        if (tcet_arch_print(&a, p, o->size) >= o->size)
            return TCET_FAIL(err_code, "%s: structure too long", o->flag);
        return 0;
    }
    }
    return TCET_FAIL(err_code, "internal: bad option type");
}

int tcet_config_parse_args(int argc, char **argv, tcet_search_config *c, int *help, uint64_t *explicit_mask)
{
    tcet_config_defaults(c);
    *help = 0;
    if (explicit_mask) *explicit_mask = 0;
    /* The preset first, so that explicit flags override it whatever their order. */
    for (int i = 1; i < argc; i++) {
        const char *val;
        int r = arg_value(argc, argv, &i, "--preset", &val);
        if (r < 0) return TCET_ERR_USAGE;
        if (r == 1) TCET_TRY(tcet_config_preset(c, val));
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = 1;
            return 0;
        }
        const char *val;
        int r = arg_value(argc, argv, &i, "--preset", &val);
        if (r < 0) return TCET_ERR_USAGE;
        if (r == 1) continue;
        int matched = 0;
        for (int k = 0; k < NOPTS && !matched; k++) {
            r = arg_value(argc, argv, &i, opts[k].flag, &val);
            if (r < 0) return TCET_ERR_USAGE;
            if (r == 0) continue;
            matched = 1;
            TCET_TRY(set_value(c, &opts[k], val, TCET_ERR_USAGE));
            if (explicit_mask) *explicit_mask |= 1ULL << k;
            if (!strcmp(opts[k].flag, "--dataset")) c->dataset_explicit = 1;
        }
        if (!matched) return TCET_FAIL(TCET_ERR_USAGE, "unknown option '%s' for 'tcet search' (see 'tcet search --help')", a);
    }
    /* Synthetic data only when asked for: an image-reading proxy with neither
     * --dataset nor --data, or a preset that names a real dataset given no
     * --data, is refused by a new search (cmd_search); --data alone has its
     * kind inferred there from what it finds. */
    c->data_missing = !c->dataset_explicit && !c->data[0] &&
                      (strcmp(c->dataset, "synthetic") || tcet_config_proxy_reads_images(c->proxy));
    return 0;
}

int tcet_default_window(int nworkers, int lanes)
{
    return nworkers > 0 ? TCET_WINDOW_PER_WORKER * nworkers * (lanes > 0 ? lanes : 1) : 2;
}

int tcet_config_proxy_reads_batch(int proxy, int same_batch)
{
    if (proxy == TCET_PROXY_TCET_SNIP || proxy == TCET_PROXY_SNIP || proxy == TCET_PROXY_GRADNORM_ZC) return 1;
    return same_batch && (proxy == TCET_PROXY_TCET_SYNFLOW || proxy == TCET_PROXY_NASWOT_LAYERWISE);
}

/* the candidate's batch, or the fixed NASWOT batch (T-CET, layer-wise
 * NASWOT), or ZiCo's fixed list of batches */
int tcet_config_proxy_reads_images(int proxy)
{
    return tcet_config_proxy_reads_batch(proxy, 1) || proxy == TCET_PROXY_ZICO;
}

const char *tcet_config_flag(int k) { return k >= 0 && k < NOPTS ? opts[k].flag : NULL; }

/* What may change on a resumed run: how it is computed (backend, threads,
 * lanes), how often it checkpoints, and a longer iteration budget (checked
 * against the checkpoint by the caller).  Everything else either fixes the
 * trajectory or names another run. */
int tcet_config_resume_refused(uint64_t mask, char *refused, size_t cap)
{
    static const char *const allowed[] = {"--resume", "--backend", "--threads", "--lanes", "--checkpoint-every",
                                          "--evolution-max-iter"};
    int n = 0;
    size_t len = 0;
    if (cap) refused[0] = 0;
    for (int k = 0; k < NOPTS; k++) {
        if (!(mask & (1ULL << k))) continue;
        int ok = 0;
        for (size_t j = 0; j < sizeof allowed / sizeof allowed[0]; j++) ok |= !strcmp(opts[k].flag, allowed[j]);
        if (ok) continue;
        if (len < cap) len += (size_t)snprintf(refused + len, cap - len, "%s%s", n ? ", " : "", opts[k].flag);
        n++;
    }
    return n;
}

void tcet_config_overlay(tcet_search_config *dst, const tcet_search_config *src, uint64_t mask)
{
    for (int k = 0; k < NOPTS; k++)
        if (mask & (1ULL << k)) memcpy((char *)dst + opts[k].off, (const char *)src + opts[k].off, opts[k].size);
}

void tcet_config_usage(FILE *f)
{
    fprintf(f, "usage: [mpirun -np N] tcet search --save-dir DIR [--preset NAME] [options]\n"
               "       [mpirun -np N] tcet search --resume RUN_DIR [--backend --threads --lanes\n"
               "                      --checkpoint-every --evolution-max-iter (longer)]\n"
               "       tcet search ... --print-config (or --dry-run): the resolved configuration\n"
               "                      and the data it would read, without starting\n\n"
               "Evolutionary search (docs/semantics.md#evolution-loop). Rank 0 is the master, ranks 1..N-1 score\n"
               "candidates; a single rank scores in-process. Explicit flags override --preset.\n\n"
               "options:\n  %-22s %s\n", "--preset NAME", "settings of a reference script (below)");
    for (int k = 0; k < NOPTS; k++) {
        const char *alias = arg_alias(opts[k].flag);
        fprintf(f, "  %-22s %s%s%s%s%s%s\n", opts[k].flag, opts[k].help, opts[k].type == OPT_MODE ? " " : "",
                opts[k].type == OPT_MODE ? tcet_mode_names() : "", alias ? " (also " : "", alias ? alias : "",
                alias ? ")" : "");
    }
    fprintf(f, "\npresets:\n");
    tcet_config_list_presets(f);
    fprintf(f, "\nexit codes: 0 done (or already finished), 1 runtime, 2 usage, 3 data,\n"
               "4 checkpoint refused, 6 backend, 75 stopped by SIGTERM/SIGINT/SIGUSR1 with a\n"
               "checkpoint written (resume with --resume RUN_DIR). See docs/search.md.\n");
}

int tcet_config_validate(const tcet_search_config *c)
{
    if (!c->save_dir[0] && !c->resume[0])
        return TCET_FAIL(TCET_ERR_USAGE, "tcet search needs --save-dir DIR (or --resume RUN_DIR)");
    if (strcmp(c->dataset, "synthetic") && !c->data[0])
        return TCET_FAIL(TCET_ERR_USAGE,
                         "--dataset %s needs --data PATH (or pass --dataset synthetic to score on "
                         "synthetic data)", c->dataset);
    if (strcmp(c->dataset, "synthetic") && strcmp(c->dataset, "cifar10") && strcmp(c->dataset, "cifar100") &&
        strcmp(c->dataset, "hdf5"))
        return TCET_FAIL(TCET_ERR_USAGE, "--dataset '%s' unknown (synthetic cifar10 cifar100 hdf5)", c->dataset);
    if (strcmp(c->backend, "auto") && strcmp(c->backend, "cpu") && strcmp(c->backend, "cuda"))
        return TCET_FAIL(TCET_ERR_USAGE, "--backend '%s' unknown (auto cpu cuda)", c->backend);
    tcet_arch a;
    if (tcet_arch_parse(c->init_structure, &a, NULL))
        return TCET_FAIL(TCET_ERR_USAGE, "--init-structure does not parse");
    return 0;
}

/* ---- text form ---------------------------------------------------------- */
static void format_value(const tcet_search_config *c, const opt *o, char *buf, size_t cap)
{
    const void *p = (const char *)c + o->off;
    switch (o->type) {
    case OPT_INT:
    case OPT_BOOL: snprintf(buf, cap, "%d", *(const int *)p); break;
    case OPT_LONG: snprintf(buf, cap, "%ld", *(const long *)p); break;
    case OPT_DOUBLE: snprintf(buf, cap, "%.17g", *(const double *)p); break;
    case OPT_U64: snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)p); break;
    case OPT_STR:
    case OPT_STRUCT: snprintf(buf, cap, "%s", (const char *)p); break;
    case OPT_SPACE: snprintf(buf, cap, "%s", tcet_space_name(*(const int *)p)); break;
    case OPT_WEIGHTS: snprintf(buf, cap, "%s", tcet_weights_name(*(const int *)p)); break;
    case OPT_PROXY: snprintf(buf, cap, "%s", tcet_proxy_name(*(const int *)p)); break;
    case OPT_MODE: snprintf(buf, cap, "%s", tcet_mode_name(*(const int *)p)); break;
    }
}

char *tcet_config_to_text(const tcet_search_config *c, int identity_only)
{
    size_t cap = 4096 + TCET_MAX_STRUCT + 4 * TCET_PATH_MAX, len = 0;
    char *out = xmalloc(cap);
    char val[TCET_MAX_STRUCT + TCET_PATH_MAX];
    out[0] = 0;
    for (int k = 0; k < NOPTS; k++) {
        if (identity_only && !opts[k].identity) continue;
        if (!strcmp(opts[k].key, "resume")) continue; /* where it was resumed from is not configuration */
        format_value(c, &opts[k], val, sizeof val);
        len += (size_t)snprintf(out + len, cap - len, "%s = %s\n", opts[k].key, val);
    }
    if (!identity_only) snprintf(out + len, cap - len, "preset = %s\n", c->preset);
    return out;
}

int tcet_config_from_text(const char *text, tcet_search_config *c)
{
    tcet_config_defaults(c);
    /* Every text written since the key exists names the weights; a checkpoint
     * without it comes from a tcet that drew uniformly, and resumes so. */
    c->weights = TCET_WEIGHTS_UNIFORM;
    const char *s = text;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        char line[TCET_MAX_STRUCT + TCET_PATH_MAX + 64];
        if (n >= sizeof line) return TCET_FAIL(TCET_ERR_CHECKPOINT, "configuration line too long");
        memcpy(line, s, n);
        line[n] = 0;
        s += n + (nl ? 1 : 0);
        if (!line[0]) continue;
        char *eq = strstr(line, " = ");
        if (!eq) return TCET_FAIL(TCET_ERR_CHECKPOINT, "malformed configuration line '%s'", line);
        *eq = 0;
        const char *val = eq + 3;
        if (!strcmp(line, "preset")) {
            snprintf(c->preset, sizeof c->preset, "%s", val);
            continue;
        }
        int found = 0;
        for (int k = 0; k < NOPTS && !found; k++)
            if (!strcmp(opts[k].key, line)) {
                found = 1;
                if (opts[k].type == OPT_STRUCT) { /* stored canonical: copy verbatim */
                    if (strlen(val) >= opts[k].size) return TCET_FAIL(TCET_ERR_CHECKPOINT, "structure too long");
                    memcpy((char *)c + opts[k].off, val, strlen(val) + 1);
                } else if (set_value(c, &opts[k], val, TCET_ERR_CHECKPOINT)) {
                    return TCET_FAIL(TCET_ERR_CHECKPOINT, "bad configuration value %s = %s", line, val);
                }
            }
        if (!found) return TCET_FAIL(TCET_ERR_CHECKPOINT, "unknown configuration key '%s'", line);
    }
    return 0;
}

const char *tcet_config_identity_diff(const tcet_search_config *a, const tcet_search_config *b, char *detail,
                                      size_t cap)
{
    char va[TCET_MAX_STRUCT + TCET_PATH_MAX], vb[TCET_MAX_STRUCT + TCET_PATH_MAX];
    for (int k = 0; k < NOPTS; k++) {
        if (!opts[k].identity) continue;
        format_value(a, &opts[k], va, sizeof va);
        format_value(b, &opts[k], vb, sizeof vb);
        if (strcmp(va, vb)) {
            if (detail) snprintf(detail, cap, "%s: %.200s vs %.200s", opts[k].flag, va, vb);
            return opts[k].flag;
        }
    }
    return NULL;
}
