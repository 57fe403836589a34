/* fp16 (TCET_F16) where it does not exist: the CPU backend refuses it in
 * every op with TCET_ERR_BACKEND (and writes nothing), an F16 network cannot
 * be built on it, and an F16 network (on a stand-in backend that claims
 * has_f16) holds exactly the half-rounded parameters and input, has no
 * gradient buffers, and refuses train-mode forwards, backward and the loss
 * with TCET_ERR_USAGE.  The latency filter builds its network in float32 on
 * the CPU and in fp16 where the backend has it.  (The fp16 arithmetic
 * itself is checked on a GPU: tests/gpu/test_cuda_f16.c.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "common/arch.h"
#include "common/error.h"
#include "common/half.h"
#include "common/plan.h"
#include "common/rng.h"
#include "kernels/backend.h"
#include "worker/latency.h"
#include "worker/net.h"

static tcet_backend *cpu;
/* the CPU backend claiming fp16: its ops still refuse TCET_F16, which is
 * what the net-level checks below need (they must fail before any op) */
static tcet_backend fake;

static int setup(void **s)
{
    (void)s;
    cpu = tcet_backend_cpu_create(1);
    fake = *cpu;
    fake.has_f16 = 1;
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    cpu->destroy(cpu);
    return 0;
}

/* The call returned TCET_ERR_BACKEND with a message about fp16. */
static void expect_backend_refusal(int rc, const char *op)
{
    if (rc != TCET_ERR_BACKEND) fprintf(stderr, "%s: rc %d, message '%s'\n", op, rc, tcet_error_message());
    assert_int_equal(rc, TCET_ERR_BACKEND);
    assert_non_null(strstr(tcet_error_message(), "fp16"));
    tcet_error_clear();
}

#define NBUF 8
#define BUFN 4096   /* floats per buffer: room for every shape below */

static void test_cpu_ops_refuse_f16(void **s)
{
    (void)s;
    assert_int_equal(cpu->has_f16, 0);
    float *b[NBUF];
    for (int i = 0; i < NBUF; i++) {
        b[i] = cpu->alloc(cpu, BUFN * sizeof(float));
        assert_non_null(b[i]);
        for (int j = 0; j < BUFN; j++) b[i][j] = 0.5f;   /* sentinel (also valid running var) */
    }
    const int dt = TCET_F16;
    tcet_conv_desc d = {.n = 2, .cin = 4, .cout = 4, .k = 3, .stride = 1, .pad = 1, .groups = 1,
                        .h = 8, .w = 8, .ho = 8, .wo = 8};
    double sum = 0, std = 0;
    expect_backend_refusal(cpu->conv_fwd(cpu, dt, &d, b[0], b[1], b[2], b[3]), "conv_fwd");
    expect_backend_refusal(cpu->conv_bwd_data(cpu, dt, &d, b[1], b[0], b[3]), "conv_bwd_data");
    expect_backend_refusal(cpu->conv_bwd_filter(cpu, dt, &d, b[0], b[3], b[1], b[2]), "conv_bwd_filter");
    for (int train = 0; train <= 1; train++) {
        expect_backend_refusal(cpu->bn_fwd(cpu, dt, train, 2, 4, 64, 1e-3, 0.1, b[0], b[1], b[2], b[4],
                                           b[5], 0, b[3], b[6], b[7]), "bn_fwd");
        expect_backend_refusal(cpu->bn_relu_fwd(cpu, dt, train, 2, 4, 64, 1e-3, 0.1, b[0], b[1], b[2],
                                                b[4], b[5], 0, b[3], b[3], b[6], b[7]), "bn_relu_fwd");
    }
    expect_backend_refusal(cpu->bn_bwd(cpu, dt, 2, 4, 64, b[0], b[1], b[2], b[4], b[5], b[3], b[6], b[7]),
                           "bn_bwd");
    expect_backend_refusal(cpu->bn_relu_bwd(cpu, dt, 2, 4, 64, b[0], b[1], b[2], b[4], b[4], b[5], b[3],
                                            b[6], b[7]), "bn_relu_bwd");
    expect_backend_refusal(cpu->relu_fwd(cpu, dt, 512, b[0], b[3]), "relu_fwd");
    expect_backend_refusal(cpu->relu_bwd(cpu, dt, 512, b[0], b[1], b[3]), "relu_bwd");
    expect_backend_refusal(cpu->add(cpu, dt, 512, b[0], b[1], b[3]), "add");
    expect_backend_refusal(cpu->gap_fwd(cpu, dt, 2, 4, 64, b[0], b[3]), "gap_fwd");
    expect_backend_refusal(cpu->gap_bwd(cpu, dt, 2, 4, 64, b[0], b[3]), "gap_bwd");
    expect_backend_refusal(cpu->linear_fwd(cpu, dt, 2, 16, 4, b[0], b[1], b[2], b[3]), "linear_fwd");
    expect_backend_refusal(cpu->linear_bwd(cpu, dt, 2, 16, 4, b[0], b[1], b[2], b[3], b[6], b[7]),
                           "linear_bwd");
    expect_backend_refusal(cpu->saliency_stats(cpu, dt, 512, b[0], b[1], &sum, &std), "saliency_stats");
    assert_true(sum == 0 && std == 0);
    /* nothing was computed: every output buffer still holds the sentinel */
    for (int i = 0; i < NBUF; i++)
        for (int j = 0; j < BUFN; j++) assert_true(b[i][j] == 0.5f);
    /* an unknown dtype is a usage error, not a backend limitation */
    assert_int_equal(cpu->relu_fwd(cpu, 7, 512, b[0], b[3]), TCET_ERR_USAGE);
    tcet_error_clear();
    for (int i = 0; i < NBUF; i++) cpu->release(cpu, b[i]);
}

