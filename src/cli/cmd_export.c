/* tcet export: hand the result of a search to training.  Writes
 * best_structure.txt (the structure string, no newline, as the reference
 * does), summary.txt (blocks, layers, params, FLOPs) and train.sh (the
 * ZenNAS / T-CET training command with the settings of docs/semantics.md#script-settings-and-presets), and prints
 * the summary and the command. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/args.h"
#include "commands.h"
#include "common/arch.h"
#include "common/counters.h"
#include "common/error.h"
#include "common/mutate.h"
#include "master/report.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tcet export RUN_DIR|checkpoint.h5 [-o DIR]\n\n"
            "Export the best structure of a run (the first population member with the\n"
            "maximal score, as the reference writes it): DIR/best_structure.txt, DIR/summary.txt\n"
            "(blocks, layers, reference params and FLOPs) and DIR/train.sh (the training\n"
            "commands of the reference scripts: CIFAR-10 and CIFAR-100 for a CIFAR run,\n"
            "ts_train_image_classification.py with distillation for ImageNet). Prints the\n"
            "summary and the command. An unfinished run exports its best so far (and says so).\n\n"
            "  -o, --output DIR   where to write (default RUN_DIR/export)\n\n"
            "exit codes: 0 ok, 1 cannot write, 2 usage, 4 checkpoint refused\n");
}

/* Writes the summary of the network to f. */
static int summary(FILE *f, const tcet_run *r, const tcet_cand *best, const tcet_arch *a)
{
    const tcet_search_config *c = &r->ck.config;
    tcet_counts bud, sco;
    TCET_TRY(tcet_count(a, 1, c->num_classes, c->resolution, &bud));
    TCET_TRY(tcet_count(a, 0, c->num_classes, c->resolution, &sco));
    char proxy[64];
    tcet_run_config(r, "proxy", proxy, sizeof proxy);
    char data[TCET_PATH_MAX + 128];
    fprintf(f, "best structure of %s%s\n", r->run_dir,
            r->ck.finished ? "" : "  (RUN NOT FINISHED: best so far)");
    fprintf(f, "  searched on %s\n", tcet_run_data_label(r, data, sizeof data, NULL));
    fprintf(f, "  candidate id %lld, %s score %.10g, iteration %llu of %ld\n", (long long)best->id,
            proxy, best->score, (unsigned long long)r->ck.committed, c->max_iter);
    fprintf(f, "  %s\n\n", best->structure);
    fprintf(f, "  %-3s %-32s %-9s %-7s %-6s %-7s\n", "#", "block", "in->out", "stride", "layers",
            "out res");
    int res = c->resolution;
    for (int i = 0; i < a->n; i++) {
        const tcet_block *b = &a->b[i];
        char blk[256], io[32];
        tcet_block_print(b, blk, sizeof blk);
        snprintf(io, sizeof io, "%d->%d", b->in, b->out);
        res = (res + b->stride - 1) / b->stride;
        fprintf(f, "  %-3d %-32s %-9s %-7d %-6d %dx%d\n", i, blk, io, b->stride, b->layers, res, res);
    }
    fprintf(f, "\n  input %dx%d, %d classes, search space %s\n", c->resolution, c->resolution,
            c->num_classes, c->space == 1 ? "IDW_fixfc" : "XXBL");
    fprintf(f, "  layers (sum of sub-layers)             %d\n", bud.layers);
    fprintf(f, "  params, reference counter (budget net)  %.0f (%.3f M)\n", bud.params, bud.params / 1e6);
    fprintf(f, "  FLOPs, reference counter (budget net)   %.0f (%.2f M)\n", bud.flops, bud.flops / 1e6);
    fprintf(f, "  trainable params (PyTorch numel)        %lld\n", bud.true_params);
    fprintf(f, "  scoring network (no residual links)     %.0f params, %.0f FLOPs, %d conv/linear layers\n",
            sco.params, sco.flops, sco.scored_layers);
    return ferror(f) ? TCET_FAIL(TCET_ERR_RUNTIME, "writing the summary failed") : TCET_OK;
}

