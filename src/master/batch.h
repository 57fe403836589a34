/* Batch scoring (docs/proxies.md): many structures x several proxies, one
 * row per (structure, proxy).  Alone (one rank) the rows are scored in
 * process; under mpirun rank 0 hands them out to the other ranks with the
 * search's TASK/RESULT/STOP messages (common/msg.h) and writes the results.
 *
 * Row (s, p) is scored with candidate id s (the structure's 0-based position
 * in the list) and the run seed, so its score does not depend on the number
 * of ranks, on the order rows finish, or on an interruption.
 *
 * The result file (CSV: index,structure,proxy,score,raw_score,status,
 * seconds,reason) is appended one complete line at a time, flushed and
 * fsync'ed; a run that finds it already there keeps every row it holds
 * (matched by structure and proxy), drops a torn last line, and scores
 * only the rest (resume).  FILE.settings holds the scoring settings of its
 * rows; a resume asking for other ones is refused (TCET_ERR_USAGE). */
#ifndef TCET_BATCH_H
#define TCET_BATCH_H

#include "common/arch.h"
#include "common/mpi_util.h"
#include "worker/scorer.h"

typedef struct {
    int nstruct;
    const tcet_arch *archs;
    char *const *names;        /* canonical structure strings */
    int nproxy;
    int proxy[TCET_PROXY_COUNT];
    tcet_score_config cfg;     /* cfg.proxy is set per row */
    const char *backend;
    int threads;
    const char *out_path;      /* result file; NULL: none (nothing to resume) */
    int progress;              /* 1: a progress line on stderr now and then */
} tcet_batch;

/* n structures x nproxy proxies scored with cfg by `threads` BLAS threads
 * of `backend`; no result file, no progress line (set them after). */
void tcet_batch_init(tcet_batch *b, int n, const tcet_arch *archs, char *const *names, const int *proxies,
                     int nproxy, const tcet_score_config *cfg, const char *backend, int threads);

typedef struct {
    int done;                  /* 0 not scored, 1 scored by this run, 2 read from the result file */
    tcet_cand_result r;        /* latency not used */
} tcet_batch_row;              /* rows[s * nproxy + p] */

/* Every rank calls it (a single rank scores everything itself).  On rank 0
 * rows (nstruct * nproxy) are filled; other ranks return 0 after the
 * master's STOP.  Errors: the result file (TCET_ERR_RUNTIME / USAGE),
 * backend creation, MPI. */
int tcet_batch_run(const tcet_batch *b, const tcet_mpi *mpi, tcet_batch_row *rows);

/* Read "@file" (one structure per line; blank lines and lines starting with
 * '#' skipped), "-" (the same from stdin) or a literal structure into a
 * malloc'd list (names canonical).  TCET_ERR_USAGE with file and line. */
int tcet_batch_load_structures(const char *arg, tcet_arch **archs, char ***names, int *n);
void tcet_batch_free_structures(tcet_arch *archs, char **names, int n);

#endif
