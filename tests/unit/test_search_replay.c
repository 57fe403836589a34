/* W = 1 is the sequential reference loop (docs/semantics.md#main-loop): run `tcet search`
 * with --window 1 and replay the master's generator independently here with
 * tcet_mutate + the rng + the reference counters; every committed candidate
 * (structure, parent, status, score) and the final population must match. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/checkpoint.h"
#include "common/counters.h"
#include "common/mutate.h"
#include "test_support.h"

#define POP 24
#define ITERS 2500
#define BUDGET 4e5
#define MAXL 16
#define SEED 11

static const char *INIT =
    "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK3K3(16,32,2,16,1)"
    "SuperResK3K3(32,64,2,32,1)SuperResK3K3(64,64,2,32,1)SuperConvK1BNRELU(64,128,1,1)";

typedef struct {
    tcet_arch a;
    double score;
    long id;
} member;

static void test_window1_replay(void **state)
{
    (void)state;
    const char *bin = getenv("TCET_BIN");
    if (!bin) skip();
    char dir[] = "/tmp/tcet_replay.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             /* slow unwinder: lets lsan.supp match Open MPI's plugin leaks under ASan */
             "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0\" "
             "TCET_INJECT_FAILURES=4:error,7:nan '%s' search --save-dir %s/r --proxy params --window 1 "
             "--evolution-max-iter %d --population-size %d --budget-model-size %g --max-layers %d --seed %d "
             "> %s/out 2>&1",
             bin, dir, ITERS, POP, BUDGET, MAXL, SEED, dir);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 0);

    char path[512];
    snprintf(path, sizeof path, "%s/r/checkpoint.h5", dir);
    tcet_checkpoint ck;
    assert_int_equal(tcet_checkpoint_read(path, &ck), 0);
    assert_int_equal(ck.nhist, ITERS);
    assert_int_equal(ck.finished, 1);
    assert_int_equal(ck.config.weights, TCET_WEIGHTS_REFERENCE); /* the default */

    tcet_arch init, child;
    assert_int_equal(tcet_arch_parse(INIT, &init, NULL), 0);
    tcet_rng r;
    tcet_rng_seed(&r, SEED, TCET_STREAM_MUTATION, 0);
    member *pop = calloc(ITERS + 1, sizeof *pop);
    size_t n = 0;
    int scored = 0, rejected = 0;
    for (long t = 0; t < ITERS; t++) {
        while (n > POP) { /* remove the first minimum */
            size_t w = 0;
            for (size_t i = 1; i < n; i++)
                if (pop[i].score < pop[w].score) w = i;
            memmove(&pop[w], &pop[w + 1], (n - w - 1) * sizeof *pop);
            n--;
        }
        const tcet_arch *parent = &init;
        long pid = -1;
        int nrep = 1;
        if (n > 10) {
            size_t k = (size_t)tcet_rng_below(&r, n);
            parent = &pop[k].a;
            pid = pop[k].id;
            nrep = 2;
        }
        tcet_mutate(parent, nrep, TCET_SPACE_XXBL, TCET_WEIGHTS_REFERENCE, &r, &child);
        tcet_split(&child, 6);
        char s[TCET_MAX_STRUCT];
        tcet_arch_print(&child, s, sizeof s);
        const tcet_cand *h = &ck.history[t];
        assert_int_equal(h->id, t);
        assert_string_equal(h->structure, s);
        assert_int_equal(h->parent, pid);
        tcet_counts budget, scoring;
        assert_int_equal(tcet_count(&child, 1, 100, 32, &budget), 0);
        assert_int_equal(tcet_count(&child, 0, 100, 32, &scoring), 0);
        int layers = tcet_arch_num_layers(&child);
        int expect;
        if (MAXL < layers) expect = TCET_CAND_REJ_LAYERS;
        else if (BUDGET < budget.params) expect = TCET_CAND_REJ_PARAMS;
        else expect = t == 4 ? TCET_CAND_FAILED : t == 7 ? TCET_CAND_NONFINITE : TCET_CAND_OK;
        assert_int_equal(h->status, expect);
        if (tcet_cand_is_rejected(expect)) {
            rejected++;
            continue;
        }
        double score = expect == TCET_CAND_OK ? scoring.params : -9999.0;
        assert_true(h->score == score);
        pop[n].a = child;
        pop[n].score = score;
        pop[n].id = t;
        n++;
        scored++;
    }
    assert_true(scored > 100 && rejected > 100); /* both paths exercised */
    assert_int_equal(ck.npop, n);
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ck.population[i].id, pop[i].id);
        assert_true(ck.population[i].score == pop[i].score);
        if (pop[i].score > pop[best].score) best = i;
    }
    char bs[TCET_MAX_STRUCT], file[TCET_MAX_STRUCT] = "";
    tcet_arch_print(&pop[best].a, bs, sizeof bs);
    snprintf(path, sizeof path, "%s/r/best_structure.txt", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t len = fread(file, 1, sizeof file - 1, f);
    fclose(f);
    file[len] = 0;
    assert_string_equal(file, bs); /* no trailing newline */
    assert_int_equal(ck.counts[TCET_CAND_REJ_LAYERS] + ck.counts[TCET_CAND_REJ_PARAMS], (uint64_t)rejected);
    free(pop);
    tcet_checkpoint_free(&ck);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_window1_replay)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
