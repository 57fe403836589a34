/* Building blocks of `tcet search`: message packing, the configuration
 * (presets against the docs/semantics.md#script-settings-and-presets table, text form, identity), population
 * trimming (docs/semantics.md#main-loop: first minimum) and the checkpoint round trip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/checkpoint.h"
#include "common/config.h"
#include "common/error.h"
#include "common/msg.h"
#include "common/mutate.h"
#include "master/population.h"
#include "test_support.h"
#include "worker/scorer.h"

static void test_msg_roundtrip(void **state)
{
    (void)state;
    tcet_buf b = {0};
    tcet_msg_begin(&b);
    tcet_msg_add_task(&b, 7, 1, "SuperConvK3BNRELU(3,8,1,1)");
    tcet_msg_add_task(&b, 8, 1, "");
    tcet_msg_add_task(&b, 1ULL << 40, 99, "SuperConvK1BNRELU(8,16,1,1)");
    size_t pos;
    uint32_t n;
    assert_int_equal(tcet_msg_read_count(b.p, b.len, &pos, &n), 0);
    assert_int_equal(n, 3);
    tcet_msg_task t;
    assert_int_equal(tcet_msg_next_task(b.p, b.len, &pos, &t), 0);
    assert_int_equal(t.id, 7);
    assert_int_equal(t.len, 26);
    assert_memory_equal(t.structure, "SuperConvK3BNRELU(3,8,1,1)", 26);
    assert_int_equal(tcet_msg_next_task(b.p, b.len, &pos, &t), 0);
    assert_int_equal(t.len, 0);
    assert_int_equal(tcet_msg_next_task(b.p, b.len, &pos, &t), 0);
    assert_true(t.id == 1ULL << 40 && t.seed == 99);
    assert_int_equal(pos, b.len);
    /* truncated message: refused, never read past the end */
    assert_int_equal(tcet_msg_read_count(b.p, 58, &pos, &n), 0);
    assert_int_equal(tcet_msg_next_task(b.p, 58, &pos, &t), 0);
    assert_int_not_equal(tcet_msg_next_task(b.p, 58, &pos, &t), 0);

    tcet_cand_result r = {.score = -9999, .raw = NAN, .seconds = 0.25, .latency = INFINITY, .status = 1};
    snprintf(r.reason, sizeof r.reason, "non-finite score (nan)");
    tcet_msg_begin(&b);
    tcet_msg_add_result(&b, 5, &r);
    tcet_cand_result q;
    uint64_t qid = 0;
    assert_int_equal(tcet_msg_read_count(b.p, b.len, &pos, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(tcet_msg_next_result(b.p, b.len, &pos, &qid, &q), 0);
    assert_true(qid == 5 && q.score == -9999 && isnan(q.raw) && q.seconds == 0.25 && isinf(q.latency));
    assert_int_equal(q.status, 1);
    assert_string_equal(q.reason, "non-finite score (nan)");
    tcet_buf_free(&b);
}

static int parse(tcet_search_config *c, const char *line)
{
    char buf[1024];
    char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "search %s", line);
    for (char *tok = strtok(buf, " "); tok && argc < 63; tok = strtok(NULL, " ")) argv[argc++] = tok;
    int help;
    uint64_t mask;
    return tcet_config_parse_args(argc, argv, c, &help, &mask);
}

