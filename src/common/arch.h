/* ZenNAS structure strings: super blocks, parsing and printing (docs/semantics.md#grammar, docs/semantics.md#super-blocks).
 *
 * A structure is a plain array of super blocks; every field is an int so a
 * tcet_arch can be copied, compared with memcmp and sent as bytes. */
#ifndef TCET_ARCH_H
#define TCET_ARCH_H

#include <stddef.h>

#define TCET_MAX_BLOCKS 64      /* the search space never exceeds ~20 */
#define TCET_MAX_STRUCT 4096    /* longest structure string accepted (bytes) */

typedef enum {
    TCET_FAM_CONV = 0,    /* SuperConvK{k}BNRELU(in,out,stride,L)            */
    TCET_FAM_KXKX = 1,    /* SuperResK{k}K{k}(in,out,stride,btl,L)          */
    TCET_FAM_K1KXK1 = 2,  /* SuperResK1K{k}K1(in,out,stride,btl,L)          */
    TCET_FAM_IDW = 3      /* SuperResIDWE{e}K{k}(in,out,stride,btl,L)       */
} tcet_family;

typedef struct {
    int family;     /* tcet_family */
    int kernel;     /* k: 1/3/5/7 for SuperConv, 3/5/7 for SuperRes */
    int expansion;  /* e in {1,2,4,6} for IDW, 0 otherwise */
    int in, out, stride;
    int btl;        /* bottleneck width; 0 for SuperConv */
    int layers;     /* L = sub_layers */
} tcet_block;

/* Search spaces: the ZenNAS super-block chain, or a NAS-Bench-201 cell
 * (common/nb201.h: one cell of six edge operations repeated in a fixed
 * network; then n = 0 and b[] is unused). */
typedef enum { TCET_GRAMMAR_ZENNAS = 0, TCET_GRAMMAR_NB201 = 1 } tcet_grammar;

typedef struct {
    int n;
    tcet_block b[TCET_MAX_BLOCKS];
    int grammar;    /* tcet_grammar */
    int cell[6];    /* NB201: operation of each edge (tcet_nb201_op), edges in
                       NASLib's tuple order (common/nb201.h); zero for ZenNAS */
} tcet_arch;

typedef struct {
    int column;     /* 1-based column of the offending character */
    char msg[200];  /* e.g. "unknown block name 'SuperFoo'" */
} tcet_parse_error;

/* Parse a structure string: ZenNAS super blocks, or (common/nb201.h) a
 * NAS-Bench-201 cell string "|op~0|+|op~0|op~1|+|...|" or NASLib's
 * six-index tuple "(0, 2, 3, 2, 3, 1)".  For ZenNAS (an optional "label|" inside each block's
 * parentheses is accepted and ignored). Returns 0, or TCET_ERR_USAGE with
 * err filled (err may be NULL). Never allocates. */
int tcet_arch_parse(const char *s, tcet_arch *out, tcet_parse_error *err);
/* Block name, e.g. "SuperResK1K3K1"; returns buf. */
const char *tcet_block_name(const tcet_block *b, char *buf, size_t cap);
/* Canonical string of one block / a structure; returns the length that
 * would have been written (snprintf semantics). */
size_t tcet_block_print(const tcet_block *b, char *buf, size_t cap);
size_t tcet_arch_print(const tcet_arch *a, char *buf, size_t cap);
/* Σ sub_layers (the reference's get_num_layers). */
int tcet_arch_num_layers(const tcet_arch *a);
/* Read a structure from "literal" or "@file" (first line, stripped). */
int tcet_arch_load(const char *arg, tcet_arch *out);

#endif
