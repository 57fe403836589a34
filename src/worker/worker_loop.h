/* A worker rank: receive task batches from rank 0, score them on the lanes
 * (worker/lanes.h), send the results back; on STOP, no lane starts another
 * candidate. */
#ifndef TCET_WORKER_LOOP_H
#define TCET_WORKER_LOOP_H

#include "worker/lanes.h"

/* The receive/score/reply loop, called by the MPI thread.  Returns 0 after
 * a STOP from the master. */
int tcet_worker_loop(tcet_lanes *lanes);

#endif
