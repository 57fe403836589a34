/* Backend selection: --backend auto|cpu|cuda. */
#include "backend.h"

#include <stdatomic.h>
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

int tcet_gpu_uuids(char (*uuid)[TCET_GPU_UUID_LEN], int max)
{
#ifdef TCET_HAVE_CUDA
    return tcet_cuda_uuids(uuid, max);
#else
    (void)uuid;
    (void)max;
    return 0;
#endif
}

int tcet_backend_bind_thread(tcet_backend *be) { return be->bind_thread ? be->bind_thread(be) : 0; }

int tcet_backend_create(const char *which, int device, int threads, tcet_backend **out)
{
    if (!which || !*which) which = "auto";
    if (strcmp(which, "auto") && strcmp(which, "cpu") && strcmp(which, "cuda"))
        return TCET_FAIL(TCET_ERR_USAGE, "--backend must be auto, cpu or cuda, not '%s'", which);
#ifdef TCET_HAVE_CUDA
    if (strcmp(which, "cpu")) {
        char why[512] = "";
        if (tcet_cuda_device_count_why(why, sizeof why) > 0) {
            int rc = tcet_backend_cuda_create(device, out);
            if (rc == 0 || !strcmp(which, "cuda")) return rc;
            /* auto: a visible but unusable GPU (exclusive-process mode and
             * taken, no kernel image for its architecture) means the CPU */
            fprintf(stderr, "tcet: notice: the visible GPU is not usable (%s); using the CPU backend\n",
                    tcet_error_message());
            tcet_error_clear();
        } else if (!strcmp(which, "cuda")) {
            /* Asked for the GPU: a job that landed on a node without one must
             * fail, not run a hundred times slower on the CPU. */
            return TCET_FAIL(TCET_ERR_BACKEND, "--backend cuda: no usable GPU: %s (hint: run on a GPU node, check "
                             "nvidia-smi and CUDA_VISIBLE_DEVICES, or pass --backend auto to fall back to the CPU)",
                             why);
        } else {
            static atomic_int said = 0; /* once per process, not once per lane */
            if (!atomic_exchange(&said, 1))
                fprintf(stderr, "tcet: notice: --backend auto: no usable GPU (%s); using the CPU backend\n", why);
        }
    }
#else
    (void)device;
    if (!strcmp(which, "cuda"))
        return TCET_FAIL(TCET_ERR_BACKEND, "--backend cuda: this tcet was built without CUDA (tcet --version lists "
                         "the backends; hint: rebuild with the CUDA toolkit, -DTCET_CUDA=ON, or pass --backend auto "
                         "or cpu)");
#endif
    *out = tcet_backend_cpu_create(threads);
    return *out ? 0 : tcet_trace(tcet_error_code(), __FILE__, __LINE__, "CPU backend");
}
