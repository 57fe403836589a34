/* Simulated workers behind the master's transport (master/transport.h).
 *
 * Each virtual worker takes the task batches it is sent in order and spends
 * `delay_s` (times a per-candidate factor in [1 - jitter, 1 + jitter], keyed
 * by the candidate id) on each candidate; a batch's result
 * message is ready when its last candidate is done, like a real worker's.
 * The score is the Params proxy (reference parameters of the scoring
 * network), so a simulated run commits exactly what `tcet search --proxy
 * params` commits with the same configuration and window.
 *
 * Time is virtual: the master thread's CPU time plus the waits it chose when
 * idle (master_sim.c), so the figures model a master with a core of its own
 * and do not depend on what else loads the machine.
 *
 * Used by tests/perf/master_throughput.c (how many workers one master keeps
 * busy) and tests/unit/test_master_sim.c (trajectories do not depend on the
 * number or the speed of the workers). */
#ifndef TCET_MASTER_SIM_H
#define TCET_MASTER_SIM_H

#include "master/transport.h"

typedef struct tcet_sim tcet_sim;

/* classes/res: the scoring network's head and input size (as the run's). */
tcet_sim *tcet_sim_create(int nworkers, double delay_s, double jitter, int classes, int res, tcet_transport *t);
void tcet_sim_destroy(tcet_sim *s);

typedef struct {
    double first_task, last_result; /* virtual seconds */
    double busy_s;                  /* summed over workers: time spent on candidates */
    double sim_cpu_s;               /* CPU time spent inside the simulator itself */
    unsigned long long tasks, messages;
} tcet_sim_stats;
void tcet_sim_stats_get(const tcet_sim *s, tcet_sim_stats *out);

#endif
