/* Which GPU each worker rank scores on, for any layout of ranks over nodes
 * (docs/jobs.md, "Layouts and GPU binding").
 *
 * Rank 0 is the master and scores nothing when there are workers.  The
 * workers of a node are numbered 0, 1, ... in rank order (their node-local
 * worker index, which skips the master where it shares their node); worker i
 * takes the first GPU, in the order CUDA numbers its visible devices starting
 * at position i, that no lower-numbered worker of the node has taken (by
 * UUID).  That serves both common layouts: every rank sees all GPUs of the
 * node (worker i gets device i), or each rank sees only its own
 * (srun --gpus-per-task=1: each takes its one device).
 *
 * Refused (TCET_ERR_BACKEND, naming the ranks): two workers on one GPU
 * (start one worker rank per GPU and use --lanes K for more candidates at
 * once on it; TCET_ALLOW_GPU_SHARING=1 allows it), and a worker without a GPU
 * while a GPU of the job is idle (a layout that leaves a worker on the CPU,
 * a hundred times slower, next to an unused GPU). */
#ifndef TCET_BINDING_H
#define TCET_BINDING_H

#include <stddef.h>

#include "common/mpi_util.h"
#include "kernels/backend.h"

#define TCET_BIND_MAX_GPUS 16
#define TCET_BIND_NODE_LEN 256

/* What one rank reports. */
typedef struct {
    char node[TCET_BIND_NODE_LEN];
    int ngpus;
    char gpu[TCET_BIND_MAX_GPUS][TCET_GPU_UUID_LEN];
} tcet_bind_in;

/* What it is assigned. */
typedef struct {
    int worker;       /* 0: the master (scores nothing when there are workers) */
    int local_index;  /* node-local worker index, -1 for the master */
    int device;       /* CUDA device number in the rank's own numbering, -1: none */
} tcet_bind_out;

/* The plan for nranks ranks (rank 0 = master when nranks > 1).  Returns 0,
 * or TCET_ERR_BACKEND with the reason in err.  want_gpu: 0 for --backend cpu
 * (every device -1, nothing refused). */
int tcet_bind_plan(int nranks, const tcet_bind_in *in, int want_gpu, int allow_sharing, tcet_bind_out *out,
                   char *err, size_t cap);

/* Collective over MPI_COMM_WORLD: every rank reports its node and GPUs, rank 0
 * plans, every rank receives its assignment and the same return code (with
 * the error message set on every rank).  On rank 0, *summary (malloc'd, may
 * be NULL) holds one line per worker: node, local index, device and UUID.
 * Test hooks: TCET_TEST_NODES="a,a,b" names each rank's node, and
 * TCET_TEST_GPUS="a=G0+G1;b=G2" the GPUs each node's ranks see (simulated:
 * the planned device is reported, the scoring stays on the CPU backend). */
int tcet_bind_workers(const tcet_mpi *mpi, const char *backend, tcet_bind_out *mine, char **summary);

#endif
