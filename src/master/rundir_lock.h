/* One tcet per run directory (docs/search.md, "One run per directory").
 * The master holds an fcntl write lock on DIR/.lock for the whole run, so a
 * second tcet on the same directory (e.g. a SLURM requeue while the old job
 * is still alive) is refused instead of resuming the same files. */
#ifndef TCET_RUNDIR_LOCK_H
#define TCET_RUNDIR_LOCK_H

/* Create DIR (mkdir -p) and lock DIR/.lock, writing our pid into it.
 * Returns 0 with *fd the descriptor to keep open for the run, or
 * TCET_ERR_CHECKPOINT when another process holds it (message names its pid),
 * TCET_ERR_RUNTIME when the directory or file cannot be created. */
int tcet_rundir_lock(const char *dir, int *fd);
/* Release (closes the descriptor; -1 is ignored). */
void tcet_rundir_unlock(int fd);

#endif
