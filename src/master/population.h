/* The evolving population of docs/semantics.md#main-loop: an ordered list (insertion order
 * matters: ties are broken by first occurrence). */
#ifndef TCET_POPULATION_H
#define TCET_POPULATION_H

#include <stddef.h>

#include "common/arch.h"
#include "common/cand.h"

typedef struct {
    tcet_cand *c;    /* owned records */
    tcet_arch *a;    /* parsed structures (parents are mutated from these) */
    size_t n, cap;
} tcet_population;

void tcet_pop_init(tcet_population *p);
void tcet_pop_free(tcet_population *p);
/* Append a deep copy of c (arch may be NULL: parsed from c->structure). */
int tcet_pop_add(tcet_population *p, const tcet_cand *c, const tcet_arch *arch);
/* While n > size: remove the first entry with the minimum score. */
void tcet_pop_trim(tcet_population *p, size_t size);
/* Index of the first entry with the maximum score; -1 if empty. */
long tcet_pop_best(const tcet_population *p);
long tcet_pop_worst(const tcet_population *p);

#endif
