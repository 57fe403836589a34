/* libFuzzer target for the structure parser (see tests/fuzz/README.md).
 * Any input: parse; on success the printed form must re-parse to the same
 * blocks; on failure the column must lie inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char s[TCET_MAX_STRUCT + 64], p[2 * TCET_MAX_STRUCT];
    if (size >= sizeof s) size = sizeof s - 1;
    memcpy(s, data, size);
    s[size] = 0;
    size_t len = strlen(s);
    tcet_arch a, b;
    tcet_parse_error e;
    if (tcet_arch_parse(s, &a, &e) == 0) {
        size_t n = tcet_arch_print(&a, p, sizeof p);
        if (n >= sizeof p) abort();
        if (tcet_arch_parse(p, &b, NULL) != 0) abort();
        if (memcmp(&a, &b, sizeof a) != 0) abort();
    } else {
        if (e.column < 1 || (size_t)e.column > len + 1) abort();
        if (!e.msg[0] || strchr(e.msg, '\n')) abort();
    }
    return 0;
}