#define SMALL "SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,24,2,16,1)SuperResK1K3K1(24,32,1,16,1)" \
              "SuperConvK1BNRELU(32,64,1,1)"

static void build(tcet_net *net, tcet_backend *be, int dtype, int batch)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(SMALL, &a, NULL), 0);
    int rc = tcet_net_build_arch_res(net, be, &a, 1, 1, 10, 16, dtype, batch);
    if (rc) tcet_error_print();
    assert_int_equal(rc, 0);
}

static void test_f16_net_needs_has_f16(void **s)
{
    (void)s;
    tcet_net net;
    memset(&net, 0, sizeof net);
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(SMALL, &a, NULL), 0);
    assert_int_equal(tcet_net_build_arch_res(&net, cpu, &a, 1, 1, 10, 16, TCET_F16, 2), TCET_ERR_BACKEND);
    assert_non_null(strstr(tcet_error_message(), "fp16"));
    tcet_error_clear();
    assert_int_equal(tcet_net_build_arch_res(&net, cpu, &a, 1, 1, 10, 16, 9, 2), TCET_ERR_USAGE);
    tcet_error_clear();
    tcet_net_free(&net);
}

/* Host float copy of parameter i of a net. */
static float *param_host(tcet_net *net, int i, size_t *count)
{
    void *dev;
    assert_int_equal(tcet_net_param(net, i, count, &dev, NULL, 0), 0);
    const double *v;
    assert_int_equal(tcet_net_download_f64(net, dev, *count, &v), 0);
    float *f = malloc(*count * sizeof(float) + 1);
    for (size_t j = 0; j < *count; j++) f[j] = (float)v[j];
    return f;
}

