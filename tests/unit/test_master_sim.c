/* The master loop against simulated workers (tests/support/master_sim.h):
 * the committed trajectory depends on the configuration and the window only,
 * not on how many workers score nor how fast each candidate comes back; and it
 * equals what `tcet search` computes with the real Params proxy in-process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/checkpoint.h"
#include "common/config.h"
#include "common/error.h"
#include "master/search.h"
#include "master_sim.h"
#include "test_support.h"

#define ITERS "1500"
#define WINDOW "16"

static const char *COMMON = "--proxy params --dataset synthetic --population-size 24 --budget-model-size 4e5 "
                            "--max-layers 16 --seed 5 --evolution-max-iter " ITERS " --window " WINDOW;

static void run_sim(const char *dir, int nworkers, double delay, double jitter)
{
    char line[1024], *argv[64];
    snprintf(line, sizeof line, "search %s --save-dir %s", COMMON, dir);
    int argc = 0;
    for (char *tok = strtok(line, " "); tok && argc < 63; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc] = NULL;
    tcet_search_config cfg;
    int help = 0;
    assert_int_equal(tcet_config_parse_args(argc, argv, &cfg, &help, NULL), 0);
    tcet_transport t;
    tcet_sim *sim = tcet_sim_create(nworkers, delay, jitter, cfg.num_classes, cfg.resolution, &t);
    tcet_master_args a = {&cfg, NULL, nworkers, NULL, "sim", &t};
    int rc = tcet_master_run(&a);
    if (rc) tcet_error_print();
    assert_int_equal(rc, 0);
    tcet_sim_stats st;
    tcet_sim_stats_get(sim, &st);
    print_message("%3d simulated workers, jitter %.1f: %llu candidates scored in %llu messages\n", nworkers, jitter,
                  st.tasks, st.messages);
    assert_true(st.tasks > 0);
    tcet_sim_destroy(sim);
}

static void read_ck(const char *dir, tcet_checkpoint *ck)
{
    char path[700];
    snprintf(path, sizeof path, "%s/checkpoint.h5", dir);
    assert_int_equal(tcet_checkpoint_read(path, ck), 0);
    assert_int_equal(ck->finished, 1);
    assert_int_equal(ck->nhist, atoi(ITERS));
}

static void same_history(const tcet_checkpoint *a, const tcet_checkpoint *b)
{
    assert_int_equal(a->nhist, b->nhist);
    for (size_t i = 0; i < a->nhist; i++) {
        const tcet_cand *x = &a->history[i], *y = &b->history[i];
        assert_int_equal(x->id, y->id);
        assert_int_equal(x->parent, y->parent);
        assert_int_equal(x->status, y->status);
        assert_string_equal(x->structure, y->structure);
        assert_true(x->score == y->score || (x->score != x->score && y->score != y->score));
    }
    assert_int_equal(a->npop, b->npop);
}

static void trajectory_independent_of_workers(void **state)
{
    (void)state;
    char root[] = "/tmp/tcet_master_sim.XXXXXX";
    assert_non_null(mkdtemp(root));
    char d1[600], d2[600], d3[600], d4[600];
    snprintf(d1, sizeof d1, "%s/one", root);
    snprintf(d2, sizeof d2, "%s/seven", root);
    snprintf(d3, sizeof d3, "%s/many", root);
    snprintf(d4, sizeof d4, "%s/real", root);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p %s %s %s", d1, d2, d3);
    assert_int_equal(system(cmd), 0);
    /* virtual time: the delays cost no wall-clock time */
    run_sim(d1, 1, 0.002, 0);
    run_sim(d2, 7, 0.002, 0.9);
    run_sim(d3, 40, 0.05, 0.5);
    /* the real Params proxy, scored in-process by `tcet search` */
    const char *bin = getenv("TCET_BIN");
    if (bin) {
        /* slow unwinder: lets lsan.supp match Open MPI's plugin leaks under ASan */
        snprintf(cmd, sizeof cmd,
                 "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0\" '%s' search %s "
                 "--save-dir %s > %s.out 2>&1",
                 bin, COMMON, d4, d4);
        int rc = system(cmd);
        if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 0)) {
            snprintf(cmd, sizeof cmd, "cat %s.out", d4);
            if (system(cmd)) {}
        }
        assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    }
    tcet_checkpoint a, b;
    read_ck(d1, &a);
    read_ck(d2, &b);
    same_history(&a, &b);
    tcet_checkpoint_free(&b);
    read_ck(d3, &b);
    same_history(&a, &b);
    tcet_checkpoint_free(&b);
    if (bin) {
        read_ck(d4, &b);
        same_history(&a, &b);
        tcet_checkpoint_free(&b);
    }
    tcet_checkpoint_free(&a);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(trajectory_independent_of_workers)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
