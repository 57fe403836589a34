/* Worker lanes on the GPU (src/worker/lanes.h): K lanes = K CUDA backends
 * (streams, cuDNN/cuBLAS handles, workspaces) on one device, scoring
 * concurrently.  Checked:
 *   - every lane count gives results bit-identical to one lane (the streams
 *     do not interfere: no shared buffer, deterministic algorithms only);
 *   - one lane on the GPU agrees with the CPU backend: T-CET SNIP 1e-3,
 *     T-CET Synflow 1e-6 relative.  Looser than the golden tolerances because
 *     these random networks are not screened for activations within float32
 *     round-off of 0, whose NASWOT code a GPU summation order may flip (one
 *     flipped code moves one Gram entry by 1 out of ~1e5);
 *   - a lane thread that did not create its backend can use it (the device is
 *     bound per thread: tcet_backend_bind_thread);
 *   - the throughput with 1, 2 and 4 lanes is printed (no assertion: timing).
 * Skipped (77) without a GPU or without CUDA in the build;
 * TCET_GPU_TESTS_ON_CPU=1 runs it with the CPU backend in the GPU's place (a
 * self-check of this harness on machines without a GPU). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_support.h"

#include "common/error.h"
#include "worker/lanes.h"

#ifdef TCET_HAVE_CUDA
#include "kernels/cuda/backend_cuda.h"

#define ZENNET_1M                                                                                        \
    "SuperConvK3BNRELU(3,88,1,1)SuperResK1K7K1(88,120,1,16,1)SuperResK1K7K1(120,192,2,16,3)"            \
    "SuperResK1K5K1(192,224,1,24,4)SuperResK1K5K1(224,96,2,24,2)SuperResK1K3K1(96,168,2,40,3)"          \
    "SuperResK1K3K1(168,112,1,48,3)SuperConvK1BNRELU(112,512,1,1)"
static const char *const STRUCTS[] = {
    ZENNET_1M,
    "SuperConvK3BNRELU(3,16,1,1)SuperResK1K3K1(16,24,2,8,1)SuperConvK1BNRELU(24,48,1,1)",
    "SuperConvK3BNRELU(3,8,1,1)SuperResK5K5(8,16,1,8,2)SuperConvK1BNRELU(16,64,1,1)",
    "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE2K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
    "SuperConvK3BNRELU(3,12,1,1)SuperResK7K7(12,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
};
enum { NS = sizeof STRUCTS / sizeof STRUCTS[0], NT = 16 };

static const char *gpu_backend = "cuda";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static tcet_score_config score_cfg(int proxy)
{
    tcet_score_config c;
    memset(&c, 0, sizeof c);
    c.proxy = proxy;
    c.batch_size = 64;
    c.resolution = 32;
    c.num_classes = 100;
    c.gamma = 1e-2;
    c.seed = 3;
    c.zico_batches = 2;
    return c;
}

static void make_tasks(tcet_lane_task *t)
{
    for (int i = 0; i < NT; i++) {
        const char *s = STRUCTS[i % NS];
        t[i] = (tcet_lane_task){.id = (uint64_t)i, .structure = s, .len = (int)strlen(s)};
    }
}

static double run(const char *backend, int proxy, int k, tcet_cand_result *out)
{
    tcet_score_config c = score_cfg(proxy);
    tcet_lanes *p = NULL;
    int rc = tcet_lanes_create(k, backend, 0, 1, &c, NULL, &p);
    if (rc) tcet_error_print();
    assert_int_equal(rc, 0);
    tcet_lane_task t[NT];
    make_tasks(t);
    tcet_lanes_start(p, t, NT, out); /* warm-up: arenas, algorithm caches */
    while (!tcet_lanes_wait(p, 0.1)) {}
    double t0 = now_s();
    tcet_lanes_start(p, t, NT, out);
    while (!tcet_lanes_wait(p, 0.1)) {}
    double dt = now_s() - t0;
    tcet_lanes_destroy(p);
    for (int i = 0; i < NT; i++) {
        if (out[i].status != TCET_CAND_OK) print_message("task %d: %s\n", i, out[i].reason);
        assert_int_equal(out[i].status, TCET_CAND_OK);
    }
    return dt;
}

static void check_proxy(int proxy, double cpu_tol)
{
    tcet_cand_result one[NT], cpu[NT], many[NT];
    double t1 = run(gpu_backend, proxy, 1, one);
    print_message("%s: 1 lane  %7.2f candidates/s\n", tcet_proxy_name(proxy), NT / t1);
    for (int k = 2; k <= 4; k *= 2) {
        double tk = run(gpu_backend, proxy, k, many);
        print_message("%s: %d lanes %7.2f candidates/s (%.2fx)\n", tcet_proxy_name(proxy), k, NT / tk, t1 / tk);
        for (int i = 0; i < NT; i++) assert_memory_equal(&one[i].score, &many[i].score, sizeof(double));
    }
    run("cpu", proxy, 1, cpu);
    for (int i = 0; i < NT; i++) {
        double rel = fabs(one[i].score - cpu[i].score) / fmax(fabs(cpu[i].score), 1e-30);
        if (rel > cpu_tol)
            print_message("task %d: GPU %.10g CPU %.10g rel %.3g\n", i, one[i].score, cpu[i].score, rel);
        assert_true(rel <= cpu_tol);
    }
}

static void test_tcet_snip(void **s) { (void)s; check_proxy(TCET_PROXY_TCET_SNIP, 1e-3); }
static void test_tcet_synflow(void **s) { (void)s; check_proxy(TCET_PROXY_TCET_SYNFLOW, 1e-6); }

int main(void)
{
    if (getenv("TCET_GPU_TESTS_ON_CPU")) {
        gpu_backend = "cpu";
    } else if (tcet_cuda_device_count() == 0) {
        printf("SKIP: no CUDA device\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcet_snip),
        cmocka_unit_test(test_tcet_synflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    printf("SKIP: built without CUDA\n");
    return 77;
}
#endif
