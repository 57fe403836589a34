/* How the master reaches its workers: a small interface so that the master
 * loop (search.c) does not depend on MPI directly.  Production runs use MPI
 * (ranks 1..nworkers, transport_mpi.c); tests/perf/master_sim.c plugs in
 * simulated workers to measure how many workers one master keeps busy.
 *
 * Messages are the byte strings of common/msg.h, tagged TCET_TAG_*. */
#ifndef TCET_TRANSPORT_H
#define TCET_TRANSPORT_H

#include <stddef.h>

#include "common/mpi_util.h"

typedef struct tcet_transport tcet_transport;
struct tcet_transport {
    int nworkers;
    /* Deliver len bytes to worker w (0-based).  Completes without waiting for
     * the worker to act on it. */
    void (*send)(tcet_transport *t, int w, int tag, const void *p, size_t len);
    /* If a message from a worker is pending: receive it into *buf (grown as
     * needed, *cap its size), set *len, *tag, *from (0-based worker; -1 if
     * not from a worker) and return 1; else return 0 at once. */
    int (*poll)(tcet_transport *t, unsigned char **buf, size_t *cap, size_t *len, int *tag, int *from);
    /* Nothing happened in the last round of the master loop: wait a little
     * (tcet_idle_wait's schedule) without spinning. */
    void (*idle)(tcet_transport *t, tcet_idle *w);
    /* End every process of the job now with this exit code (does not return). */
    void (*abort)(tcet_transport *t, int code);
    void *ctx;
};

/* Workers are MPI ranks 1..nworkers of MPI_COMM_WORLD. */
void tcet_transport_mpi(tcet_transport *t, int nworkers);

#endif
