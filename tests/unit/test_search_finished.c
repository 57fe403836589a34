/* A finished run and its best_structure.txt: the atomic file
 * writer, and `tcet search` on a finished checkpoint whose
 * best_structure.txt is missing -- recreated from the population's best, or
 * exit 1 when the population is empty (a finished run with nothing in it is
 * a failure, never "already finished"). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/checkpoint.h"
#include "common/config.h"
#include "common/error.h"
#include "test_support.h"
#include "tcet_version.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int count_tmp(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp")) n++;
    if (d) closedir(d);
    return n;
}

static void test_write_file_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/tcet_finished_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/best_structure.txt", dir);
    assert_int_equal(tcet_write_file_atomic(path, "first version", 13), 0);
    char *s = slurp(path);
    assert_string_equal(s, "first version");
    free(s);
    assert_int_equal(tcet_write_file_atomic(path, "2nd", 3), 0); /* replaces, shorter */
    s = slurp(path);
    assert_string_equal(s, "2nd");
    free(s);
    assert_int_equal(count_tmp(dir), 0);
    /* a directory that does not exist: an error, not a crash */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/missing/x.txt", dir);
    assert_int_equal(tcet_write_file_atomic(bad, "x", 1), TCET_ERR_RUNTIME);
    unlink(path);
    rmdir(dir);
}

static void set_cand(tcet_cand *c, int64_t id, const char *st, double score)
{
    memset(c, 0, sizeof *c);
    c->id = id;
    c->parent = -1;
    c->structure = (char *)st;
    c->reason = (char *)"";
    c->score = c->raw_score = score;
    c->params = c->flops = 1000;
    c->layers = 1;
    c->latency = INFINITY;
    c->status = TCET_CAND_OK;
}

/* A finished checkpoint with `npop` members (scores 5 then 7) in a new
 * directory; returns the directory. */
static void write_finished(char *dir, size_t npop)
{
    assert_non_null(mkdtemp(dir));
    tcet_search_config cfg;
    tcet_config_defaults(&cfg);
    cfg.max_iter = 2;
    cfg.window = 1;
    snprintf(cfg.save_dir, sizeof cfg.save_dir, "%s", dir);
    tcet_cand pop[2], hist[2];
    set_cand(&pop[0], 0, "SuperConvK3BNRELU(3,8,1,1)", 5.0);
    set_cand(&pop[1], 1, "SuperConvK3BNRELU(3,16,1,1)", 7.0);
    hist[0] = pop[0];
    hist[1] = pop[1];
    tcet_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.format_version = TCET_CKPT_FORMAT;
    snprintf(ck.tcet_version, sizeof ck.tcet_version, "%s", TCET_VERSION);
    ck.config_text = tcet_config_to_text(&cfg, 0);
    ck.next_iter = ck.committed = 2;
    ck.naswot_seed = cfg.seed;
    ck.counts[TCET_CAND_OK] = 2;
    ck.finished = 1;
    ck.population = pop;
    ck.npop = npop;
    ck.history = hist;
    ck.nhist = 2;
    ck.pending = NULL;
    ck.npending = 0;
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, TCET_CKPT_NAME);
    assert_int_equal(tcet_checkpoint_write(path, &ck), 0);
    free(ck.config_text);
}

static int run_resume(const char *dir, char **out)
{
    const char *bin = getenv("TCET_BIN");
    assert_non_null(bin);
    char cmd[1024];
    /* Under ASan, Open MPI's plugin leaks need the slow unwinder to be
     * suppressed (as in tests/integration/search_lib.sh). */
    snprintf(cmd, sizeof cmd,
             "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:fast_unwind_on_malloc=0}\" '%s' search --resume '%s' 2>&1",
             bin, dir);
    return test_run_capture(cmd, out);
}

static void cleanup(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_finished_recreates_best(void **state)
{
    (void)state;
    char dir[] = "/tmp/tcet_finished_XXXXXX";
    write_finished(dir, 2);
    char *out = NULL;
    int rc = run_resume(dir, &out);
    if (rc != 0) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "recreated"));
    assert_non_null(strstr(out, "already finished"));
    free(out);
    char path[256];
    snprintf(path, sizeof path, "%s/best_structure.txt", dir);
    char *s = slurp(path);
    assert_non_null(s);
    assert_string_equal(s, "SuperConvK3BNRELU(3,16,1,1)"); /* score 7 beats 5; no newline */
    free(s);
    /* a second resume finds it and changes nothing */
    rc = run_resume(dir, &out);
    assert_int_equal(rc, 0);
    assert_null(strstr(out, "recreated"));
    free(out);
    cleanup(dir);
}

static void test_finished_empty_population_fails(void **state)
{
    (void)state;
    char dir[] = "/tmp/tcet_finished_XXXXXX";
    write_finished(dir, 0);
    char *out = NULL;
    int rc = run_resume(dir, &out);
    if (rc != 1) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "empty population"));
    assert_null(strstr(out, "already finished"));
    free(out);
    char path[256];
    snprintf(path, sizeof path, "%s/best_structure.txt", dir);
    assert_int_equal(access(path, F_OK), -1);
    cleanup(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_file_atomic),
        cmocka_unit_test(test_finished_recreates_best),
        cmocka_unit_test(test_finished_empty_population_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
