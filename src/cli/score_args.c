#include "score_args.h"

#include <stdio.h>
#include <string.h>

#include "common/args.h"
#include "common/error.h"

void score_config_defaults(tcet_score_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->proxy = -1;
    cfg->mode = TCET_MODE_LOG;
    cfg->batch_size = 64;
    cfg->resolution = 32;
    cfg->num_classes = 100;
    cfg->gamma = 1e-2;
    cfg->seed = 1;
    cfg->zico_batches = 2;
}

int score_parse_proxy(const char *name)
{
    int p = tcet_proxy_parse(name);
    if (p >= 0) return p;
    char known[512] = "";
    for (int k = 0; k < TCET_PROXY_COUNT; k++) {
        size_t len = strlen(known);
        snprintf(known + len, sizeof known - len, "%s%s", k ? ", " : "", tcet_proxy_name(k));
    }
    TCET_FAIL(TCET_ERR_USAGE, "unknown proxy '%s' (%s)", name, known);
    return -1;
}

static int score_common_arg(int argc, char **argv, int *i, tcet_score_config *cfg, const char **backend,
                            int *threads)
{
    const char *a = argv[*i], *val = NULL;
    int r;
    if (!strcmp(a, "--same-batch")) {
        cfg->same_batch = 1;
        return 1;
    }
    if ((r = arg_value(argc, argv, i, "--batch-size", &val)))
        return r < 0 || arg_int("--batch-size", val, 1, 65536, &cfg->batch_size) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--resolution", &val)))
        return r < 0 || arg_int("--resolution", val, 1, 4096, &cfg->resolution) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--num-classes", &val)))
        return r < 0 || arg_int("--num-classes", val, 1, 1000000, &cfg->num_classes) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--seed", &val)))
        return r < 0 || arg_u64("--seed", val, &cfg->seed) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--gamma", &val)))
        return r < 0 || arg_double("--gamma", val, 0.0, 1e6, &cfg->gamma) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--threads", &val)))
        return r < 0 || arg_int("--threads", val, 1, 4096, threads) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--backend", &val))) {
        if (r < 0) return -1;
        *backend = val;
        return 1;
    }
    if ((r = arg_value(argc, argv, i, "--precision", &val))) {
        if (r < 0) return -1;
        if (!strcmp(val, "float32")) cfg->dtype = TCET_F32;
        else if (!strcmp(val, "float64")) cfg->dtype = TCET_F64;
        else {
            TCET_FAIL(TCET_ERR_USAGE, "--precision expects float32 or float64, got '%s'", val);
            return -1;
        }
        return 1;
    }
    if ((r = arg_value(argc, argv, i, "--mode", &val))) {
        if (r < 0) return -1;
        cfg->mode = tcet_mode_parse(val);
        if (cfg->mode < 0) {
            TCET_FAIL(TCET_ERR_USAGE, "--mode expects one of %s, got '%s'", tcet_mode_names(), val);
            return -1;
        }
        return 1;
    }
    return 0;
}

int score_common_hook(int argc, char **argv, int *i, void *ctx)
{
    score_common *s = ctx;
    return score_common_arg(argc, argv, i, s->cfg, s->backend, s->threads);
}
