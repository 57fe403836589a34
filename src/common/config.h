/* Configuration of `tcet search`: every option, its default, the presets
 * named after the reference scripts (docs/semantics.md#script-settings-and-presets), and a canonical text form
 * ("key = value" lines) that is stored in the checkpoint and compared on
 * resume.  Options are described by one table (config.c) so parsing, help,
 * serialisation and comparison cannot drift apart. */
#ifndef TCET_CONFIG_H
#define TCET_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "common/arch.h"

#define TCET_PATH_MAX 1024

typedef struct {
    /* --- identity: these fix the trajectory and must match on resume --- */
    int population_size;      /* 512 */
    long max_iter;            /* --evolution-max-iter, 480000 */
    double budget_params;     /* --budget-model-size; <= 0: unset */
    double budget_flops;      /* --budget-flops; <= 0: unset */
    double budget_latency;    /* --budget-latency seconds/image; <= 0: unset */
    int max_layers;           /* <= 0: unset */
    int batch_size;           /* 64 */
    int resolution;           /* --resolution (also --input-image-size), 32 */
    int num_classes;          /* 100 */
    int space;                /* tcet_space */
    int weights;              /* tcet_weights: how mutation draws from a candidate list */
    char init_structure[TCET_MAX_STRUCT]; /* canonical string (after @file) */
    int proxy;                /* tcet_proxy */
    int mode;                 /* T-CET log mode */
    double gamma;             /* Zen mixup, 1e-2 */
    char dataset[32];         /* synthetic | cifar10 | cifar100 | hdf5 */
    char data[TCET_PATH_MAX]; /* dataset root/file */
    uint64_t seed;            /* 1 */
    int window;               /* in-flight candidates; 0 = tcet_default_window (resolved at start) */
    int same_batch;           /* score NASWOT and saliency on one batch */
    /* --- not identity: may change across a resume --- */
    char save_dir[TCET_PATH_MAX];
    char resume[TCET_PATH_MAX];
    double checkpoint_every;  /* seconds, 300 */
    char backend[16];         /* auto | cpu | cuda */
    int threads;              /* BLAS threads per rank (per lane), 1 */
    int lanes;                /* candidates scored at once per worker rank, 1 */
    char preset[64];
    /* Set by tcet_config_parse_args, not part of the text form: the run would
     * score an image-reading proxy on synthetic data that nobody asked for
     * (no --dataset/--data, or a preset that names a real dataset given no
     * --data).  A new search refuses it (docs/search.md). */
    int data_missing;
    int dataset_explicit; /* 1: --dataset was given; 2: the preset asks for synthetic data */
} tcet_search_config;

/* Default --window: 8 candidates per worker lane (2 when rank 0 scores alone).
 * About half the children are rejected by the budgets and never reach a
 * worker, and a worker holds up to two scorable ones (one scoring, one
 * queued); 8 per lane keeps 256 simulated workers over 98 % busy with
 * candidates whose cost varies by +-50 % (docs/jobs.md, "Master throughput"). */
#define TCET_WINDOW_PER_WORKER 8
int tcet_default_window(int nworkers, int lanes);

void tcet_config_defaults(tcet_search_config *c);
/* Apply a preset by name; TCET_ERR_USAGE (message lists the names) if unknown. */
int tcet_config_preset(tcet_search_config *c, const char *name);
/* Print the preset names, one per line, with a short description. */
void tcet_config_list_presets(FILE *f);

/* Parse `tcet search` flags into c (defaults, then --preset, then explicit
 * flags in order). *help is set for --help/-h. `explicit_mask` (may be NULL)
 * receives one bit per option table entry that was given explicitly. */
int tcet_config_parse_args(int argc, char **argv, tcet_search_config *c, int *help,
                           uint64_t *explicit_mask);
/* Copy into dst every option whose bit is set in mask (explicit flags given
 * together with --resume override the checkpoint's non-identity values). */
void tcet_config_overlay(tcet_search_config *dst, const tcet_search_config *src, uint64_t mask);
/* 1 if the proxy scores on training images (T-CET, layer-wise NASWOT, SNIP,
 * GradNorm-ZC, ZiCo): on synthetic data its score says nothing about a real
 * task. */
int tcet_config_proxy_reads_images(int proxy);
/* 1 if the proxy reads the candidate's own batch (the SNIP saliency of
 * T-CET(SNIP) and SNIP, GradNorm-ZC; with same_batch, --same-batch, the
 * NASWOT part of T-CET and layer-wise NASWOT too); the scorer draws it for
 * these only. */
int tcet_config_proxy_reads_batch(int proxy, int same_batch);
/* The flags that may be given with --resume (they do not change the
 * trajectory): the bit of every other option set in mask is named in
 * `refused` (", "-separated); returns how many were refused. */
int tcet_config_resume_refused(uint64_t mask, char *refused, size_t cap);
/* The flag of option table entry k of the mask (NULL past the end). */
const char *tcet_config_flag(int k);
/* Options usage text. */
void tcet_config_usage(FILE *f);
/* Check ranges and combinations; TCET_ERR_USAGE with a message. */
int tcet_config_validate(const tcet_search_config *c);

/* Canonical text: "key = value\n" per option (identity options only when
 * identity_only); returns a malloc'd string. */
char *tcet_config_to_text(const tcet_search_config *c, int identity_only);
/* Parse the text form (unknown keys are an error: TCET_ERR_CHECKPOINT). */
int tcet_config_from_text(const char *text, tcet_search_config *c);
/* Name of the first identity option whose values differ, or NULL. */
const char *tcet_config_identity_diff(const tcet_search_config *a, const tcet_search_config *b,
                                      char *detail, size_t cap);

#endif
