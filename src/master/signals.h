/* Signal policy of `tcet search` (docs/search.md, "Stopping").
 * Rank 0 turns SIGTERM, SIGINT and SIGUSR1 into a stop request (checkpoint,
 * stop the workers, exit 75); workers ignore them, because SLURM and mpirun
 * deliver signals to every task and only the master may act on them. */
#ifndef TCET_SIGNALS_H
#define TCET_SIGNALS_H

void tcet_signals_master(void);
void tcet_signals_worker(void);
/* The signal number that requested a stop, or 0. */
int tcet_stop_signal(void);

#endif
