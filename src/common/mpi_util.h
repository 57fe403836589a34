/* MPI start-up helpers shared by the commands that run under mpirun/srun. */
#ifndef TCET_MPI_UTIL_H
#define TCET_MPI_UTIL_H

#include <stddef.h>
#include "common/clock.h" /* tcet_now, for the polling loops */

typedef struct {
    int rank, size;
    int local_rank, local_size; /* within the node (MPI_COMM_TYPE_SHARED) */
    int we_initialized;         /* 1 if tcet_mpi_init called MPI_Init */
} tcet_mpi;

/* MPI_Init (unless already initialised), rank/size and the node-local rank. */
void tcet_mpi_init(tcet_mpi *m);
/* MPI_Finalize if tcet_mpi_init initialised MPI. */
void tcet_mpi_finalize(tcet_mpi *m);
/* Broadcast a status code and a text from rank 0 (text is malloc'd on the
 * other ranks; NULL when len 0). */
void tcet_mpi_bcast_text(int *code, char **text);
/* Sleep about `us` microseconds (the master's and idle workers' polling wait). */
void tcet_sleep_us(long us);
/* Waiting for messages without spinning: after activity the first polls
 * sleep ~10 us (so that a quick reply is seen quickly), then the sleep
 * doubles up to 1 ms.  Never a busy loop: the caller always sleeps. */
typedef struct { int idle; } tcet_idle;
void tcet_idle_wait(tcet_idle *w);
/* The schedule of tcet_idle_wait without the wait: the next sleep in
 * microseconds (0: a yield), advancing w. */
long tcet_idle_next_us(tcet_idle *w);
static inline void tcet_idle_reset(tcet_idle *w) { w->idle = 0; }

#endif
