/* Structure-string parser and printer (docs/semantics.md#grammar, docs/semantics.md#super-blocks): every block name,
 * labels, canonical round trips, and one error per kind of mistake with the
 * 1-based column it points at. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/arch.h"
#include "common/error.h"

static void every_block_name(void **state)
{
    /* 4 conv + 3 KXKX + 3 K1KXK1 + 12 IDW names, each parsed with its fields */
    char s[128], out[128];
    int count = 0;
    for (int k = 1; k <= 7; k += 2) {
        snprintf(s, sizeof s, "SuperConvK%dBNRELU(3,16,2,1)", k);
        tcet_arch a;
        assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
        assert_int_equal(a.n, 1);
        assert_int_equal(a.b[0].family, TCET_FAM_CONV);
        assert_int_equal(a.b[0].kernel, k);
        assert_int_equal(a.b[0].in, 3);
        assert_int_equal(a.b[0].out, 16);
        assert_int_equal(a.b[0].stride, 2);
        assert_int_equal(a.b[0].layers, 1);
        tcet_arch_print(&a, out, sizeof out);
        assert_string_equal(out, s);
        count++;
    }
    for (int k = 3; k <= 7; k += 2) {
        tcet_arch a;
        snprintf(s, sizeof s, "SuperResK%dK%d(16,32,1,8,2)", k, k);
        assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
        assert_int_equal(a.b[0].family, TCET_FAM_KXKX);
        assert_int_equal(a.b[0].kernel, k);
        assert_int_equal(a.b[0].btl, 8);
        assert_int_equal(a.b[0].layers, 2);
        tcet_arch_print(&a, out, sizeof out);
        assert_string_equal(out, s);
        snprintf(s, sizeof s, "SuperResK1K%dK1(16,32,2,8,3)", k);
        assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
        assert_int_equal(a.b[0].family, TCET_FAM_K1KXK1);
        assert_int_equal(a.b[0].kernel, k);
        tcet_arch_print(&a, out, sizeof out);
        assert_string_equal(out, s);
        count += 2;
        static const int es[4] = {1, 2, 4, 6};
        for (int e = 0; e < 4; e++) {
            snprintf(s, sizeof s, "SuperResIDWE%dK%d(8,32,2,40,5)", es[e], k);
            assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
            assert_int_equal(a.b[0].family, TCET_FAM_IDW);
            assert_int_equal(a.b[0].kernel, k);
            assert_int_equal(a.b[0].expansion, es[e]);
            assert_int_equal(a.b[0].btl, 40);
            assert_int_equal(a.b[0].layers, 5);
            tcet_arch_print(&a, out, sizeof out);
            assert_string_equal(out, s);
            char nm[64];
            snprintf(s, sizeof s, "SuperResIDWE%dK%d", es[e], k);
            assert_string_equal(tcet_block_name(&a.b[0], nm, sizeof nm), s);
            count++;
        }
    }
    assert_int_equal(count, 22);
}

