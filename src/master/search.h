/* The master (rank 0) of `tcet search`: the evolution loop of docs/semantics.md#main-loop with
 * a dispatch window, in-order commit, checkpoints and signals.
 *
 * Determinism (docs/search.md): candidate t (= iteration t) is generated from
 * the population as committed after iterations 0..t-W (W = --window; for
 * t < W from the initial, empty population), and results are committed in id
 * order.  Scores depend only on (seed, id).  Hence the trajectory depends on
 * (configuration, seed, W) only, not on the number or the speed of workers;
 * W = 1 is the sequential reference loop. */
#ifndef TCET_SEARCH_H
#define TCET_SEARCH_H

#include "common/checkpoint.h"
#include "common/config.h"
#include "master/transport.h"

/* The in-process scorer (worker/task.h), used only through a pointer. */
typedef struct tcet_worker tcet_worker;

typedef struct {
    const tcet_search_config *cfg; /* window resolved (> 0), save_dir = run dir */
    tcet_checkpoint *resume;       /* NULL: fresh run; consumed (arrays taken over) */
    int nworkers;                  /* MPI ranks 1..nworkers (or the transport's workers) */
    tcet_worker *local;            /* scores in-process when nworkers == 0 */
    const char *backend; /* the backend the workers resolved ("cpu", "cuda"): stored in checkpoints */
    const tcet_transport *transport; /* NULL: MPI */
} tcet_master_args;

/* Returns 0 (finished), TCET_EXIT_INTERRUPTED (checkpoint written) or an error. */
int tcet_master_run(const tcet_master_args *args);

#endif
