/* Worker lanes (src/worker/lanes.h): K threads, each with its own CPU
 * backend and scorer, give results bit-identical to scoring the same tasks
 * one after another on a single scorer (scores depend only on (seed, id)),
 * for every K and across reuse; a parse failure stays a per-task failure;
 * cancel stops taking tasks, returns a finished prefix and leaves the pool
 * reusable; out-of-range K is a usage error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "common/error.h"
#include "worker/lanes.h"

static const char *const STRUCTS[] = {
    "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
    "SuperConvK3BNRELU(3,16,1,1)SuperResK1K3K1(16,24,2,8,1)SuperConvK1BNRELU(24,48,1,1)",
    "SuperConvK3BNRELU(3,8,1,1)SuperResK5K5(8,16,1,8,2)SuperConvK1BNRELU(16,64,1,1)",
    "not a structure",
    "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE2K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
    "SuperConvK3BNRELU(3,12,1,1)SuperResK7K7(12,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
    "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,8,1,8,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,16,1,1)",
};
enum { NT = sizeof STRUCTS / sizeof STRUCTS[0] };

static tcet_score_config score_cfg(int proxy)
{
    tcet_score_config c;
    memset(&c, 0, sizeof c);
    c.proxy = proxy;
    c.batch_size = 8;
    c.resolution = 16;
    c.num_classes = 10;
    c.gamma = 1e-2;
    c.seed = 11;
    c.zico_batches = 2;
    return c;
}

static void make_tasks(tcet_lane_task *t)
{
    for (int i = 0; i < NT; i++)
        t[i] = (tcet_lane_task){.id = 100 + (uint64_t)i, .structure = STRUCTS[i], .len = (int)strlen(STRUCTS[i])};
}

/* The reference: one backend, one scorer, the tasks in order. */
static void sequential(int proxy, tcet_cand_result *out)
{
    tcet_score_config c = score_cfg(proxy);
    tcet_backend *be = tcet_backend_cpu_create(1);
    tcet_scorer *sc = NULL;
    assert_int_equal(tcet_scorer_create(&c, be, &sc), 0);
    tcet_worker w;
    tcet_worker_init(&w, sc, be, NULL);
    tcet_lane_task t[NT];
    make_tasks(t);
    for (int i = 0; i < NT; i++) tcet_worker_score_one(&w, t[i].id, t[i].structure, t[i].len, &out[i]);
    tcet_worker_free(&w);
    tcet_scorer_destroy(sc);
    be->destroy(be);
}

static void assert_same(const tcet_cand_result *a, const tcet_cand_result *b)
{
    for (int i = 0; i < NT; i++) {
        assert_int_equal(a[i].status, b[i].status);
        /* bit-identical, NaN included */
        assert_memory_equal(&a[i].score, &b[i].score, sizeof(double));
        assert_memory_equal(&a[i].raw, &b[i].raw, sizeof(double));
        assert_string_equal(a[i].reason, b[i].reason);
    }
}

static void check_proxy(int proxy)
{
    tcet_cand_result ref[NT];
    sequential(proxy, ref);
    assert_int_equal(ref[3].status, TCET_CAND_FAILED); /* "not a structure" */
    assert_non_null(strstr(ref[3].reason, "does not parse"));
    for (int i = 0; i < NT; i++)
        if (i != 3) assert_true(ref[i].status == TCET_CAND_OK && isfinite(ref[i].score));
    tcet_score_config c = score_cfg(proxy);
    tcet_lane_task t[NT];
    make_tasks(t);
    for (int k = 1; k <= 4; k++) {
        tcet_lanes *p = NULL;
        assert_int_equal(tcet_lanes_create(k, "cpu", 0, 1, &c, NULL, &p), 0);
        assert_int_equal(tcet_lanes_count(p), k);
        for (int rep = 0; rep < 2; rep++) { /* a pool is reused batch after batch */
            tcet_cand_result got[NT];
            memset(got, 0xff, sizeof got);
            tcet_lanes_start(p, t, NT, got);
            while (!tcet_lanes_wait(p, 0.01)) {}
            assert_int_equal(tcet_lanes_finished(p), NT);
            assert_same(ref, got);
        }
        tcet_lanes_destroy(p);
    }
}

static void test_tcet_snip_identical(void **s) { (void)s; check_proxy(TCET_PROXY_TCET_SNIP); }
static void test_tcet_synflow_identical(void **s) { (void)s; check_proxy(TCET_PROXY_TCET_SYNFLOW); }
/* ZiCo and TE-NAS use the proxies' host scratch buffers (one set per scorer). */
static void test_zico_identical(void **s) { (void)s; check_proxy(TCET_PROXY_ZICO); }
static void test_tenas_identical(void **s) { (void)s; check_proxy(TCET_PROXY_TE_NAS); }

