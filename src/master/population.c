/* Population bookkeeping (docs/semantics.md#main-loop). */
#include "master/population.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

void tcet_pop_init(tcet_population *p) { memset(p, 0, sizeof *p); }

void tcet_pop_free(tcet_population *p)
{
    for (size_t i = 0; i < p->n; i++) tcet_cand_free(&p->c[i]);
    free(p->c);
    free(p->a);
    memset(p, 0, sizeof *p);
}

int tcet_pop_add(tcet_population *p, const tcet_cand *c, const tcet_arch *arch)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->c = xrealloc(p->c, p->cap * sizeof *p->c);
        p->a = xrealloc(p->a, p->cap * sizeof *p->a);
    }
    if (arch) {
        p->a[p->n] = *arch;
    } else {
        tcet_parse_error err;
        if (tcet_arch_parse(c->structure, &p->a[p->n], &err))
            return TCET_FAIL(TCET_ERR_CHECKPOINT, "population member %lld does not parse: %s",
                             (long long)c->id, err.msg);
    }
    tcet_cand_copy(&p->c[p->n], c);
    p->n++;
    return 0;
}

long tcet_pop_worst(const tcet_population *p)
{
    long w = -1;
    for (size_t i = 0; i < p->n; i++)
        if (w < 0 || p->c[i].score < p->c[w].score) w = (long)i;
    return w;
}

long tcet_pop_best(const tcet_population *p) { return tcet_cand_best(p->c, p->n); }

void tcet_pop_trim(tcet_population *p, size_t size)
{
    while (p->n > size) {
        size_t w = (size_t)tcet_pop_worst(p);
        tcet_cand_free(&p->c[w]);
        memmove(&p->c[w], &p->c[w + 1], (p->n - w - 1) * sizeof *p->c);
        memmove(&p->a[w], &p->a[w + 1], (p->n - w - 1) * sizeof *p->a);
        p->n--;
    }
}
