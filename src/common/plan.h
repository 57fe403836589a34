/* Expansion of a structure into a flat layer plan (docs/semantics.md#super-blocks, docs/semantics.md#budget-network-and-scoring-network, docs/semantics.md#layer-order).
 *
 * The plan lists the basic operations in forward order.  For the scoring
 * network (reslink = 0) it is a plain chain conv/bn/relu ... gap, linear.
 * For the budget network (reslink = 1) residual wrappers appear as
 * RES_BEGIN ... RES_END pairs: RES_BEGIN remembers its input; the inner ops
 * follow; a projection shortcut, when present, is a CONV (is_proj = 1, with
 * bias, applied to the remembered input) and a BN (is_proj = 1) placed after
 * the inner ops; RES_END adds the shortcut (projection or identity) to the
 * inner output.  The RELU after the sum follows RES_END.  Conv/Linear ops
 * appear in exactly the PyTorch named_modules() order of §2. */
#ifndef TCET_PLAN_H
#define TCET_PLAN_H

#include "arch.h"

typedef enum {
    TCET_OP_CONV = 0,
    TCET_OP_BN,
    TCET_OP_RELU,
    TCET_OP_RES_BEGIN,
    TCET_OP_RES_END,
    TCET_OP_GAP,      /* global average pool + flatten */
    TCET_OP_LINEAR,
    /* graph plans only (tcet_plan.dag, the NAS-Bench-201 network): */
    TCET_OP_AVGPOOL,  /* k x k average pooling, stride, pad; count_pad = 0: the
                         divisor counts only the window's positions inside the
                         input (PyTorch count_include_pad=False) */
    TCET_OP_ZERO,     /* a zero tensor of cout x hout x hout (a cell node that
                         every incoming edge leaves empty) */
    TCET_OP_SUM       /* elementwise sum of its nsrc (2 or 3) inputs */
} tcet_op_kind;

typedef struct {
    int kind;         /* tcet_op_kind */
    int block;        /* super-block index; -1 for the head (gap, linear) */
    int cin, cout;    /* channels (BN/RELU: cin == cout); LINEAR: in, classes */
    int k, stride, pad, groups, bias;   /* CONV; LINEAR: bias = 1 */
    int hin, hout;    /* square spatial size in/out (true PyTorch sizes) */
    int is_proj;      /* CONV/BN belonging to a projection shortcut */
    int res_has_proj; /* RES_BEGIN/RES_END: 1 projection, 0 identity */
    char name[96];    /* qualified module name of CONV/BN/LINEAR, e.g.
                         "module_list.1.module_list.3.netblock" */
    /* graph plans (dag = 1): the op indices this op reads (-1: the network
     * input); nsrc = 1, or 2..3 for SUM, 0 for ZERO.  Chain plans (dag = 0)
     * leave them 0: every op reads the previous op's output. */
    int nsrc;
    int src[3];
    int count_pad;    /* AVGPOOL: 1 count_include_pad=True, 0 False */
} tcet_op;

typedef struct {
    int reslink;      /* 1: budget network with shortcuts; 0: scoring network */
    int bn;           /* 1: BN present; 0: BN removed (Synflow copy) */
    int num_classes;
    int resolution;
} tcet_plan_opts;

typedef struct {
    tcet_plan_opts opts;
    int n, cap;
    tcet_op *ops;
    int num_scored;   /* number of CONV + LINEAR ops (the layerwise axis) */
    int dag;          /* 1: ops name their inputs (src); ops are in a topological order */
} tcet_plan;

/* ZenNAS structures expand as above; NAS-Bench-201 cells (a->grammar) expand
 * into a graph plan (common/nb201.h; reslink is ignored: the NB201 network
 * always has its reduction blocks' shortcuts). */
int tcet_plan_build(const tcet_arch *a, const tcet_plan_opts *o, tcet_plan *out);
void tcet_plan_free(tcet_plan *p);

#endif