static void test_presets(void **state)
{
    (void)state;
    tcet_search_config c;
    /* values of the docs/semantics.md#script-settings-and-presets table */
    assert_int_equal(parse(&c, "--preset cifar-params2M-zen"), 0);
    assert_true(c.budget_params == 2e6 && c.max_layers == 20 && c.max_iter == 480000 && c.resolution == 32);
    assert_int_equal(c.num_classes, 100);
    assert_int_equal(c.proxy, tcet_proxy_parse("zen"));
    assert_int_equal(c.population_size, 512);
    assert_int_equal(parse(&c, "--preset cifar-params1M-naswot"), 0);
    assert_int_equal(c.batch_size, 8);
    assert_true(c.budget_params == 1e6 && c.max_layers == 18);
    assert_int_equal(parse(&c, "--preset imagenet-flops450M-tcet-snip"), 0);
    assert_int_equal(c.proxy, tcet_proxy_parse("params")); /* the script runs Params (sic) */
    assert_true(c.budget_flops == 450e6 && c.max_layers == 14 && c.max_iter == 100000 && c.batch_size == 128);
    /* the T-CET ImageNet presets score 64 images, as the reference's T-CET does
     * (its data loader has batch 64 whatever the scripts' --batch_size 128) */
    assert_int_equal(parse(&c, "--preset imagenet-flops600M-tcet-snip --data /d"), 0);
    assert_int_equal(c.batch_size, 64);
    assert_int_equal(parse(&c, "--preset imagenet-flops450M-tcet-synflow --data /d"), 0);
    assert_int_equal(c.batch_size, 64);
    assert_int_equal(c.space, TCET_SPACE_IDW_FIXFC);
    assert_true(c.resolution == 224 && c.num_classes == 1000 && c.budget_params == 0);
    assert_int_equal(parse(&c, "--preset imagenet-flops800M-zen"), 0);
    assert_true(c.budget_flops == 800e6 && c.max_layers == 16 && c.batch_size == 64);
    assert_int_equal(parse(&c, "--preset imagenet-latency08ms-zen"), 0);
    assert_true(c.budget_latency == 8e-4 && c.max_layers == 25 && c.space == TCET_SPACE_XXBL);
    assert_non_null(strstr(c.init_structure, "SuperResK3K3(256,512,2,256,1)"));
    /* explicit flags override the preset whatever their order */
    assert_int_equal(parse(&c, "--max-layers 12 --preset cifar-params1M-tcet-snip --seed 5 --data /d"), 0);
    assert_int_equal(c.max_layers, 12);
    assert_true(c.seed == 5 && c.budget_params == 1e6);
    assert_string_equal(c.dataset, "cifar100");
    assert_false(c.data_missing);
    /* the preset's dataset needs --data: without it the run is marked, and a new
     * search refuses it, instead of silently scoring on synthetic images */
    assert_int_equal(parse(&c, "--preset cifar-params1M-tcet-snip"), 0);
    assert_string_equal(c.dataset, "cifar100");
    assert_true(c.data_missing);
    /* no data flags and an image-reading proxy: missing too; a proxy that reads
     * no images, or --dataset synthetic, is not */
    assert_int_equal(parse(&c, "--proxy tcet-synflow"), 0);
    assert_true(c.data_missing);
    assert_int_equal(parse(&c, "--preset cifar-params1M-zen"), 0);
    assert_false(c.data_missing);
    assert_int_equal(parse(&c, "--preset cifar-params1M-tcet-snip --dataset synthetic"), 0);
    assert_false(c.data_missing);
    assert_string_equal(c.dataset, "synthetic");
    /* the demo asks for synthetic data, and says so in its name */
    assert_int_equal(parse(&c, "--preset demo-cifar-tcet-snip-synthetic"), 0);
    assert_true(c.population_size == 24 && c.max_iter == 240 && c.budget_params == 1e6 && c.max_layers == 18);
    assert_string_equal(c.dataset, "synthetic");
    assert_false(c.data_missing);
    assert_int_equal(parse(&c, "--preset demo-cifar-tcet-snip"), TCET_ERR_USAGE);
    /* Every preset: without --data, exactly those whose reference scripts score on
     * real images (T-CET and ZiCo; the ImageNet T-CET(SNIP) 450M/1G scripts run
     * Params) lack their data; all others start, and only the demo on synthetic
     * images. */
    static const char *const need_data[] = {"cifar-params1M-tcet-snip", "cifar-params1M-tcet-synflow",
                                            "cifar-params1M-zico", "imagenet-flops600M-tcet-snip",
                                            "imagenet-flops450M-tcet-synflow"};
    char *list = NULL;
    size_t list_len = 0;
    FILE *mf = open_memstream(&list, &list_len);
    assert_non_null(mf);
    tcet_config_list_presets(mf);
    assert_int_equal(fclose(mf), 0);
    int npresets = 0, nmissing = 0;
    char *save = NULL; /* parse() uses strtok itself */
    for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64], cmd[96];
        assert_int_equal(sscanf(line, " %63s", name), 1);
        snprintf(cmd, sizeof cmd, "--preset %s", name);
        assert_int_equal(parse(&c, cmd), 0);
        int want = 0;
        for (size_t k = 0; k < sizeof need_data / sizeof need_data[0]; k++) want |= !strcmp(name, need_data[k]);
        if (c.data_missing != want) fail_msg("preset %s: data_missing %d, expected %d", name, c.data_missing, want);
        if (!want && !strcmp(c.dataset, "synthetic") && tcet_config_proxy_reads_images(c.proxy) &&
            strcmp(name, "demo-cifar-tcet-snip-synthetic"))
            fail_msg("preset %s would score images on synthetic data", name);
        npresets++;
        nmissing += want;
    }
    free(list);
    assert_int_equal(npresets, 26);
    assert_int_equal(nmissing, 5);
    /* errors: usage */
    assert_int_equal(parse(&c, "--preset nope"), TCET_ERR_USAGE);
    assert_int_equal(parse(&c, "--population-size 0"), TCET_ERR_USAGE);
    assert_int_equal(parse(&c, "--proxy fancy"), TCET_ERR_USAGE);
    assert_int_equal(parse(&c, "--frobnicate 1"), TCET_ERR_USAGE);
    assert_int_equal(parse(&c, "--seed"), TCET_ERR_USAGE);
}

