/* Backend selection: --backend auto|cpu|cuda. */
#include "backend.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"

#ifdef TCET_HAVE_CUDA
#include "kernels/cuda/backend_cuda.h"
#endif

const char *tcet_backends_compiled(void)
{
#ifdef TCET_HAVE_CUDA
    return "cpu cuda";
#else
    return "cpu";
#endif
}

int tcet_backend_bind_thread(tcet_backend *be)
{
#ifdef TCET_HAVE_CUDA
    if (tcet_backend_is_cuda(be)) return tcet_cuda_bind_thread(be);
#else
    (void)be;
#endif
    return 0;
}

int tcet_backend_create(const char *which, int local_rank, int threads, tcet_backend **out)
{
    if (!which || !*which) which = "auto";
    if (strcmp(which, "auto") && strcmp(which, "cpu") && strcmp(which, "cuda"))
        return TCET_FAIL(TCET_ERR_USAGE, "--backend must be auto, cpu or cuda, not '%s'", which);
#ifdef TCET_HAVE_CUDA
    if (strcmp(which, "cpu")) {
        if (tcet_cuda_device_count() > 0) {
            int rc = tcet_backend_cuda_create(local_rank, out);
            if (rc == 0 || !strcmp(which, "cuda")) return rc;
            /* auto: a visible but unusable GPU (exclusive-process mode and
             * taken, no kernel image for its architecture) means the CPU */
            fprintf(stderr, "tcet: notice: the visible GPU is not usable (%s); using the CPU backend\n",
                    tcet_error_message());
            tcet_error_clear();
        }
        if (!strcmp(which, "cuda"))
            fprintf(stderr, "tcet: notice: --backend cuda but no usable GPU is visible "
                            "(check CUDA_VISIBLE_DEVICES and the driver); using the CPU backend\n");
    }
#else
    if (!strcmp(which, "cuda"))
        fprintf(stderr, "tcet: notice: this tcet was built without CUDA (tcet --version lists the "
                        "backends); using the CPU backend\n");
#endif
    *out = tcet_backend_cpu_create(threads);
    return *out ? 0 : tcet_trace(tcet_error_code(), __FILE__, __LINE__, "CPU backend");
}