static void test_f16_net_values_and_refusals(void **s)
{
    (void)s;
    tcet_net h, f;
    memset(&h, 0, sizeof h);
    memset(&f, 0, sizeof f);
    const int batch = 2;
    build(&f, cpu, TCET_F32, batch);
    build(&h, &fake, TCET_F16, batch);
    assert_int_equal(h.dtype, TCET_F16);
    /* half storage and no gradients: well under half of the float32 arena */
    printf("arena: f32 %zu bytes, f16 %zu bytes\n", tcet_net_arena_bytes(&f), tcet_net_arena_bytes(&h));
    assert_true(tcet_net_arena_bytes(&h) < tcet_net_arena_bytes(&f) / 2);
    assert_null(h.dlogits);
    assert_null(h.grad_a);
    assert_null(h.grad_c);
    for (int i = 0; i < h.nops; i++) {
        assert_null(h.ops[i].gw);
        assert_null(h.ops[i].save_mean);
        assert_non_null(h.ops[i].y);
    }

    /* the same draws; the fp16 net holds each value rounded to half */
    tcet_rng r1, r2;
    tcet_rng_seed(&r1, 5, TCET_STREAM_AUX, 0);
    tcet_rng_seed(&r2, 5, TCET_STREAM_AUX, 0);
    assert_int_equal(tcet_net_init_default(&f, &r1), 0);
    assert_int_equal(tcet_net_init_default(&h, &r2), 0);
    int np = tcet_net_num_params(&f), rounded = 0;
    assert_int_equal(tcet_net_num_params(&h), np);
    for (int i = 0; i < np; i++) {
        size_t cf, ch;
        float *vf = param_host(&f, i, &cf), *vh = param_host(&h, i, &ch);
        assert_int_equal(cf, ch);
        for (size_t j = 0; j < cf; j++) {
            float want = tcet_half_to_float(tcet_half_from_float(vf[j]));
            assert_true(vh[j] == want);
            rounded += vh[j] != vf[j];
        }
        free(vf);
        free(vh);
    }
    assert_true(rounded > 0);   /* the uniform draws are not half values */

    /* copy_params from a float32 net rounds the same way */
    tcet_rng_seed(&r1, 6, TCET_STREAM_AUX, 0);
    assert_int_equal(tcet_net_init_default(&f, &r1), 0);
    assert_int_equal(tcet_net_copy_params(&h, &f, 0), 0);
    size_t c0;
    float *w32 = param_host(&f, 0, &c0), *w16 = param_host(&h, 0, &c0);
    for (size_t j = 0; j < c0; j++) assert_true(w16[j] == tcet_half_to_float(tcet_half_from_float(w32[j])));
    free(w32);
    free(w16);

    /* input: converted with round to nearest even (values with known halves) */
    size_t nx = (size_t)batch * 3 * 16 * 16;
    float *x = malloc(nx * sizeof(float));
    for (size_t i = 0; i < nx; i++) x[i] = (i % 3 == 0) ? 1.0f / 3.0f : (i % 3 == 1) ? 65520.0f : 0x1p-25f;
    assert_int_equal(tcet_net_set_input(&h, x), 0);
    const double *xv;
    assert_int_equal(tcet_net_download_f64(&h, h.x, nx, &xv), 0);
    for (size_t i = 0; i < nx; i++) {
        if (i % 3 == 0) assert_true(xv[i] == (double)tcet_half_to_float(0x3555));
        else if (i % 3 == 1) assert_true(isinf(xv[i]) && xv[i] > 0);
        else assert_true(xv[i] == 0.0);
    }
    free(x);

    /* forward only, eval mode only */
    assert_int_equal(tcet_net_forward(&h, 1, 0), TCET_ERR_USAGE);
    assert_non_null(strstr(tcet_error_message(), "fp16"));
    tcet_error_clear();
    assert_int_equal(tcet_net_backward(&h, 1), TCET_ERR_USAGE);
    tcet_error_clear();
    double loss;
    assert_int_equal(tcet_net_xent(&h, &loss), TCET_ERR_USAGE);
    tcet_error_clear();
    assert_int_equal(tcet_net_dlogits_ones(&h), TCET_ERR_USAGE);
    tcet_error_clear();
    /* an eval forward reaches the ops, which this backend refuses */
    expect_backend_refusal(tcet_net_forward(&h, 0, 0), "eval forward");

    tcet_net_free(&h);
    tcet_net_free(&f);
}

/* Latency: float32 on the CPU (the test_latency timings rely on it), fp16
 * chosen where the backend says it has it (here the stand-in, whose ops then
 * refuse: the error comes back, no latency). */
static void test_latency_dtype_choice(void **s)
{
    (void)s;
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(SMALL, &a, NULL), 0);
    tcet_latency_cache c;
    memset(&c, 0, sizeof c);
    double lat = -1;
    assert_int_equal(tcet_measure_latency(&c, cpu, &a, 2, 16, 10, 3, &lat), 0);
    assert_int_equal(c.net.dtype, TCET_F32);
    assert_true(lat > 0 && isfinite(lat));
    tcet_latency_release(&c);
    lat = -1;
    assert_int_equal(tcet_measure_latency(&c, &fake, &a, 2, 16, 10, 3, &lat), TCET_ERR_BACKEND);
    tcet_error_clear();
    assert_int_equal(c.net.dtype, TCET_F16);
    assert_true(lat == -1);
    tcet_latency_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_ops_refuse_f16),
        cmocka_unit_test(test_f16_net_needs_has_f16),
        cmocka_unit_test(test_f16_net_values_and_refusals),
        cmocka_unit_test(test_latency_dtype_choice),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