/* Which proxies read training images, and which the candidate's own batch:
 * the lists of docs/proxies.md ("reads images") and docs/semantics.md (the
 * proxies' data), written out here rather than derived.  A search with an
 * image-reading proxy and no --dataset / --data is refused (data_missing);
 * GradNorm-ZC reads the batch and its labels and was once missing here, so
 * a gradnorm-zc search ran on synthetic data without a word. */
static void test_proxy_data(void **state)
{
    (void)state;
    static const char *const images[] = {"tcet-snip", "tcet-synflow", "naswot-layerwise", "snip", "gradnorm-zc", "zico"};
    static const char *const batch[] = {"tcet-snip", "snip", "gradnorm-zc"};
    static const char *const batch_same[] = {"tcet-synflow", "naswot-layerwise"}; /* with --same-batch 1 */
    for (int p = 0; p < TCET_PROXY_COUNT; p++) {
        const char *name = tcet_proxy_name(p);
        int want_img = 0, want_batch = 0, want_same = 0;
        for (size_t k = 0; k < sizeof images / sizeof images[0]; k++) want_img |= !strcmp(name, images[k]);
        for (size_t k = 0; k < sizeof batch / sizeof batch[0]; k++) want_batch |= !strcmp(name, batch[k]);
        for (size_t k = 0; k < sizeof batch_same / sizeof batch_same[0]; k++) want_same |= !strcmp(name, batch_same[k]);
        if (tcet_config_proxy_reads_images(p) != want_img) fail_msg("%s: reads_images %d", name, !want_img);
        if (tcet_config_proxy_reads_batch(p, 0) != want_batch) fail_msg("%s: reads_batch %d", name, !want_batch);
        if (tcet_config_proxy_reads_batch(p, 1) != (want_batch || want_same))
            fail_msg("%s: reads_batch with --same-batch %d", name, !(want_batch || want_same));
        tcet_search_config c;
        char cmd[96];
        snprintf(cmd, sizeof cmd, "--proxy %s", name);
        assert_int_equal(parse(&c, cmd), 0);
        if (c.data_missing != want_img) fail_msg("--proxy %s: data_missing %d, expected %d", name, c.data_missing, want_img);
    }
}

