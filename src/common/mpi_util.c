/* MPI start-up helpers. */
#include "common/mpi_util.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include "common/check.h"
#include "common/error.h"

void tcet_mpi_init(tcet_mpi *m)
{
    int inited = 0;
    memset(m, 0, sizeof *m);
    CHECK_MPI(MPI_Initialized(&inited));
    if (!inited) {
        /* Worker lanes are threads, but only this thread calls MPI. */
        int provided = MPI_THREAD_SINGLE;
        CHECK_MPI(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided));
        if (provided < MPI_THREAD_FUNNELED)
            tcet_die(__FILE__, __LINE__, "the MPI library offers no MPI_THREAD_FUNNELED support "
                     "(hint: use an MPI built with thread support, e.g. Debian's Open MPI)");
        m->we_initialized = 1;
    }
    CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &m->rank));
    CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &m->size));
    MPI_Comm node;
    CHECK_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, m->rank, MPI_INFO_NULL, &node));
    CHECK_MPI(MPI_Comm_rank(node, &m->local_rank));
    CHECK_MPI(MPI_Comm_size(node, &m->local_size));
    CHECK_MPI(MPI_Comm_free(&node));
}

void tcet_mpi_finalize(tcet_mpi *m)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (m->we_initialized && !fin) MPI_Finalize();
}

void tcet_mpi_bcast_text(int *code, char **text)
{
    int rank;
    CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    int hdr[2] = {*code, rank == 0 && *text ? (int)strlen(*text) + 1 : 0};
    CHECK_MPI(MPI_Bcast(hdr, 2, MPI_INT, 0, MPI_COMM_WORLD));
    *code = hdr[0];
    if (rank != 0) *text = hdr[1] ? xmalloc((size_t)hdr[1]) : NULL;
    if (hdr[1]) CHECK_MPI(MPI_Bcast(*text, hdr[1], MPI_CHAR, 0, MPI_COMM_WORLD));
}

void tcet_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

enum { TCET_IDLE_YIELDS = 64 };

long tcet_idle_next_us(tcet_idle *w)
{
    /* Right after activity a reply usually follows within microseconds:
     * yield (gives the core to any runnable rank) a bounded number of times. */
    if (w->idle < TCET_IDLE_YIELDS) {
        w->idle++;
        return 0;
    }
    int k = (w->idle - TCET_IDLE_YIELDS) / 4;
    long us = k >= 7 ? 1000 : 10L << k;
    if (us > 1000) us = 1000;
    w->idle++;
    return us;
}

void tcet_idle_wait(tcet_idle *w)
{
    static int slack_set = 0;
    if (!slack_set) { /* default timer slack (50 us) would dominate the short sleeps */
        prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
        slack_set = 1;
    }
    long us = tcet_idle_next_us(w);
    if (us == 0) sched_yield();
    else tcet_sleep_us(us);
}
