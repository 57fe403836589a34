/* tcet score: score one structure (or a golden reference file) with one
 * proxy and print the score, its status and the per-layer T-CET table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "commands.h"
#include "score_args.h"
#include "score_batch.h"
#include "common/arch.h"
#include "common/data.h"
#include "common/error.h"
#include "common/golden.h"
#include "common/json.h"
#include "kernels/backend.h"
#include "worker/proxies.h"
#include "worker/scorer.h"
#include "worker/selfcheck.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tcet score <structure | @file | -> --proxy NAME[,NAME...] [options]\n"
            "       tcet score --golden FILE.h5 --proxy NAME [--json]\n\n"
            "Score one structure's scoring network (no residual links unless --reslink,\n"
            "PyTorch default init keyed by --seed) with one proxy.  With --golden, weights,\n"
            "input, labels, aux tensors, structure, classes, resolution, batch and the\n"
            "residual links (the file's no_reslink) come from a golden file.\n\n"
            "Batch mode (docs/proxies.md): @file with several lines (one structure per\n"
            "line), '-' (the same from stdin) or several proxies score every (structure,\n"
            "proxy) pair, one row each; structures may be ZenNAS strings, NAS-Bench-201\n"
            "cell strings or NASLib tuples.  Under mpirun rank 0 hands the rows to the\n"
            "other ranks.  With --out FILE the rows are appended to FILE (CSV) as they\n"
            "finish; rerunning the same command keeps the rows FILE holds (resume).\n\n"
            "  --proxy NAME        tcet-snip, tcet-synflow, naswot-layerwise, naswot, snip,\n"
            "                      synflow, synflow-zennas, gradnorm, zen, te-nas, zico,\n"
            "                      params, flops, random, gradnorm-zc (required; a comma-separated\n"
            "                      list scores several; see 'tcet proxies')\n"
            "  --csv               batch rows as CSV (default: a table)\n"
            "  --out FILE          batch result file (CSV), resumed when it exists\n"
            "  --batch-size N      images per batch (default 64)\n"
            "  --resolution R      input resolution (default 32; also --input-image-size)\n"
            "  --num-classes C     classifier width (default 100)\n"
            "  --seed S            run seed (default 1); the candidate id is 0\n"
            "  --mode M            T-CET per-layer mode: log (default, the paper's), none,\n"
            "                      log1p, norm (alethiometer); also --tcet-mode\n"
            "  --same-batch        layer-wise NASWOT on the saliency batch (alethiometer)\n"
            "  --precision P       float32 (default, the reference's) or float64: the\n"
            "                      network and every proxy but te-nas in double, to measure\n"
            "                      numerical conditioning (docs/proxies.md)\n"
            "  --reslink           score the network WITH its residual shortcuts (MasterNet\n"
            "                      no_reslink = False: projection conv+BN or identity); the\n"
            "                      search scores the network without them (the default)\n"
            "  --dataset KIND      synthetic, cifar10, cifar100, hdf5 (default: the kind of\n"
            "                      --data, else synthetic; the output names the data)\n"
            "  --data PATH         dataset directory / file (its kind is recognised)\n"
            "  --gamma G           Zen mixup coefficient (default 0.01)\n"
            "  --backend B         auto (default), cpu, cuda\n"
            "  --threads T         CPU threads (default 1)\n"
            "  --json              machine-readable output (batch mode: JSON lines)\n\n"
            "A non-finite or failed score is reported as -9999 with its reason (docs/semantics.md#non-finite-scores).\n"
            "exit codes: 0 scored (even when the score is -9999), 2 usage, 3 data/golden file,\n"
            "5 out of memory (the network cannot fit: \"out of memory: needs X GB, has Y GB\"),\n"
            "6 backend failure\n");
}

static void print_json(const char *proxy, const tcet_score_result *r, const char *structure,
                       const char *device, const char *dataset, const char *data)
{
    tcet_json j;
    json_begin(&j, stdout, 1);
    json_obj_open(&j, NULL);
    json_str(&j, "proxy", proxy);
    json_str(&j, "structure", structure);
    json_str(&j, "device", device);
    json_str(&j, "dataset", dataset);
    if (data) json_str(&j, "data", data);
    else json_null(&j, "data");
    json_num(&j, "score", r->r.score);
    json_num(&j, "raw_score", r->r.raw);
    if (!isfinite(r->r.raw))
        json_str(&j, "raw_score_text", isnan(r->r.raw) ? "nan" : (r->r.raw > 0 ? "inf" : "-inf"));
    json_str(&j, "status", r->r.status == TCET_CAND_OK ? "ok"
                           : r->r.status == TCET_CAND_NONFINITE ? "nonfinite" : "failed");
    json_str(&j, "reason", r->r.reason);
    json_num(&j, "seconds", r->r.seconds);
    json_arr_open(&j, "layers");
    for (int l = 0; l < r->nlayers; l++) {
        const tcet_layer_score *s = &r->layers[l];
        json_obj_open(&j, NULL);
        json_str(&j, "name", s->name);
        json_num(&j, "naswot", s->naswot);
        json_num(&j, "sum", s->sum);
        json_num(&j, "std", s->std);
        json_num(&j, "ratio", s->ratio);
        json_num(&j, "log", s->log);
        json_num(&j, "term", s->term);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_obj_close(&j);
    json_end(&j);
}

static void print_text(const char *proxy, const tcet_score_result *r, const char *device, const char *data_desc)
{
    printf("proxy    %s\n", proxy);
    printf("device   %s\n", device);
    printf("data     %s\n", data_desc);
    printf("score    %.10g\n", r->r.score);
    printf("raw      %.17g\n", r->r.raw);
    printf("status   %s%s%s\n",
           r->r.status == TCET_CAND_OK ? "ok" : r->r.status == TCET_CAND_NONFINITE ? "nonfinite" : "failed",
           r->r.reason[0] ? ": " : "", r->r.reason);
    printf("seconds  %.4f\n", r->r.seconds);
    if (r->nlayers > 0) {
        printf("\n%4s  %-44s %12s %13s %13s %13s %11s %12s\n", "#", "layer", "naswot", "sum", "std",
               "ratio", "log", "term");
        for (int l = 0; l < r->nlayers; l++) {
            const tcet_layer_score *s = &r->layers[l];
            printf("%4d  %-44s %12.6g %13.7g %13.7g %13.7g %11.7g %12.7g\n", l, s->name, s->naswot,
                   s->sum, s->std, s->ratio, s->log, s->term);
        }
    }
}

int cmd_score(int argc, char **argv)
{
    const char *structure = NULL, *golden_path = NULL, *proxy_name = NULL;
    const char *dataset = NULL, *data_path = NULL, *backend = "auto";
    char inferred[32];
    tcet_score_config cfg;
    score_config_defaults(&cfg);
    int threads = 1, json = 0, rc = 0, csv = 0, nproxy = 0, proxies[TCET_PROXY_COUNT];
    const char *out_path = NULL;
    const arg_spec flags[] = {
        {"--json", ARG_SWITCH, &json, 1, 0, NULL},           {"--csv", ARG_SWITCH, &csv, 1, 0, NULL},
        {"--out", ARG_STR, &out_path, 0, 0, NULL},           {"--reslink", ARG_SWITCH, &cfg.reslink, 1, 0, NULL},
        {"--proxy", ARG_STR, &proxy_name, 0, 0, NULL},       {"--golden", ARG_STR, &golden_path, 0, 0, NULL},
        {"--dataset", ARG_STR, &dataset, 0, 0, NULL},        {"--data", ARG_STR, &data_path, 0, 0, NULL},
    };
    score_common common = {&cfg, &backend, &threads};
    int help = 0;
    if (arg_parse("score", argc, argv, flags, (int)(sizeof flags / sizeof flags[0]), score_common_hook, &common,
                  "structure", &structure, &help))
        goto fail;
    if (help) {
        usage(stdout);
        return 0;
    }
    if (proxy_name) {
        if (score_parse_proxy_list(proxy_name, proxies, &nproxy)) goto fail;
        cfg.proxy = proxies[0];
    }
    if (cfg.proxy < 0) {
        TCET_FAIL(TCET_ERR_USAGE, "--proxy is required (see 'tcet score --help')");
        goto fail;
    }
    if (structure && golden_path) {
        TCET_FAIL(TCET_ERR_USAGE, "give either a structure or --golden FILE.h5, not both");
        goto fail;
    }
    if (!structure && !golden_path) {
        TCET_FAIL(TCET_ERR_USAGE, "nothing to score: give a structure (or @file) or --golden FILE.h5");
        goto fail;
    }

    /* --data alone: its kind is inferred from what is there; no data at all:
     * synthetic, a quick check (the output says so) */
    if (data_path && !dataset && !golden_path) {
        if (tcet_dataset_infer(data_path, inferred, sizeof inferred)) goto fail;
        dataset = inferred;
    }
    if (!dataset) dataset = "synthetic";
    if (json && csv) {
        TCET_FAIL(TCET_ERR_USAGE, "give --json or --csv, not both");
        goto fail;
    }
    int batch = nproxy > 1 || csv || out_path || !strcmp(structure ? structure : "", "-");
    if (!batch && structure && structure[0] == '@') {
        /* a file with more than one structure line is a batch */
        tcet_arch *as = NULL;
        char **ns = NULL;
        int n = 0;
        if ((rc = tcet_batch_load_structures(structure, &as, &ns, &n)) != 0) goto fail;
        tcet_batch_free_structures(as, ns, n);
        batch = n > 1;
    }
    if (batch && golden_path) {
        TCET_FAIL(TCET_ERR_USAGE, "--golden scores one file with one proxy (no --csv, --out or proxy list)");
        goto fail;
    }

    tcet_golden *g = NULL;
    tcet_dataset *ds = NULL;
    tcet_backend *be = NULL;
    tcet_scorer *sc = NULL;
    tcet_arch arch;
    char sbuf[TCET_MAX_STRUCT + 1];
    if (golden_path) {
        if ((rc = tcet_golden_open(golden_path, &g)) != 0) goto fail;
        arch = g->arch;
        cfg.reslink = !g->no_reslink; /* the file's network (tcet_scorer_set_golden agrees) */
        cfg.batch_size = g->batch_size;
        cfg.resolution = g->resolution;
        cfg.num_classes = g->num_classes;
    } else {
        if (!batch && (rc = tcet_arch_load(structure, &arch)) != 0) goto fail;
        if (strcmp(dataset, "synthetic") != 0 || data_path) {
            if ((rc = tcet_dataset_open(dataset, data_path, cfg.resolution, cfg.num_classes, &ds)) != 0)
                goto out;
            /* say it now, not per candidate */
            if ((rc = tcet_dataset_check_batch(ds, cfg.batch_size, cfg.proxy)) != 0) goto out;
            cfg.data = ds;
        }
        if (batch) {
            rc = score_batch_main(structure, proxies, nproxy, &cfg, backend, threads, out_path,
                                  json ? SCORE_FMT_JSON : csv ? SCORE_FMT_CSV : SCORE_FMT_TABLE);
            if (ds) tcet_dataset_close(ds);
            return rc;
        }
    }
    tcet_arch_print(&arch, sbuf, sizeof sbuf);
    if ((rc = tcet_backend_create_checked(backend, 0, threads, &be)) != 0) goto out;
    if ((rc = tcet_scorer_create(&cfg, be, &sc)) != 0) goto out;
    if (g) tcet_scorer_set_golden(sc, g);
    tcet_score_result res;
    tcet_scorer_score(sc, 0, &arch, &res);
    char desc[4400];
    if (g) snprintf(desc, sizeof desc, "the golden file's batch (%s)", golden_path);
    else if (ds) snprintf(desc, sizeof desc, "%s", tcet_dataset_describe(ds));
    else snprintf(desc, sizeof desc, "SYNTHETIC (N(0,1) images, uniform random labels): not comparable with published scores");
    if (json) print_json(proxy_name, &res, sbuf, be->device, g ? "golden" : dataset, g ? golden_path : data_path);
    else print_text(proxy_name, &res, be->device, desc);
    /* A candidate refused for memory is a fault of this run, not a score. */
    if (res.r.status == TCET_CAND_FAILED && !strncmp(res.r.reason, "out of memory", 13))
        rc = TCET_FAIL(TCET_ERR_NOMEM, "%s (hint: lower --batch-size, or score it where more memory is free)",
                       res.r.reason);
out:
    if (rc) tcet_error_print();
    tcet_scorer_destroy(sc);
    if (be) be->destroy(be);
    if (ds) tcet_dataset_close(ds);
    tcet_golden_close(g);
    return rc;
fail:
    tcet_error_print();
    return tcet_error_code() ? tcet_error_code() : TCET_ERR_USAGE;
}
