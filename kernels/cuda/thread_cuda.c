/* Binding a CUDA backend to a host thread (worker lanes, src/worker/lanes.h). */
#include "kernels/cuda/backend_cuda.h"
#include "kernels/cuda/cuda_internal.h"

int tcet_cuda_bind_thread(tcet_backend *be)
{
    /* The runtime's current device is per host thread; the backend's stream
     * and handles belong to cu->device, so every thread that enqueues work
     * on them must select it first. */
    CHECK_CUDA(cudaSetDevice(tcet_cuda_of(be)->device));
    return 0;
}
