/* The search checkpoint (RUN_DIR/checkpoint.h5; layout in docs/checkpoint.md).
 *
 * Written by rank 0 only, atomically (tmp file, fsync, rename, fsync of the
 * directory), read by `tcet search --resume` and by `tcet inspect/plot/export`.
 * The read API returns plain arrays; tcet_checkpoint_free releases them. */
#ifndef TCET_CHECKPOINT_H
#define TCET_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "common/cand.h"
#include "common/config.h"
#include "common/rng.h"

#define TCET_CKPT_FORMAT 1
#define TCET_CKPT_NAME "checkpoint.h5"
/* The checkpoint before the latest, kept beside it (docs/checkpoint.md). */
#define TCET_CKPT_PREV_NAME "checkpoint.prev.h5"

typedef struct {
    int format_version;
    char tcet_version[32];
    char *config_text;           /* full configuration text (tcet_config_to_text) */
    tcet_search_config config;   /* parsed from config_text */
    uint64_t next_iter;          /* next iteration to generate */
    uint64_t committed;          /* iterations committed (history length) */
    tcet_rng rng;                /* master mutation stream after generating next_iter-1 */
    uint64_t naswot_seed;        /* the fixed NASWOT batch is (naswot_seed, TCET_STREAM_NASWOT, 0) */
    uint64_t counts[TCET_CAND_NSTATUS]; /* committed candidates per status */
    int finished;                /* 1: all iterations committed, best_structure.txt written */
    double elapsed;              /* seconds of search over all sessions */
    uint64_t events_offset;      /* bytes of events.jsonl that belong to this state */
    tcet_cand *population;  size_t npop;
    tcet_cand *history;     size_t nhist;
    tcet_cand *pending;     size_t npending; /* generated, not committed: re-dispatched on resume */
    /* What computed the scores so far (attributes "backend", "threads";
     * optional: "" and 0 in checkpoints written before they existed).  Not
     * part of the run's identity, but BLAS reduction order depends on them,
     * so a resume that changes them warns. */
    char backend[16];            /* resolved: "cpu" or "cuda", never "auto" */
    int threads;
    /* Why a run that committed every iteration did not finish (attribute
     * "outcome", optional: "" when absent), e.g. no candidate scored. */
    char outcome[512];
} tcet_checkpoint;

/* Atomic write to path (see above).  The file it replaces is kept as
 * TCET_CKPT_PREV_NAME in the same directory; that rotation happens only
 * after the new file is sealed and on disk, and path never goes missing:
 * the old file is hard-linked to the previous name first (on a file system
 * without hard links it is renamed, and a reader finds only the previous
 * one for that moment). */
int tcet_checkpoint_write(const char *path, const tcet_checkpoint *ck);
/* Read and verify (format version, content hash). Any problem is
 * TCET_ERR_CHECKPOINT with a message; the file is opened read-only. */
int tcet_checkpoint_read(const char *path, tcet_checkpoint *out);
void tcet_checkpoint_free(tcet_checkpoint *ck);
/* Write `len` bytes to path atomically and durably: "<path>.tmp.<pid>",
 * fsync, rename, fsync of the directory.  A crash leaves the old file or the
 * new one, never a torn or missing one after success was reported. */
int tcet_write_file_atomic(const char *path, const void *data, size_t len);
/* Remove stale "<path>.tmp.*" files left by an interrupted write. */
void tcet_checkpoint_remove_stale(const char *path);

#endif
