/* The mutation operator and its candidate lists in canonical order
 * (docs/semantics.md, "Mutation"). */
#ifndef TCET_MUTATE_H
#define TCET_MUTATE_H

#include "arch.h"
#include "rng.h"

typedef enum { TCET_SPACE_XXBL = 0, TCET_SPACE_IDW_FIXFC = 1 } tcet_space;

/* How a replacement block is drawn from its candidate list.
 * REFERENCE: with the multiplicities of the reference's list, which holds
 *   duplicates (docs/semantics.md, "Mutation weights"): a candidate of the
 *   j-th type of a group of n types occurs (n - j + 1) + [j >= 2] times.
 * UNIFORM: every distinct candidate equally likely (tcet before 0.9). */
typedef enum { TCET_WEIGHTS_REFERENCE = 0, TCET_WEIGHTS_UNIFORM = 1 } tcet_weights;

/* Parse "XXBL" / "IDW_fixfc" (or "IDW"), case-insensitive; -1 if unknown. */
int tcet_space_parse(const char *s);
const char *tcet_space_name(int space);
/* Parse "reference" / "uniform"; -1 if unknown. */
int tcet_weights_parse(const char *s);
const char *tcet_weights_name(int weights);

/* max(base, round_half_even(x / base) * base) */
int tcet_smart_round(double x, int base);
/* Channel choices of width c in canonical order; returns the count (<= 9). */
int tcet_channel_choices(int c, int space, int out[9]);
/* Sub-layer choices of L in canonical order; returns the count (<= 5). */
int tcet_sublayer_choices(int L, int out[5]);
/* Number of distinct candidates for block `id` and the i-th one (canonical order). */
long tcet_candidate_count(const tcet_arch *a, int id, int space);
void tcet_candidate_at(const tcet_arch *a, int id, int space, long i, tcet_block *out);
/* How often the i-th distinct candidate occurs in the list a replacement is
 * drawn from, and that list's length (the sum of the weights): candidate i
 * is drawn with probability weight / length. */
long tcet_candidate_weight(const tcet_arch *a, int id, int space, int weights, long i);
long tcet_candidate_list_length(const tcet_arch *a, int id, int space, int weights);
/* The distinct candidate at position pos in [0, list length) of the list. */
long tcet_candidate_pick(const tcet_arch *a, int id, int space, int weights, long pos);

/* get_new_random_structure_str(parent, num_replaces) followed by split(6).
 * One tcet_rng_below draw per replacement for the block and one for the
 * position in its list. */
void tcet_mutate(const tcet_arch *parent, int num_replaces, int space, int weights, tcet_rng *rng,
                 tcet_arch *child);
/* split(threshold): SuperRes blocks with L >= threshold become (3, L-3). */
void tcet_split(tcet_arch *a, int threshold);

#endif