static void zennet_round_trip(void **state)
{
    static const char *s[] = {
        "SuperConvK3BNRELU(3,88,1,1)SuperResK1K7K1(88,120,1,16,1)SuperResK1K7K1(120,192,2,16,3)SuperResK1K5K1(192,224,1,24,4)SuperResK1K5K1(224,96,2,24,2)SuperResK1K3K1(96,168,2,40,3)SuperResK1K3K1(168,112,1,48,3)SuperConvK1BNRELU(112,512,1,1)",
        "SuperConvK3BNRELU(3,16,2,1)SuperResIDWE1K7(16,48,2,72,1)SuperResIDWE2K7(48,72,2,64,3)SuperResIDWE2K7(72,152,2,144,3)SuperResIDWE2K7(152,360,2,352,4)SuperResIDWE4K7(360,288,1,264,3)SuperConvK1BNRELU(288,2048,1,1)",
        "SuperConvK3BNRELU(3,24,2,1)SuperResK3K3(24,32,2,64,1)SuperResK5K5(32,64,2,32,1)SuperResK5K5(64,168,2,96,1)SuperResK1K5K1(168,320,1,120,1)SuperResK1K5K1(320,640,2,304,3)SuperResK1K5K1(640,512,1,384,1)SuperConvK1BNRELU(512,2384,1,1)",
    };
    for (int i = 0; i < 3; i++) {
        tcet_arch a;
        char out[TCET_MAX_STRUCT];
        assert_int_equal(tcet_arch_parse(s[i], &a, NULL), 0);
        size_t n = tcet_arch_print(&a, out, sizeof out);
        assert_int_equal(n, strlen(s[i]));
        assert_string_equal(out, s[i]);
        /* snprintf semantics: a short buffer gets a truncated, terminated prefix */
        char small[10];
        assert_int_equal(tcet_arch_print(&a, small, sizeof small), strlen(s[i]));
        assert_int_equal(strlen(small), 9);
        assert_int_equal(strncmp(small, s[i], 9), 0);
    }
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(s[0], &a, NULL), 0);
    assert_int_equal(a.n, 8);
    assert_int_equal(tcet_arch_num_layers(&a), 18);
}

static void labels_and_blanks(void **state)
{
    tcet_arch a, b;
    char out[256];
    assert_int_equal(tcet_arch_parse("SuperConvK3BNRELU(stem|3,8,1,1)SuperResK3K3(blk_1|8,16,2,8,1)", &a, NULL), 0);
    assert_int_equal(tcet_arch_parse("SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)", &b, NULL), 0);
    assert_memory_equal(&a, &b, sizeof a);
    tcet_arch_print(&a, out, sizeof out);
    assert_string_equal(out, "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)");
    /* surrounding blanks (a line read from a file) are tolerated */
    assert_int_equal(tcet_arch_parse("  SuperConvK3BNRELU(3,8,1,1)\n", &a, NULL), 0);
    assert_int_equal(a.n, 1);
}

typedef struct {
    const char *s;
    int column;
    const char *word; /* must appear in the message */
} bad;

