/* Bounded random-input test of the structure parser: >= 100 000 mutated
 * strings (byte flips, truncations, insertions of digits, parentheses,
 * separators, huge numbers, signs, duplicated segments).  None may crash;
 * each either parses to a structure that prints and re-parses to the same
 * blocks, or fails with TCET_ERR_USAGE, a one-line message and a column
 * inside the string (1 .. len + 1).  Run under ASan+UBSan in CI. */
#include "test_support.h"

#include <stdio.h>
#include <string.h>

#include "common/arch.h"
#include "common/error.h"
#include "common/rng.h"

static const char *seeds[] = {
    "SuperConvK3BNRELU(3,88,1,1)SuperResK1K7K1(88,120,1,16,1)SuperResK1K7K1(120,192,2,16,3)SuperResK1K5K1(192,224,1,24,4)"
    "SuperResK1K5K1(224,96,2,24,2)SuperResK1K3K1(96,168,2,40,3)SuperResK1K3K1(168,112,1,48,3)SuperConvK1BNRELU(112,512,1,1)",
    "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)SuperResIDWE6K3(32,48,2,32,1)SuperResIDWE6K3(48,96,2,48,1)"
    "SuperResIDWE6K3(96,128,2,96,1)SuperConvK1BNRELU(128,2048,1,1)",
    "SuperConvK3BNRELU(3,24,2,1)SuperResK3K3(24,32,2,64,1)SuperResK5K5(32,64,2,32,1)SuperResK7K7(64,168,2,96,1)",
    "SuperConvK5BNRELU(stem|3,16,1,1)SuperResIDWE4K7(b1|16,40,2,40,1)SuperConvK7BNRELU(40,64,1,2)",
};

static const char *inserts[] = {"0", "7", "12", "-", "+", "(", ")", ",", "|", "99999999999999999999999",
                                "65536", "65537", "2147483648", ")(", "((", "))", "SuperResK3K3", "x", " ", ";"};

enum { BUF = TCET_MAX_STRUCT + 1200 };

static size_t mutate_string(char *s, size_t len, tcet_rng *r)
{
    int edits = 1 + (int)tcet_rng_below(r, 4);
    for (int e = 0; e < edits; e++) {
        size_t pos = len ? (size_t)tcet_rng_below(r, len + 1) : 0;
        switch (tcet_rng_below(r, 6)) {
        case 0: /* byte flip (any byte, NUL truncates) */
            if (len && pos < len) s[pos] = (char)tcet_rng_below(r, 256);
            break;
        case 1: /* truncation */
            len = pos;
            s[len] = 0;
            break;
        case 2: { /* insertion of a token */
            const char *t = inserts[tcet_rng_below(r, sizeof inserts / sizeof inserts[0])];
            size_t tl = strlen(t);
            if (len + tl + 1 >= BUF) break;
            memmove(s + pos + tl, s + pos, len - pos + 1);
            memcpy(s + pos, t, tl);
            len += tl;
            break;
        }
        case 3: /* deletion of a span */
            if (pos < len) {
                size_t n = 1 + (size_t)tcet_rng_below(r, 8);
                if (pos + n > len) n = len - pos;
                memmove(s + pos, s + pos + n, len - pos - n + 1);
                len -= n;
            }
            break;
        case 4: /* duplicate a segment (grows towards the length and block limits) */
            if (pos < len) {
                size_t n = 1 + (size_t)tcet_rng_below(r, len - pos < 800 ? len - pos : 800);
                if (len + n + 1 >= BUF) break;
                memmove(s + pos + n, s + pos, len - pos + 1);
                len += n;
            }
            break;
        default: /* replace a digit by another digit (usually stays valid) */
            if (pos < len && s[pos] >= '0' && s[pos] <= '9') s[pos] = (char)('0' + tcet_rng_below(r, 10));
            break;
        }
        len = strlen(s); /* a flipped NUL shortens the string */
    }
    return len;
}

static void random_strings(void **state)
{
    tcet_rng r;
    tcet_rng_seed(&r, 2024, TCET_STREAM_AUX, 99);
    static char s[BUF], printed[BUF];
    long ok = 0, failed = 0;
    int cols_end = 0;
    for (long it = 0; it < 120000; it++) {
        const char *seed = seeds[tcet_rng_below(&r, sizeof seeds / sizeof seeds[0])];
        size_t len = strlen(seed);
        memcpy(s, seed, len + 1);
        len = mutate_string(s, len, &r);
        tcet_arch a;
        tcet_parse_error e;
        e.column = -1;
        int rc = tcet_arch_parse(s, &a, &e);
        if (rc == 0) {
            ok++;
            assert_true(a.n >= 1 && a.n <= TCET_MAX_BLOCKS);
            for (int i = 0; i < a.n; i++) {
                assert_true(a.b[i].in >= 1 && a.b[i].out >= 1 && a.b[i].stride >= 1 && a.b[i].layers >= 1);
                assert_true(a.b[i].family == 0 ? a.b[i].btl == 0 : a.b[i].btl >= 1);
            }
            size_t pl = tcet_arch_print(&a, printed, sizeof printed);
            assert_true(pl < sizeof printed);
            tcet_arch b;
            assert_int_equal(tcet_arch_parse(printed, &b, NULL), 0);
            assert_memory_equal(&a, &b, sizeof a);
        } else {
            failed++;
            assert_int_equal(rc, TCET_ERR_USAGE);
            if (e.column < 1 || (size_t)e.column > len + 1)
                print_error("column %d out of range for length %zu: %s\n", e.column, len, e.msg);
            assert_true(e.column >= 1 && (size_t)e.column <= len + 1);
            assert_true(e.msg[0] != 0);
            assert_null(strchr(e.msg, '\n'));
            cols_end += (size_t)e.column == len + 1;
        }
    }
    print_message("parser fuzz: %ld parsed and round-tripped, %ld rejected (%d at end of input)\n", ok, failed, cols_end);
    /* both outcomes must be well exercised */
    assert_true(ok > 5000);
    assert_true(failed > 50000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
