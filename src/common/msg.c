/* Packing and unpacking of master/worker messages (see msg.h). */
#include "common/msg.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"


void tcet_buf_free(tcet_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void put(tcet_buf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

void tcet_msg_begin(tcet_buf *b)
{
    uint32_t zero = 0;
    b->len = 0;
    put(b, &zero, sizeof zero);
}

uint32_t tcet_msg_count(const tcet_buf *b)
{
    uint32_t n = 0;
    if (b->len >= sizeof n) memcpy(&n, b->p, sizeof n);
    return n;
}

static void bump(tcet_buf *b)
{
    uint32_t n = tcet_msg_count(b) + 1;
    memcpy(b->p, &n, sizeof n);
}

void tcet_msg_add_task(tcet_buf *b, uint64_t id, uint64_t seed, const char *structure)
{
    size_t sl = strlen(structure);
    uint16_t len = (uint16_t)(sl > 65535 ? 65535 : sl);
    put(b, &id, 8);
    put(b, &seed, 8);
    put(b, &len, 2);
    put(b, structure, len);
    bump(b);
}

void tcet_msg_add_result(tcet_buf *b, uint64_t id, const tcet_cand_result *r)
{
    uint16_t len = (uint16_t)strnlen(r->reason, sizeof r->reason - 1);
    put(b, &id, 8);
    put(b, &r->score, 8);
    put(b, &r->raw, 8);
    put(b, &r->status, 4);
    put(b, &r->seconds, 8);
    put(b, &r->latency, 8);
    put(b, &len, 2);
    put(b, r->reason, len);
    bump(b);
}

static int get(const unsigned char *p, size_t len, size_t *pos, void *dst, size_t n)
{
    if (*pos + n > len) return TCET_FAIL(TCET_ERR_RUNTIME, "malformed message (%zu bytes, need %zu at %zu)",
                                         len, n, *pos);
    memcpy(dst, p + *pos, n);
    *pos += n;
    return 0;
}

int tcet_msg_read_count(const unsigned char *p, size_t len, size_t *pos, uint32_t *n)
{
    *pos = 0;
    return get(p, len, pos, n, 4);
}

int tcet_msg_next_task(const unsigned char *p, size_t len, size_t *pos, tcet_msg_task *t)
{
    uint16_t sl = 0;
    TCET_TRY(get(p, len, pos, &t->id, 8));
    TCET_TRY(get(p, len, pos, &t->seed, 8));
    TCET_TRY(get(p, len, pos, &sl, 2));
    if (*pos + sl > len) return TCET_FAIL(TCET_ERR_RUNTIME, "malformed task message");
    t->structure = (const char *)p + *pos;
    t->len = sl;
    *pos += sl;
    return 0;
}

int tcet_msg_next_result(const unsigned char *p, size_t len, size_t *pos, uint64_t *id, tcet_cand_result *r)
{
    uint16_t sl = 0;
    TCET_TRY(get(p, len, pos, id, 8));
    TCET_TRY(get(p, len, pos, &r->score, 8));
    TCET_TRY(get(p, len, pos, &r->raw, 8));
    TCET_TRY(get(p, len, pos, &r->status, 4));
    TCET_TRY(get(p, len, pos, &r->seconds, 8));
    TCET_TRY(get(p, len, pos, &r->latency, 8));
    TCET_TRY(get(p, len, pos, &sl, 2));
    if (sl >= sizeof r->reason || *pos + sl > len) return TCET_FAIL(TCET_ERR_RUNTIME, "malformed result message");
    memcpy(r->reason, p + *pos, sl);
    r->reason[sl] = 0;
    *pos += sl;
    return 0;
}