static void test_cancel(void **s)
{
    (void)s;
    tcet_score_config c = score_cfg(TCET_PROXY_PARAMS);
    tcet_lane_task t[NT];
    make_tasks(t);
    tcet_lanes *p = NULL;
    setenv("TCET_TEST_SCORE_DELAY_US", "200000", 1); /* 200 ms per task (read when a lane starts) */
    assert_int_equal(tcet_lanes_create(2, "cpu", 0, 1, &c, NULL, &p), 0);
    unsetenv("TCET_TEST_SCORE_DELAY_US");
    tcet_cand_result got[NT];
    tcet_lanes_start(p, t, NT, got);
    assert_int_equal(tcet_lanes_wait(p, 0.001), 0); /* 7 tasks x 200 ms on 2 lanes: not done */
    tcet_lanes_cancel(p);
    while (!tcet_lanes_wait(p, 0.01)) {}
    int f = tcet_lanes_finished(p);
    /* the tasks already taken finish and the rest never start: on an idle
     * machine the two lanes have each taken one (f = 2); a loaded one may
     * have started none yet, or stalled this thread for a few hundred ms */
    print_message("cancel after 1 ms: %d of %d tasks ran\n", f, NT);
    assert_true(f < NT);
    for (int i = 0; i < f; i++) assert_int_equal(got[i].status, i == 3 ? TCET_CAND_FAILED : TCET_CAND_OK);
    /* usable again after a cancel */
    tcet_lanes_start(p, t, NT, got);
    while (!tcet_lanes_wait(p, 0.01)) {}
    assert_int_equal(tcet_lanes_finished(p), NT);
    assert_true(got[6].status == TCET_CAND_OK && got[6].score > 0);
    tcet_lanes_destroy(p);
}

/* The latency filter is a wall-clock timing: with several lanes, a lane
 * times its budget network only while no other lane is scoring; scores are
 * unchanged by the latency step (huge budget: everything passes). */
static void test_latency_times_alone(void **s)
{
    (void)s;
    tcet_cand_result ref[NT];
    sequential(TCET_PROXY_TCET_SNIP, ref);
    tcet_search_config scfg;
    tcet_config_defaults(&scfg);
    scfg.budget_latency = 1e9;
    scfg.batch_size = 8;
    scfg.resolution = 16;
    scfg.num_classes = 10;
    tcet_score_config c = score_cfg(TCET_PROXY_TCET_SNIP);
    tcet_lane_task t[NT];
    make_tasks(t);
    tcet_lanes *p = NULL;
    assert_int_equal(tcet_lanes_create(3, "cpu", 0, 1, &c, &scfg, &p), 0);
    for (int rep = 0; rep < 3; rep++) {
        tcet_cand_result got[NT];
        tcet_lanes_start(p, t, NT, got);
        while (!tcet_lanes_wait(p, 0.01)) {}
        assert_same(ref, got);
        for (int i = 0; i < NT; i++)
            if (i != 3) assert_true(got[i].latency > 0 && isfinite(got[i].latency));
    }
    assert_int_equal(tcet_lanes_busy_at_latency(p), 0);
    tcet_lanes_destroy(p);
}

static void test_usage(void **s)
{
    (void)s;
    tcet_score_config c = score_cfg(TCET_PROXY_PARAMS);
    tcet_lanes *p = (tcet_lanes *)&c;
    assert_int_equal(tcet_lanes_create(0, "cpu", 0, 1, &c, NULL, &p), TCET_ERR_USAGE);
    assert_null(p);
    tcet_error_clear();
    assert_int_equal(tcet_lanes_create(TCET_MAX_LANES + 1, "cpu", 0, 1, &c, NULL, &p), TCET_ERR_USAGE);
    tcet_error_clear();
    /* an empty batch is done at once */
    assert_int_equal(tcet_lanes_create(2, "cpu", 0, 1, &c, NULL, &p), 0);
    tcet_lanes_start(p, NULL, 0, NULL);
    assert_int_equal(tcet_lanes_wait(p, 0), 1);
    tcet_lanes_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcet_snip_identical),
        cmocka_unit_test(test_tcet_synflow_identical),
        cmocka_unit_test(test_zico_identical),
        cmocka_unit_test(test_tenas_identical),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_latency_times_alone),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