/* The training commands of the reference scripts (ZenNAS and T-CET
 * scripts), flag for flag, for the run's kind of dataset:
 *  - CIFAR: the scripts train the searched network twice, on CIFAR-10 and
 *    on CIFAR-100 (train_image_classification.py, 1440 epochs);
 *  - ImageNet: ts_train_image_classification.py (the teacher-student
 *    trainer: distillation from EfficientNet-B3-NS; the plain trainer would
 *    ignore the teacher flags), 480 epochs; the FLOPs-budget scripts
 *    (IDW_fixfc space) add --use_se, the latency-budget ones do not.
 * All run as plain `python` with --dist_mode single, from a ZenNAS or T-CET
 * checkout.  the files in tests/data/export hold the flags taken from the
 * scripts, and the export test compares the emitted commands with them. */
static void common_flags(FILE *f, const char *ds, int classes, int res, int epochs, const char *wd)
{
    fprintf(f, "--dataset %s --num_classes %d \\\n"
               "  --dist_mode single --workers_per_gpu 6 \\\n"
               "  --input_image_size %d --epochs %d --warmup 5 \\\n"
               "  --optimizer sgd --bn_momentum 0.01 --wd %s --nesterov --weight_init custom \\\n"
               "  --label_smoothing --random_erase --mixup --auto_augment \\\n"
               "  --lr_per_256 0.1 --target_lr_per_256 0.0 --lr_mode cosine \\\n"
               "  --arch Masternet.py:MasterNet \\\n",
            ds, classes, res, epochs, wd);
}

static int train_command(FILE *f, const tcet_run *r, const char *struct_path, const char *out_dir)
{
    const tcet_search_config *c = &r->ck.config;
    int imagenet = c->resolution > 64 || c->num_classes > 100;
    char data[TCET_PATH_MAX + 128];
    int synthetic = 0;
    tcet_run_data_label(r, data, sizeof data, &synthetic);
    fprintf(f, "#!/bin/bash\n"
               "# Train the network found by tcet with the commands of the reference scripts\n"
               "# (ZenNAS / T-CET scripts/*.sh). Run from a ZenNAS or T-CET checkout\n"
               "# (https://github.com/idstcv/ZenNAS); plain python, one process per command\n"
               "# (--dist_mode single), as the scripts do.\n");
    if (synthetic)
        fprintf(f, "# WARNING: this structure was searched on SYNTHETIC data (N(0,1) images):\n"
                   "# its proxy scores say nothing about a real task.\n");
    fprintf(f, "set -e\nsave_dir=%s\nmkdir -p \"$save_dir\"\n", out_dir);
    if (imagenet) {
        fprintf(f, "\npython ts_train_image_classification.py ");
        common_flags(f, "imagenet", c->num_classes, c->resolution, 480, "4e-5");
        fprintf(f, "  --plainnet_struct_txt %s \\\n"
                   "  --teacher_arch geffnet_tf_efficientnet_b3_ns \\\n"
                   "  --teacher_pretrained \\\n"
                   "  --teacher_input_image_size 320 \\\n"
                   "  --teacher_feature_weight 1.0 \\\n"
                   "  --teacher_logit_weight 1.0 \\\n"
                   "  --ts_proj_no_relu \\\n"
                   "  --ts_proj_no_bn \\\n"
                   "%s"
                   "  --target_downsample_ratio 16 \\\n"
                   "  --batch_size_per_gpu 64 --save_dir \"$save_dir/ts_effnet_b3ns_epochs480\"\n",
                struct_path, c->space == TCET_SPACE_IDW_FIXFC ? "  --use_se \\\n" : "");
    } else {
        static const char *const ds[2] = {"cifar10", "cifar100"};
        static const int classes[2] = {10, 100};
        for (int k = 0; k < 2; k++) {
            fprintf(f, "\npython train_image_classification.py ");
            common_flags(f, ds[k], classes[k], c->resolution, 1440, "5e-4");
            fprintf(f, "  --plainnet_struct_txt %s \\\n"
                       "  --batch_size_per_gpu 64 \\\n"
                       "  --save_dir \"$save_dir/%s_1440epochs\"\n",
                    struct_path, ds[k]);
        }
    }
    return ferror(f) ? TCET_FAIL(TCET_ERR_RUNTIME, "writing the training command failed") : TCET_OK;
}

