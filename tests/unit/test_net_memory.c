/* A worker scoring many candidates must reach a steady memory footprint:
 * score 200 random small candidates with T-CET (SNIP and Synflow nets), then
 * the same 200 again; in the second pass neither the scorer's arenas nor the
 * CPU backend's scratch may grow, and the first pass grows only rarely. */
#include <stdio.h>
#include <string.h>

#include "test_support.h"

#include "common/arch.h"
#include "common/rng.h"
#include "kernels/cpu/backend_cpu.h"
#include "worker/proxies.h"
#include "worker/scorer.h"

#define NCAND 200

static void random_arch(tcet_rng *r, tcet_arch *a)
{
    static const char *const fam[] = {"SuperConvK3BNRELU", "SuperResK3K3", "SuperResK1K3K1", "SuperResIDWE2K3"};
    char s[1024];
    size_t o = 0;
    int in = 3, nb = 1 + (int)tcet_rng_below(r, 3);
    for (int b = 0; b < nb; b++) {
        int f = b == 0 ? 0 : (int)tcet_rng_below(r, 4);
        int out = 8 * (1 + (int)tcet_rng_below(r, 4));
        int stride = 1 + (int)tcet_rng_below(r, 2);
        int L = 1 + (int)tcet_rng_below(r, 2);
        if (f == 0)
            o += (size_t)snprintf(s + o, sizeof s - o, "%s(%d,%d,%d,%d)", fam[f], in, out, stride, L);
        else
            o += (size_t)snprintf(s + o, sizeof s - o, "%s(%d,%d,%d,%d,%d)", fam[f], in, out, stride,
                                  8 * (1 + (int)tcet_rng_below(r, 2)), L);
        in = out;
    }
    assert_int_equal(tcet_arch_parse(s, a, NULL), 0);
}

static void run(int proxy)
{
    tcet_backend *be = tcet_backend_cpu_create(1);
    tcet_score_config cfg = {.proxy = proxy, .mode = TCET_MODE_LOG, .batch_size = 8, .resolution = 16,
                             .num_classes = 10, .gamma = 1e-2, .seed = 5, .zico_batches = 2};
    tcet_scorer *sc;
    assert_int_equal(tcet_scorer_create(&cfg, be, &sc), 0);
    static tcet_arch archs[NCAND];
    tcet_rng r;
    tcet_rng_seed(&r, 99, TCET_STREAM_AUX, 0);
    for (int i = 0; i < NCAND; i++) random_arch(&r, &archs[i]);
    size_t prev = 0;
    int grows = 0;
    tcet_score_result res;
    for (int i = 0; i < NCAND; i++) {
        tcet_scorer_score(sc, (uint64_t)i, &archs[i], &res);
        assert_int_not_equal(res.r.status, TCET_CAND_FAILED);
        size_t m = tcet_scorer_memory(sc);
        assert_true(m >= prev); /* grow-only */
        grows += m > prev;
        prev = m;
    }
    size_t mem = tcet_scorer_memory(sc), scratch = tcet_cpu_scratch_capacity(be);
    printf("%s: %d arena growths over %d candidates, %zu bytes arena, %zu bytes scratch\n",
           tcet_proxy_name(proxy), grows, NCAND, mem, scratch);
    assert_true(grows <= 20);
    for (int i = 0; i < NCAND; i++) {
        tcet_scorer_score(sc, (uint64_t)i, &archs[i], &res);
        assert_true(tcet_scorer_memory(sc) == mem);
        assert_true(tcet_cpu_scratch_capacity(be) == scratch);
    }
    tcet_scorer_destroy(sc);
    be->destroy(be);
}

static void test_snip_memory_steady(void **state) { run(TCET_PROXY_TCET_SNIP); }
static void test_synflow_memory_steady(void **state) { run(TCET_PROXY_TCET_SYNFLOW); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snip_memory_steady),
        cmocka_unit_test(test_synflow_memory_steady),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
