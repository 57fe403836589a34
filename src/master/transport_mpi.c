/* The master's transport over MPI: worker w is rank w + 1. */
#include "master/transport.h"

#include <mpi.h>
#include <stdlib.h>

#include "common/check.h"
#include "common/error.h"

static void mpi_send(tcet_transport *t, int w, int tag, const void *p, size_t len)
{
    (void)t;
    /* A worker never blocks on the master (it answers with MPI_Isend and
     * polls), so this completes as soon as it looks for messages. */
    CHECK_MPI(MPI_Send(p, (int)len, MPI_BYTE, w + 1, tag, MPI_COMM_WORLD));
}

static int mpi_poll(tcet_transport *t, unsigned char **buf, size_t *cap, size_t *len, int *tag, int *from)
{
    int flag = 0;
    MPI_Status st;
    CHECK_MPI(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
    if (!flag) return 0;
    int count = 0;
    CHECK_MPI(MPI_Get_count(&st, MPI_BYTE, &count));
    if ((size_t)count > *cap || !*buf) {
        *cap = (size_t)count + 4096;
        *buf = xrealloc(*buf, *cap);
    }
    CHECK_MPI(MPI_Recv(*buf, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    *len = (size_t)count;
    *tag = st.MPI_TAG;
    *from = st.MPI_SOURCE >= 1 && st.MPI_SOURCE <= t->nworkers ? st.MPI_SOURCE - 1 : -1;
    return 1;
}

static void mpi_idle(tcet_transport *t, tcet_idle *w)
{
    (void)t;
    tcet_idle_wait(w);
}

static void mpi_abort(tcet_transport *t, int code)
{
    (void)t;
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code); /* MPI_Abort does not return; keep the contract if it does */
}

void tcet_transport_mpi(tcet_transport *t, int nworkers)
{
    t->nworkers = nworkers;
    t->send = mpi_send;
    t->poll = mpi_poll;
    t->idle = mpi_idle;
    t->abort = mpi_abort;
    t->ctx = NULL;
}