static void test_config_text(void **state)
{
    (void)state;
    tcet_search_config a, b;
    assert_int_equal(parse(&a, "--proxy flops --budget-flops 1.5e8 --seed 18446744073709551615 --window 7 "
                               "--save-dir /tmp/x --gamma 0.125 --search-space IDW_fixfc"), 0);
    char *text = tcet_config_to_text(&a, 0);
    assert_int_equal(tcet_config_from_text(text, &b), 0);
    assert_null(tcet_config_identity_diff(&a, &b, NULL, 0));
    assert_true(b.seed == UINT64_MAX && b.budget_flops == 1.5e8 && b.gamma == 0.125 && b.window == 7);
    assert_string_equal(b.save_dir, "/tmp/x");
    free(text);
    /* identity: the seed matters, the run directory and threads do not */
    b.threads = 4;
    snprintf(b.save_dir, sizeof b.save_dir, "/elsewhere");
    assert_null(tcet_config_identity_diff(&a, &b, NULL, 0));
    b.seed = 3;
    char detail[256];
    assert_string_equal(tcet_config_identity_diff(&a, &b, detail, sizeof detail), "--seed");
    assert_int_equal(tcet_config_from_text("bogus_key = 1\n", &b), TCET_ERR_CHECKPOINT);
    /* what --resume accepts: how the run is computed and a longer budget, nothing else */
    char *argv[] = {"search", "--resume", "r", "--backend", "cpu", "--threads", "2", "--lanes", "3",
                    "--checkpoint-every", "5", "--evolution-max-iter", "9", "--seed", "4", "--save-dir", "d",
                    "--window", "2"};
    int help;
    uint64_t mask;
    char refused[256];
    assert_int_equal(tcet_config_parse_args(19, argv, &b, &help, &mask), 0);
    assert_int_equal(tcet_config_resume_refused(mask, refused, sizeof refused), 3);
    assert_string_equal(refused, "--seed, --window, --save-dir");
    assert_int_equal(tcet_config_parse_args(13, argv, &b, &help, &mask), 0);
    assert_int_equal(tcet_config_resume_refused(mask, refused, sizeof refused), 0);
}

/* --mutation-weights: reference by default, part of the run's identity,
 * written into the configuration text; a text without the key (a checkpoint
 * from before it existed, when tcet drew uniformly) reads back as uniform. */
static void test_config_weights(void **state)
{
    (void)state;
    tcet_search_config a, b;
    assert_int_equal(parse(&a, "--save-dir /tmp/x"), 0);
    assert_int_equal(a.weights, TCET_WEIGHTS_REFERENCE);
    char *text = tcet_config_to_text(&a, 1);
    assert_non_null(strstr(text, "mutation_weights = reference\n"));
    free(text);
    assert_int_equal(parse(&b, "--save-dir /tmp/x --mutation-weights uniform"), 0);
    assert_int_equal(b.weights, TCET_WEIGHTS_UNIFORM);
    char detail[256];
    assert_string_equal(tcet_config_identity_diff(&a, &b, detail, sizeof detail), "--mutation-weights");
    assert_non_null(strstr(detail, "reference vs uniform"));
    assert_int_equal(parse(&b, "--save-dir /tmp/x --mutation-weights equal"), TCET_ERR_USAGE);
    assert_int_equal(tcet_config_from_text("seed = 4\n", &b), 0);
    assert_int_equal(b.weights, TCET_WEIGHTS_UNIFORM);
    assert_int_equal(tcet_config_from_text("mutation_weights = reference\n", &b), 0);
    assert_int_equal(b.weights, TCET_WEIGHTS_REFERENCE);
    assert_int_equal(tcet_config_from_text("mutation_weights = equal\n", &b), TCET_ERR_CHECKPOINT);
}

static tcet_cand cand(long id, double score)
{
    tcet_cand c;
    memset(&c, 0, sizeof c);
    c.id = id;
    c.score = score;
    c.structure = "SuperConvK3BNRELU(3,8,1,1)SuperConvK1BNRELU(8,16,1,1)";
    c.reason = "";
    return c;
}

