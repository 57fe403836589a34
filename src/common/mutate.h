/* The mutation operator of spec §4 and the candidate lists (canonical order,
 * spec §11.6). */
#ifndef TCET_MUTATE_H
#define TCET_MUTATE_H

#include "arch.h"
#include "rng.h"

typedef enum { TCET_SPACE_XXBL = 0, TCET_SPACE_IDW_FIXFC = 1 } tcet_space;

/* Parse "XXBL" / "IDW_fixfc" (case-insensitive); -1 if unknown. */
int tcet_space_parse(const char *s);
const char *tcet_space_name(int space);

/* max(base, round_half_even(x / base) * base) */
int tcet_smart_round(double x, int base);
/* Channel choices of width c in canonical order; returns the count (<= 9). */
int tcet_channel_choices(int c, int space, int out[9]);
/* Sub-layer choices of L in canonical order; returns the count (<= 5). */
int tcet_sublayer_choices(int L, int out[5]);
/* Number of candidates for block `id` and the i-th one (canonical order). */
long tcet_candidate_count(const tcet_arch *a, int id, int space);
void tcet_candidate_at(const tcet_arch *a, int id, int space, long i, tcet_block *out);

/* get_new_random_structure_str(parent, num_replaces) followed by split(6). */
void tcet_mutate(const tcet_arch *parent, int num_replaces, int space, tcet_rng *rng, tcet_arch *child);
/* split(threshold): SuperRes blocks with L >= threshold become (3, L-3). */
void tcet_split(tcet_arch *a, int threshold);

#endif
