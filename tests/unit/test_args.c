/* One numeric parser and one set of flag names for every command
 * (common/args.h, docs/search.md "Options"): plain non-negative numbers
 * only, the older flag spellings accepted as aliases, and the table-driven
 * argv loop of the subcommands. */
#include "test_support.h"

#include <string.h>

#include "common/args.h"
#include "common/config.h"
#include "common/error.h"
#include "common/proxy.h"

static void numbers_are_plain(void **state)
{
    long v = 7;
    uint64_t u = 7;
    double d = 7;
    assert_int_equal(tcet_parse_long("--n", "5", 0, 10, &v, TCET_ERR_USAGE), 0);
    assert_int_equal(v, 5);
    const char *bad[] = {" 5", "+5", "-5", "5x", "", "5 ", "99999999999999999999999"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(tcet_parse_long("--n", bad[k], 0, 1L << 62, &v, TCET_ERR_USAGE), TCET_ERR_USAGE);
        assert_int_equal(tcet_parse_u64("--n", bad[k], &u, TCET_ERR_CHECKPOINT), TCET_ERR_CHECKPOINT);
        if (k + 1 < sizeof bad / sizeof bad[0]) /* the last one is a fine double */
            assert_int_equal(arg_double("--n", bad[k], 0, 1e300, &d), TCET_ERR_USAGE);
    }
    assert_int_equal(arg_double("--n", "1e999", 0, 1e300, &d), TCET_ERR_USAGE); /* overflow */
    assert_int_equal(v, 5); /* untouched by the refusals */
    assert_int_equal(arg_long("--n", "11", 0, 10, &v), TCET_ERR_USAGE); /* range */
    assert_int_equal(arg_double("--g", "1e-2", 0, 1, &d), 0);
    assert_true(d == 1e-2);
    tcet_error_clear();
}

static void search_and_score_share_the_parser(void **state)
{
    /* `tcet search --population-size " 5"` and `tcet info --num-classes " 5"` alike: refused */
    tcet_search_config c;
    int help = 0;
    char *a1[] = {"search", "--population-size", " 5", NULL};
    assert_int_equal(tcet_config_parse_args(3, a1, &c, &help, NULL), TCET_ERR_USAGE);
    int classes = 100;
    const arg_spec flags[] = {{"--num-classes", ARG_INT, &classes, 1, 1000000, NULL}};
    char *a2[] = {"info", "--num-classes", " 5", NULL};
    assert_int_equal(arg_parse("info", 3, a2, flags, 1, NULL, NULL, NULL, NULL, &help), TCET_ERR_USAGE);
    char *a3[] = {"info", "--num-classes", "+5", NULL};
    assert_int_equal(arg_parse("info", 3, a3, flags, 1, NULL, NULL, NULL, NULL, &help), TCET_ERR_USAGE);
    assert_int_equal(classes, 100);
    tcet_error_clear();
}

static void old_spellings_are_aliases(void **state)
{
    assert_string_equal(arg_alias("--resolution"), "--input-image-size");
    assert_string_equal(arg_alias("--mode"), "--tcet-mode");
    assert_null(arg_alias("--seed"));
    tcet_search_config c;
    int help = 0;
    char *a1[] = {"search", "--input-image-size", "224", "--tcet-mode", "none", NULL};
    assert_int_equal(tcet_config_parse_args(5, a1, &c, &help, NULL), 0);
    assert_int_equal(c.resolution, 224);
    assert_int_equal(c.mode, tcet_mode_parse("none"));
    char *a2[] = {"search", "--resolution=64", "--mode", "log1p", NULL};
    assert_int_equal(tcet_config_parse_args(4, a2, &c, &help, NULL), 0);
    assert_int_equal(c.resolution, 64);
    assert_int_equal(c.mode, tcet_mode_parse("log1p"));
    int res = 32;
    const arg_spec flags[] = {{"--resolution", ARG_INT, &res, 1, 4096, NULL}};
    char *a3[] = {"info", "--input-image-size=16", NULL};
    assert_int_equal(arg_parse("info", 2, a3, flags, 1, NULL, NULL, NULL, NULL, &help), 0);
    assert_int_equal(res, 16);
}

static void argv_loop(void **state)
{
    const char *out = NULL, *run = NULL;
    int json = 0, top = 10, help = 0;
    const arg_spec flags[] = {{"--json", ARG_SWITCH, &json, 1, 0, NULL},
                              {"--top", ARG_INT, &top, 0, 100, NULL},
                              {"--output", ARG_STR, &out, 0, 0, "-o"}};
    char *a1[] = {"x", "RUN", "--json", "--top=3", "-o", "f.svg", NULL};
    assert_int_equal(arg_parse("x", 6, a1, flags, 3, NULL, NULL, "run", &run, &help), 0);
    assert_true(json == 1 && top == 3 && !help);
    assert_string_equal(out, "f.svg");
    assert_string_equal(run, "RUN");
    char *a2[] = {"x", "--bogus", NULL};
    assert_int_equal(arg_parse("x", 2, a2, flags, 3, NULL, NULL, "run", &run, &help), TCET_ERR_USAGE);
    char *a3[] = {"x", "A", "B", NULL};
    run = NULL;
    assert_int_equal(arg_parse("x", 3, a3, flags, 3, NULL, NULL, "run", &run, &help), TCET_ERR_USAGE);
    char *a4[] = {"x", "--top", NULL};
    assert_int_equal(arg_parse("x", 2, a4, flags, 3, NULL, NULL, "run", &run, &help), TCET_ERR_USAGE);
    char *a5[] = {"x", "--json", "-h", "--bogus", NULL};
    assert_int_equal(arg_parse("x", 4, a5, flags, 3, NULL, NULL, "run", &run, &help), 0);
    assert_int_equal(help, 1);
    tcet_error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_are_plain),
        cmocka_unit_test(search_and_score_share_the_parser),
        cmocka_unit_test(old_spellings_are_aliases),
        cmocka_unit_test(argv_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
