/* The scorer's memory estimate (checked before every candidate, see
 * scorer.h) against the measured peak: for a few networks, a child process
 * scores one candidate and reports the growth of its peak resident set
 * (getrusage ru_maxrss) over the scoring; the estimate must cover it (never
 * under-estimate: a refused candidate is better than a worker killed by the
 * kernel) without exceeding it by more than 3x (the estimate is what the
 * worker allocates: arenas with their 1/8 headroom, gradient buffers and
 * every op output, some of which a proxy never touches).  And a limit below the
 * estimate (TCET_MEMORY_LIMIT) fails the candidate with an "out of memory:
 * needs X GB, has Y GB" reason before anything is allocated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

#include "common/arch.h"
#include "common/plan.h"
#include "kernels/cpu/backend_cpu.h"
#include "worker/memcheck.h"
#include "worker/proxies.h"
#include "worker/scorer.h"

static const char *const nets[] = {
    "SuperConvK3BNRELU(3,32,1,1)SuperResK3K3(32,64,2,32,1)SuperConvK1BNRELU(64,128,1,1)",
    "SuperConvK3BNRELU(3,64,1,1)SuperResK3K3(64,128,1,64,2)SuperConvK1BNRELU(128,256,1,1)",
    "SuperConvK3BNRELU(3,32,2,1)SuperResK1K5K1(32,256,1,64,3)SuperResK3K3(256,256,2,128,2)SuperConvK1BNRELU(256,512,1,1)",
};

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static tcet_scorer *make(int proxy, int batch, tcet_backend **be)
{
    *be = tcet_backend_cpu_create(1);
    tcet_score_config cfg = {.proxy = proxy, .mode = TCET_MODE_LOG, .batch_size = batch, .resolution = 16,
                             .num_classes = 100, .gamma = 1e-2, .seed = 1, .zico_batches = 2};
    tcet_scorer *sc;
    assert_int_equal(tcet_scorer_create(&cfg, *be, &sc), 0);
    return sc;
}

static size_t estimate(tcet_scorer *sc, const tcet_arch *a, int batch)
{
    tcet_plan p;
    tcet_plan_opts o = {.reslink = 0, .bn = 1, .num_classes = 100, .resolution = 16};
    assert_int_equal(tcet_plan_build(a, &o, &p), 0);
    size_t e = tcet_scorer_estimate(sc, a, batch, &p);
    tcet_plan_free(&p);
    return e;
}

static void check(int proxy, int batch)
{
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        tcet_arch a;
        assert_int_equal(tcet_arch_parse(nets[i], &a, NULL), 0);
        int fd[2];
        assert_int_equal(pipe(fd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) { /* child: one candidate, peak RSS growth in bytes */
            close(fd[0]);
            tcet_backend *be;
            tcet_scorer *sc = make(proxy, batch, &be);
            tcet_score_result r;
            tcet_arch small;
            /* libraries, batches, first-touch of the rest.  The last two
             * convs' weight gradients run in oneDNN (a direct convolution,
             * then its GEMM on an 8x8 plane): its one-time set-up of either
             * (5-10 MB of JIT code and buffers) is not the candidate's memory */
            tcet_arch_parse("SuperConvK3BNRELU(3,8,1,1)SuperConvK1BNRELU(8,16,1,1)SuperConvK3BNRELU(16,16,2,1)"
                            "SuperConvK1BNRELU(16,32,1,1)", &small, NULL);
            tcet_scorer_score(sc, 1, &small, &r);
            long before = maxrss_kb();
            tcet_scorer_score(sc, 0, &a, &r);
            long grown[2] = {(maxrss_kb() - before) * 1024L, r.r.status};
            ssize_t w = write(fd[1], grown, sizeof grown);
            _exit(w == (ssize_t)sizeof grown ? 0 : 1);
        }
        close(fd[1]);
        long got[2] = {0, -1};
        assert_int_equal(read(fd[0], got, sizeof got), (ssize_t)sizeof got);
        close(fd[0]);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        tcet_backend *be;
        tcet_scorer *sc = make(proxy, batch, &be);
        size_t est = estimate(sc, &a, batch);
        printf("%s batch %d net %zu: measured peak growth %.1f MB, estimate %.1f MB (x%.2f)\n",
               tcet_proxy_name(proxy), batch, i, got[0] / 1e6, est / 1e6, (double)est / (double)got[0]);
        assert_int_equal(got[1], TCET_CAND_OK);
        assert_true((double)est >= (double)got[0]);
        assert_true((double)est <= 3.0 * (double)got[0] + 4e6);
        /* an injected limit below the estimate: refused before allocating */
        char lim[32];
        snprintf(lim, sizeof lim, "%zu", est / 2);
        setenv("TCET_MEMORY_LIMIT", lim, 1);
        tcet_score_result r;
        tcet_scorer_score(sc, 0, &a, &r);
        unsetenv("TCET_MEMORY_LIMIT");
        assert_int_equal(r.r.status, TCET_CAND_FAILED);
        char want[96];
        snprintf(want, sizeof want, "out of memory: needs %.3g GB, has ", (double)est / 1e9);
        assert_true(strncmp(r.r.reason, want, strlen(want)) == 0);
        assert_non_null(strstr(r.r.reason, "TCET_MEMORY_LIMIT"));
        assert_int_equal(tcet_scorer_memory(sc), 0); /* nothing allocated for it */
        tcet_scorer_destroy(sc);
        be->destroy(be);
    }
}

static void test_snip(void **state) { check(TCET_PROXY_TCET_SNIP, 32); }
static void test_synflow(void **state) { check(TCET_PROXY_TCET_SYNFLOW, 16); }

static void test_parse_bytes(void **state)
{
    size_t v;
    assert_int_equal(tcet_parse_bytes("1536", &v), 0);
    assert_int_equal(v, 1536);
    assert_int_equal(tcet_parse_bytes("64K", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(tcet_parse_bytes("1.5G", &v), 0);
    assert_int_equal(v, (size_t)1536 * 1024 * 1024);
    assert_int_not_equal(tcet_parse_bytes("lots", &v), 0);
    char what[64];
    setenv("TCET_MEMORY_LIMIT", "3M", 1);
    assert_int_equal(tcet_memory_available(what, sizeof what), (size_t)3 << 20);
    assert_string_equal(what, "TCET_MEMORY_LIMIT");
    unsetenv("TCET_MEMORY_LIMIT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_bytes),
        cmocka_unit_test(test_snip),
        cmocka_unit_test(test_synflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