static void test_population_trim(void **state)
{
    (void)state;
    tcet_population p;
    tcet_pop_init(&p);
    double s[] = {3, 1, 2, 1, 5, 5};
    for (int i = 0; i < 6; i++) {
        tcet_cand c = cand(i, s[i]);
        assert_int_equal(tcet_pop_add(&p, &c, NULL), 0);
    }
    assert_int_equal(tcet_pop_best(&p), 4); /* first of the two maxima */
    tcet_pop_trim(&p, 4);                    /* removes id 1, then id 3 (first minimum each time) */
    assert_int_equal(p.n, 4);
    long ids[] = {0, 2, 4, 5};
    for (int i = 0; i < 4; i++) assert_int_equal(p.c[i].id, ids[i]);
    tcet_pop_trim(&p, 3); /* removes id 2 (score 2) */
    assert_int_equal(p.c[1].id, 4);
    tcet_pop_free(&p);
}

static void test_checkpoint_roundtrip(void **state)
{
    (void)state;
    char dir[] = "/tmp/tcet_ckpt.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/checkpoint.h5", dir);
    tcet_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    tcet_search_config cfg;
    tcet_config_defaults(&cfg);
    cfg.seed = 42;
    ck.format_version = TCET_CKPT_FORMAT;
    snprintf(ck.tcet_version, sizeof ck.tcet_version, "9.9.9");
    ck.config_text = tcet_config_to_text(&cfg, 0);
    ck.next_iter = 5;
    ck.committed = 3;
    ck.rng.s[0] = 1;
    ck.rng.s[3] = UINT64_MAX;
    ck.counts[TCET_CAND_REJ_FLOPS] = 2;
    ck.elapsed = 1.5;
    tcet_cand pop[2] = {cand(0, 1.0), cand(2, -9999)};
    pop[1].raw_score = NAN;
    pop[1].status = TCET_CAND_NONFINITE;
    pop[1].reason = "non-finite score (nan)";
    pop[1].latency = INFINITY;
    tcet_cand hist[3] = {pop[0], cand(1, NAN), pop[1]};
    hist[1].status = TCET_CAND_REJ_FLOPS;
    tcet_cand pend[2] = {cand(3, NAN), cand(4, NAN)};
    ck.population = pop;
    ck.npop = 2;
    ck.history = hist;
    ck.nhist = 3;
    ck.pending = pend;
    ck.npending = 2;
    assert_int_equal(tcet_checkpoint_write(path, &ck), 0);
    free(ck.config_text);

    tcet_checkpoint r;
    assert_int_equal(tcet_checkpoint_read(path, &r), 0);
    assert_int_equal(r.npop, 2);
    assert_int_equal(r.nhist, 3);
    assert_int_equal(r.npending, 2);
    assert_true(r.committed == 3 && r.next_iter == 5 && r.rng.s[3] == UINT64_MAX && r.elapsed == 1.5);
    assert_int_equal(r.config.seed, 42);
    assert_string_equal(r.tcet_version, "9.9.9");
    assert_true(isnan(r.population[1].raw_score) && isinf(r.population[1].latency));
    assert_string_equal(r.population[1].reason, "non-finite score (nan)");
    assert_string_equal(r.history[1].structure, pop[0].structure);
    assert_int_equal(r.history[1].status, TCET_CAND_REJ_FLOPS);
    assert_int_equal(r.pending[1].id, 4);
    assert_int_equal(r.counts[TCET_CAND_REJ_FLOPS], 2);
    tcet_checkpoint_free(&r);
    /* a stale tmp file is removed, the checkpoint is not */
    char stale[300];
    snprintf(stale, sizeof stale, "%s.tmp.12345", path);
    FILE *f = fopen(stale, "w");
    assert_non_null(f);
    fclose(f);
    tcet_checkpoint_remove_stale(path);
    assert_int_not_equal(access(stale, F_OK), 0);
    assert_int_equal(access(path, F_OK), 0);
    /* missing file: refused with the checkpoint code */
    assert_int_equal(tcet_checkpoint_read("/nonexistent/checkpoint.h5", &r), TCET_ERR_CHECKPOINT);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_roundtrip),   cmocka_unit_test(test_presets),
        cmocka_unit_test(test_proxy_data),
        cmocka_unit_test(test_config_text),     cmocka_unit_test(test_config_weights),
        cmocka_unit_test(test_population_trim),
        cmocka_unit_test(test_checkpoint_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
