/* Reading a finished or running search for the user-facing tools
 * (tcet inspect, plot, export): open RUN_DIR or a checkpoint file, replay the
 * population over the history, rank the best structures, group failures. */
#ifndef TCET_REPORT_H
#define TCET_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/checkpoint.h"

typedef struct {
    char run_dir[TCET_PATH_MAX];
    char ckpt_path[TCET_PATH_MAX + 32];
    tcet_checkpoint ck;
} tcet_run;

/* arg: a run directory (holding checkpoint.h5) or a checkpoint file.
 * Errors: TCET_ERR_USAGE (no such run), TCET_ERR_CHECKPOINT (refused). */
int tcet_run_open(const char *arg, tcet_run *r);
void tcet_run_close(tcet_run *r);

/* Population statistics after a committed iteration, replaying the history:
 * each scored candidate (ok, non-finite or failed, score -9999 for the
 * latter) is appended, then the population is trimmed to population_size by
 * removing the minimum.  best/median are NaN while the population is empty. */
typedef struct {
    uint64_t iter;   /* committed iterations so far (1-based) */
    double best, median;
    size_t size;
} tcet_pop_point;
/* Fills at most max points, evenly spaced over the history, always including
 * the last iteration; returns how many. */
size_t tcet_run_trajectory(const tcet_run *r, tcet_pop_point *pts, size_t max);

/* History indices of the best k distinct structures among candidates scored
 * ok (score descending, id ascending on ties); returns how many (<= k). */
size_t tcet_run_top(const tcet_run *r, size_t k, size_t *idx);

/* Index in the population of the first entry with the maximal score (the
 * reference's choice for best_structure.txt), -1 if empty. */
long tcet_run_best_member(const tcet_run *r);

typedef struct {
    int status;          /* TCET_CAND_NONFINITE or TCET_CAND_FAILED */
    const char *reason;  /* points into the history (valid until close) */
    size_t count;
    int64_t first_id;
} tcet_failure_group;
/* Failures grouped by (status, reason), most frequent first.  *out is
 * malloc'd; returns the number of groups. */
size_t tcet_run_failures(const tcet_run *r, tcet_failure_group **out);

/* What the run scored on, for headers: "SYNTHETIC data (...)" when an
 * image-reading proxy ran on synthetic images, "cifar100 data from PATH",
 * or "no training images (PROXY reads none)"; *synthetic is set in the
 * first case (may be NULL). */
const char *tcet_run_data_label(const tcet_run *r, char *buf, size_t cap, int *synthetic);

/* The value of "key = value" in the checkpoint's configuration text, copied
 * into buf ("" if absent); returns buf. */
const char *tcet_run_config(const tcet_run *r, const char *key, char *buf, size_t cap);

#endif
