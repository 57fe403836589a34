/* Placeholder: the CUDA backend lands with issue 5. */
#include "kernels/backend.h"
#include "common/error.h"

int tcet_cuda_device_count(void) { return 0; }
int tcet_backend_cuda_create(int local_rank, tcet_backend **out)
{
    return TCET_FAIL(TCET_ERR_BACKEND, "CUDA backend not built yet");
}
