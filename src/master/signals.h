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
/* How many further TERM/INT/USR1 arrived after the first one (they are noted,
 * not acted on, while the final checkpoint is written). */
int tcet_signals_further(void);
/* The final checkpoint is on disk: from now on a TERM or INT ends the process
 * at once with `exit_code` (e.g. while it waits for busy workers). */
void tcet_signals_sealed(int exit_code);
/* Ranks started by a launcher (mpirun's daemon, slurmstepd) never outlive
 * it: when it dies, rank 0 gets SIGTERM (a stop request: it writes its
 * checkpoint) and the workers SIGKILL.  Not for a single rank started by
 * hand (its parent is a shell that may legitimately go away, e.g. nohup). */
void tcet_signals_follow_launcher(int rank);
/* 1 when the launcher recorded above has died. */
int tcet_signals_launcher_gone(void);
/* The open search.log: the SIGTERM handler writes the launcher's death there
 * at once (the MPI runtime may end the process right after). */
void tcet_signals_log_fd(int fd);
/* 1 when that line was written. */
int tcet_signals_launcher_noted(void);

#endif