static void errors_with_columns(void **state)
{
    static const bad cases[] = {
        {"", 1, "empty"},
        {"   ", 1, "empty"},
        {"SuperFoo(3,8,1,1)", 1, "unknown block name 'SuperFoo'"},
        {"SuperConvK3BNRELU(3,8,1,1)SuperConvK9BNRELU(8,8,1,1)", 27, "unknown block name"},
        {"SuperConvK3(3,8,1,1)", 1, "unknown"},                 /* no prefix matching */
        {"SuperConvK3BNRELU(3,8,1,1", 26, "missing ')'"},
        {"SuperConvK3BNRELU(3,8,1,1))", 27, "')'"},
        {"SuperConvK3BNRELU((3,8,1,1)", 19, "'('"},
        {"SuperConvK3BNRELU(3,8,1)", 24, "takes 4 arguments, got 3"},
        {"SuperConvK3BNRELU(3,8,1,1,1)", 26, "takes 4 arguments"},
        {"SuperResK3K3(8,16,2,8)", 22, "takes 5 arguments, got 4"},
        {"SuperConvK3BNRELU()", 19, "takes 4 arguments, got 0"},
        {"SuperConvK3BNRELU(3,x,1,1)", 21, "out channels"},
        {"SuperConvK3BNRELU(3,8,0,1)", 23, "stride 0 is out of range"},
        {"SuperConvK3BNRELU(3,-8,1,1)", 21, "sign"},
        {"SuperConvK3BNRELU(3,8,1,0)", 25, "sub_layers 0"},
        {"SuperConvK3BNRELU(3,99999999999999999999,1,1)", 21, "too large"},
        {"SuperConvK3BNRELU(3,65537,1,1)", 21, "out of range"},
        {"SuperConvK3BNRELU(3,8,1,1)garbage", 27, "trailing"},
        {"SuperConvK3BNRELU(3,8,1,1)  SuperConvK3BNRELU(8,8,1,1)", 27, "unexpected character ' '"},
        {"SuperConvK3BNRELU(3,8,1,1);", 27, "unexpected character ';'"},
        {"SuperConvK3BNRELU(3,8,1,1)SuperResK3K3", 27, "trailing"},
        {"SuperConvK3BNRELU(3, 8,1,1)", 21, "out channels"},
        {"SuperConvK3BNRELU(a-b|3,8,1,1)", 20, "label"},
        {"SuperConvK3BNRELU(3,8,1,1x)", 26, "unexpected character 'x'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tcet_arch a;
        tcet_parse_error e;
        int rc = tcet_arch_parse(cases[i].s, &a, &e);
        if (rc != TCET_ERR_USAGE || e.column != cases[i].column || !strstr(e.msg, cases[i].word))
            print_error("case '%s': rc %d column %d msg '%s' (want column %d, '%s')\n", cases[i].s, rc,
                        e.column, e.msg, cases[i].column, cases[i].word);
        assert_int_equal(rc, TCET_ERR_USAGE);
        assert_int_equal(e.column, cases[i].column);
        assert_non_null(strstr(e.msg, cases[i].word));
        assert_null(strchr(e.msg, '\n')); /* one line */
    }
    /* NULL err is allowed */
    tcet_arch a;
    assert_int_equal(tcet_arch_parse("nope", &a, NULL), TCET_ERR_USAGE);
}

static void limits(void **state)
{
    /* exactly TCET_MAX_BLOCKS blocks parse; one more is "too many blocks" */
    static char s[TCET_MAX_STRUCT + 64];
    const char *blk = "SuperConvK1BNRELU(8,8,1,1)"; /* 26 chars */
    s[0] = 0;
    for (int i = 0; i < TCET_MAX_BLOCKS; i++) strcat(s, blk);
    tcet_arch a;
    tcet_parse_error e;
    assert_int_equal(tcet_arch_parse(s, &a, &e), 0);
    assert_int_equal(a.n, TCET_MAX_BLOCKS);
    strcat(s, blk);
    assert_int_equal(tcet_arch_parse(s, &a, &e), TCET_ERR_USAGE);
    assert_non_null(strstr(e.msg, "too many blocks"));
    assert_int_equal(e.column, 26 * TCET_MAX_BLOCKS + 1);
    /* longer than TCET_MAX_STRUCT */
    memset(s, 'S', TCET_MAX_STRUCT + 10);
    s[TCET_MAX_STRUCT + 10] = 0;
    assert_int_equal(tcet_arch_parse(s, &a, &e), TCET_ERR_USAGE);
    assert_non_null(strstr(e.msg, "too long"));
}

static void load_from_file(void **state)
{
    char path[] = "/tmp/tcet_arch_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "  SuperConvK3BNRELU(3,8,1,1)SuperConvK1BNRELU(8,32,1,1)  \r\nsecond line ignored(\n");
    fclose(f);
    char arg[64];
    snprintf(arg, sizeof arg, "@%s", path);
    tcet_arch a;
    assert_int_equal(tcet_arch_load(arg, &a), 0);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.b[1].out, 32);
    assert_int_equal(tcet_arch_load("SuperConvK3BNRELU(3,8,1,1)", &a), 0);
    unlink(path);
    tcet_error_clear();
    assert_int_equal(tcet_arch_load(arg, &a), TCET_ERR_USAGE);
    assert_non_null(strstr(tcet_error_message(), path));
    tcet_error_clear();
    assert_int_equal(tcet_arch_load("SuperConvK3BNRELU(3,8,1", &a), TCET_ERR_USAGE);
    assert_non_null(strstr(tcet_error_message(), "column 24"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_block_name),
        cmocka_unit_test(zennet_round_trip),
        cmocka_unit_test(labels_and_blanks),
        cmocka_unit_test(errors_with_columns),
        cmocka_unit_test(limits),
        cmocka_unit_test(load_from_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
