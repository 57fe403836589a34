/* The NAS-Bench-201 search space (docs/nb201.md).
 *
 * A structure is one cell: a DAG of four nodes (node 0 = the cell input,
 * node 3 = its output) whose six edges i -> j (i < j) each carry one
 * operation; node j is the sum of its incoming edges.  The network repeats
 * the cell: a 3x3 conv stem with 16 channels + BN, three stages of five
 * cells with 16, 32 and 64 channels, a ResNet basic block with stride 2
 * between the stages (ReLU-Conv3x3(s2)-BN, ReLU-Conv3x3-BN, shortcut
 * AvgPool 2x2 s2 + Conv1x1 without BN), then BN-ReLU, global average
 * pooling and the classifier.  Every BN is affine.
 *
 * Two spellings are accepted:
 *   the cell string   |nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|
 *                     (node 1 | node 2 | node 3; "op~i" is the edge from node i)
 *   NASLib's tuple    (0, 2, 3, 2, 3, 1)
 *                     six operation indices, edges in the order
 *                     0->1, 0->2, 0->3, 1->2, 1->3, 2->3
 *                     (NASLib numbers the nodes from 1: (1,2) (1,3) (1,4) (2,3) (2,4) (3,4)).
 * tcet_arch.cell[] holds the operations in the tuple's edge order. */
#ifndef TCET_NB201_H
#define TCET_NB201_H

#include <stddef.h>

#include "arch.h"
#include "plan.h"

/* Operation indices of NASLib's encoding. */
typedef enum {
    TCET_NB201_SKIP = 0,   /* skip_connect: identity */
    TCET_NB201_NONE = 1,   /* none: the edge contributes zero */
    TCET_NB201_CONV3 = 2,  /* nor_conv_3x3: ReLU, Conv 3x3 (pad 1, no bias), BN */
    TCET_NB201_CONV1 = 3,  /* nor_conv_1x1: ReLU, Conv 1x1 (no bias), BN */
    TCET_NB201_POOL3 = 4,  /* avg_pool_3x3: AvgPool 3x3, stride 1, pad 1, padding not counted */
    TCET_NB201_NOPS = 5
} tcet_nb201_op;

#define TCET_NB201_EDGES 6
#define TCET_NB201_CELLS 5   /* cells per stage */
#define TCET_NB201_STEM 16   /* channels of the stem and of the first stage */

/* Edge e (tuple order) goes from node tcet_nb201_edge_from[e] to tcet_nb201_edge_to[e]. */
extern const int tcet_nb201_edge_from[TCET_NB201_EDGES];
extern const int tcet_nb201_edge_to[TCET_NB201_EDGES];

const char *tcet_nb201_op_name(int op);  /* "skip_connect", "none", ... */

/* Parse a cell string or a tuple (surrounding blanks allowed) into out
 * (grammar = NB201).  Returns 0 or TCET_ERR_USAGE with err filled. */
int tcet_nb201_parse(const char *s, tcet_arch *out, tcet_parse_error *err);
/* The cell string (snprintf semantics). */
size_t tcet_nb201_print(const tcet_arch *a, char *buf, size_t cap);
/* NASLib's tuple "(0, 2, 3, 2, 3, 1)" (snprintf semantics). */
size_t tcet_nb201_print_tuple(const tcet_arch *a, char *buf, size_t cap);

/* The network's graph plan (tcet_plan.dag = 1); o->bn = 0 drops every BN
 * (the Synflow copy); o->reslink is ignored.  The resolution must be a
 * multiple of 4 (two stride-2 reductions whose two branches must agree). */
int tcet_nb201_plan(const tcet_arch *a, const tcet_plan_opts *o, tcet_plan *out);

/* Counters of the network (bn = 1): the exact parameter count (conv and
 * linear weights and biases, BN weight and bias: PyTorch's sum of numel over
 * parameters) and FLOPs as multiply-accumulates of every convolution and
 * of the classifier (no bias, BN, ReLU, pooling or sum terms), at batch 1. */
typedef struct {
    long long params;
    long long conv_macs;     /* Σ over convolutions: k² · cin/groups · cout · hout² */
    long long fc_macs;       /* classifier in · classes */
    long long fc_bias;       /* classes */
    long long pool_flops;    /* Σ over average poolings: k² · C · hout² */
    long long bn_elems;      /* Σ over BN outputs of C · hout² */
    int convs, bns, pools;
} tcet_nb201_counts;

int tcet_nb201_count(const tcet_arch *a, int num_classes, int resolution, tcet_nb201_counts *out);

#endif