static int write_file(const char *dir, const char *name, char *path, size_t cap, FILE **f)
{
    snprintf(path, cap, "%s/%s", dir, name);
    *f = fopen(path, "w");
    if (!*f) return TCET_FAIL(TCET_ERR_RUNTIME, "%s: cannot write: %s", path, strerror(errno));
    return TCET_OK;
}

static int run_export(const tcet_run *r, const char *dir)
{
    long bi = tcet_run_best_member(r);
    if (bi < 0)
        return TCET_FAIL(TCET_ERR_USAGE, "%s: the population is empty (no candidate scored yet); "
                         "nothing to export", r->run_dir);
    const tcet_cand *best = &r->ck.population[bi];
    tcet_arch a;
    tcet_parse_error perr;
    if (tcet_arch_parse(best->structure, &a, &perr))
        return TCET_FAIL(TCET_ERR_CHECKPOINT, "best structure does not parse: %s", perr.msg);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: cannot create: %s", dir, strerror(errno));
    /* train.sh runs from a ZenNAS checkout: absolute paths in it */
    char abs_dir[PATH_MAX];
    if (!realpath(dir, abs_dir))
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: realpath: %s", dir, strerror(errno));
    char p_struct[TCET_PATH_MAX + 64], p_sum[TCET_PATH_MAX + 64], p_train[TCET_PATH_MAX + 64];
    FILE *f;
    TCET_TRY(write_file(dir, "best_structure.txt", p_struct, sizeof p_struct, &f));
    fputs(best->structure, f);
    if (fclose(f) != 0) return TCET_FAIL(TCET_ERR_RUNTIME, "%s: write failed", p_struct);
    TCET_TRY(write_file(dir, "summary.txt", p_sum, sizeof p_sum, &f));
    int rc = summary(f, r, best, &a);
    if (fclose(f) != 0 && rc == TCET_OK) rc = TCET_FAIL(TCET_ERR_RUNTIME, "%s: write failed", p_sum);
    TCET_TRY(rc);
    TCET_TRY(write_file(dir, "train.sh", p_train, sizeof p_train, &f));
    char train_out[PATH_MAX + 64], abs_struct[PATH_MAX + 64];
    snprintf(train_out, sizeof train_out, "%s/train", abs_dir);
    snprintf(abs_struct, sizeof abs_struct, "%s/best_structure.txt", abs_dir);
    rc = train_command(f, r, abs_struct, train_out);
    if (fclose(f) != 0 && rc == TCET_OK) rc = TCET_FAIL(TCET_ERR_RUNTIME, "%s: write failed", p_train);
    TCET_TRY(rc);
    if (chmod(p_train, 0755) != 0)
        return TCET_FAIL(TCET_ERR_RUNTIME, "%s: chmod: %s", p_train, strerror(errno));
    TCET_TRY(summary(stdout, r, best, &a));
    printf("\ntraining commands (%s):\n", p_train);
    TCET_TRY(train_command(stdout, r, abs_struct, train_out));
    printf("\nwrote %s, %s, %s\n", p_struct, p_sum, p_train);
    return TCET_OK;
}

int cmd_export(int argc, char **argv)
{
    const char *path = NULL, *out = NULL;
    int help = 0;
    const arg_spec flags[] = {{"--output", ARG_STR, &out, 0, 0, "-o"}};
    if (arg_parse("export", argc, argv, flags, 1, NULL, NULL, "run", &path, &help)) goto fail;
    tcet_run r;
    int rc_open = cli_open_run(help, path, usage, &r);
    if (rc_open) return rc_open < 0 ? 0 : rc_open;
    char dir[TCET_PATH_MAX + 16];
    if (out) snprintf(dir, sizeof dir, "%s", out);
    else snprintf(dir, sizeof dir, "%s/export", r.run_dir);
    int rc = run_export(&r, dir);
    tcet_run_close(&r);
    if (rc) goto fail;
    return fflush(stdout) == 0 ? 0 : TCET_ERR_RUNTIME;
fail:
    tcet_error_print();
    return tcet_error_code() ? tcet_error_code() : TCET_ERR_USAGE;
}
