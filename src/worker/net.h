/* Executor of a scoring network on a compute backend (docs/semantics.md#head-bn-eps-and-initialisation, docs/semantics.md#budget-network-and-scoring-network, docs/semantics.md#layer-order).
 *
 * A tcet_net is built from a tcet_plan for one dtype and batch size: the
 * plain-chain scoring network (conv/bn/relu ... gap, linear), or the budget
 * network with residual wrappers (RES_BEGIN's y aliases its input, a
 * projection CONV/BN reads that remembered input, RES_END's y = inner output
 * + shortcut; used for the latency filter, docs/semantics.md#main-loop, and for scoring a
 * no_reslink = 0 network, forward and backward).
 * Every parameter, gradient and op output lives in ONE grow-only device
 * arena: rebuilding the net for the next candidate reuses it, so a worker
 * that scores thousands of candidates reaches a steady memory footprint
 * (tcet_net_arena_bytes() stops growing).
 *
 * Parameter order = PyTorch state_dict order of the scoring network:
 * conv weight [+ bias]; BN weight, bias, running_mean, running_var;
 * FC weight, bias. */
#ifndef TCET_NET_H
#define TCET_NET_H

#include <stddef.h>
#include <stdint.h>

#include "common/arch.h"
#include "common/plan.h"
#include "common/rng.h"
#include "kernels/backend.h"

/* One executed op.  Pointers are device pointers (of the net's backend and
 * dtype); NULL where the op has no such tensor. */
typedef struct {
    tcet_op op;            /* copy of the plan op */
    tcet_conv_desc conv;   /* CONV: descriptor for the net's batch */
    int scored;            /* index on the layerwise axis (CONV/LINEAR), else -1 */
    size_t in_count;       /* elements of the op input (batch included) */
    size_t out_count;      /* elements of the op output (batch included) */
    size_t w_count, b_count; /* CONV/LINEAR weight and bias elements; BN: C and C */
    void *w, *b;           /* CONV/LINEAR weight, bias; BN gamma, beta */
    void *rm, *rv;         /* BN running mean / var */
    void *gw, *gb;         /* gradients of w, b (written by tcet_net_backward) */
    void *save_mean, *save_invstd; /* BN train-mode statistics (for backward) */
    void *y;               /* op output (every op output is kept, except with want_codes) */
    void *codes;           /* CONV with tcet_net.want_codes: its NASWOT code rows (backend memory) */
    int codes_ok;          /* 1: the last forward wrote them (be->conv_bn_relu_eval, conv_pair_eval) */
    int y_unstored;        /* 1: the last forward did not write y: a ReLU whose output only the
                            * 1x1 conv after it reads, fused by be->bn_relu_conv_train (the
                            * backward recomputes it, conv_bn_relu_bwd's xin) */
} tcet_net_op;

typedef struct {
    tcet_backend *be;
    int dtype;             /* TCET_F32 / TCET_F64, or TCET_F16 (forward only, see tcet_net_build) */
    int batch;             /* images per forward */
    int resolution, num_classes, has_bn;
    int nops;
    tcet_net_op *ops;      /* host array (grow-only) */
    int nscored;
    int *scored;           /* op index of each layer on the layerwise axis */
    int feature_op;        /* last op before GAP (Zen's blocks-only output) */
    void *x;               /* input [batch, 3, R, R] (device) */
    void *logits;          /* = ops[last].y, [batch, classes] */
    void *dlogits;         /* [batch, classes], read by tcet_net_backward */
    int32_t *labels;       /* [batch] int32 (device) for softmax_xent */
    int last_train;        /* mode of the last forward (-1: none yet) */
    int want_codes;        /* 1: eval-mode forwards also write the NASWOT codes of every conv
                            * output where the backend fuses them (be->conv_bn_relu_eval;
                            * tcet_net_op.codes_ok, docs/performance.md); such a conv's own
                            * output y is then not written, nor the ReLU output between the
                            * two 1x1 convs of a pair that be->conv_pair_eval fuses (with
                            * skip_bn_out).  Default 0. */
    void *codes_mem;       /* their memory (grow-only) */
    size_t codes_cap;
    int skip_bn_out;       /* 1: where a BN and its ReLU run fused (be->bn_relu_fwd), the
                            * BN's own output is not written, only the ReLU's (docs/performance.md:
                            * T-CET never reads it; the baseline NASWOT does).  Default 0. */
    /* arena (private) */
    void *arena;
    size_t arena_cap, arena_used;
    int ops_cap, scored_cap;
    void *grad_a, *grad_b; /* ping-pong activation-gradient buffers */
    void *grad_c;          /* third one, residual nets only: the shortcut's gradient */
    size_t max_act;
    double *host_tmp;      /* host scratch (grow-only) */
    size_t host_tmp_cap;
    int dry;               /* tcet_net_estimate: size the arena, allocate nothing */
    /* graph plans (NAS-Bench-201, net_dag.c): gradient slots of max_act
     * elements each (the last one is the accumulation temporary) */
    int dag;
    int dag_slots;
    void *dag_grad;        /* dag_slots slots, dag_slot_bytes apart */
    size_t dag_slot_bytes;
    int *dag_slot_of;      /* per op: its output gradient's slot (-1: none yet) */
    int *dag_written;      /* per op: its gradient slot holds a value */
    int dag_cap;
    double *dag_host;      /* host scratch for the pooling ops (grow-only) */
    size_t dag_host_cap;
    void *codes32;         /* float64 nets: float32 copy of a tensor for gram_codes (grow-only) */
    size_t codes32_cap;
} tcet_net;

/* A zero-initialised tcet_net is "empty"; build() may be called repeatedly
 * on the same net (buffers are reused).  Fails with TCET_ERR_USAGE for
 * inconsistent plans, TCET_ERR_BACKEND/NOMEM when the arena cannot grow.
 * Residual plans (reslink = 1) run forward and backward.
 * dtype TCET_F16 (the fp16 latency network, docs/semantics.md#main-loop): only on a backend
 * with has_f16 (else TCET_ERR_BACKEND), and only for eval-mode forwards:
 * every tensor is half (parameters and running statistics too, as PyTorch's
 * .half()), host values are converted on upload (round to nearest even) and
 * on download; no gradient buffers are allocated, and a train-mode forward,
 * backward, cross-entropy or dlogits on it fail with TCET_ERR_USAGE. */
int tcet_net_build(tcet_net *net, tcet_backend *be, const tcet_plan *plan, int dtype, int batch);
/* Convenience: expand arch (reslink 0, bn as given) and build. */
int tcet_net_build_arch(tcet_net *net, tcet_backend *be, const tcet_arch *arch, int bn,
                        int num_classes, int resolution, int dtype, int batch);
/* The same with the residual shortcuts (reslink = 1: the network with
 * no_reslink = False, projection BN omitted too when bn = 0) or without. */
int tcet_net_build_arch_res(tcet_net *net, tcet_backend *be, const tcet_arch *arch, int bn,
                            int reslink, int num_classes, int resolution, int dtype, int batch);
void tcet_net_free(tcet_net *net);
size_t tcet_net_arena_bytes(const tcet_net *net);
/* What tcet_net_build(plan, dtype, batch) would need, without allocating:
 * *arena = the device arena it allocates (headroom included), *host = the
 * largest host scratch a forward/backward downloads into (host_tmp). */
int tcet_net_estimate(tcet_backend *be, const tcet_plan *plan, int dtype, int batch, size_t *arena, size_t *host);

/* PyTorch default initialisation (docs/semantics.md#head-bn-eps-and-initialisation), drawn in module order from r:
 * conv weight U(±1/sqrt(fan_in)) then conv bias U(±1/sqrt(fan_in)); BN
 * 1/0/0/1; FC weight then bias U(±1/sqrt(in)).  Values are drawn as float32
 * (so the same draws give the same weights in an F64 net, and a bn=0 net of
 * the same arch gets the same conv/FC weights as the bn=1 net). */
int tcet_net_init_default(tcet_net *net, tcet_rng *r);
/* ZenNAS Gaussian re-init (docs/semantics.md#baseline-proxies): conv/FC weight N(0,1) (float32 draws, in
 * module order), conv bias 0, BN gamma 1 beta 0 (running stats untouched), FC bias 0. */
int tcet_net_init_gaussian(tcet_net *net, tcet_rng *r);

/* Number of state_dict entries of the net and their element counts / names. */
int tcet_net_num_params(const tcet_net *net);
/* Entry i: element count, device pointer, and the state_dict key (into buf). */
int tcet_net_param(const tcet_net *net, int i, size_t *count, void **dev, char *name, size_t cap);
/* Load every state_dict entry from host float32 arrays (in state_dict
 * order); counts are checked (TCET_ERR_DATA on mismatch).  Converted to the
 * net's dtype. */
int tcet_net_load_params(tcet_net *net, int n, const float *const *arrays, const size_t *counts);
/* Copy parameters from src (same arch; any dtype; with or without BN):
 * CONV/LINEAR weights and biases matched by layerwise index, BN params when
 * both nets have BN.  absval = 1 replaces every value by its |value|
 * (Synflow).  Both nets must be on the same backend. */
int tcet_net_copy_params(tcet_net *dst, const tcet_net *src, int absval);
/* Replace every parameter and buffer by its absolute value. */
int tcet_net_abs_params(tcet_net *net);

/* Input from host float32 [batch,3,R,R] (converted to the dtype, fp16 rounded
 * to nearest even), labels int32 [batch]. */
int tcet_net_set_input(tcet_net *net, const float *x_host);
int tcet_net_set_input_ones(tcet_net *net);
int tcet_net_set_labels(tcet_net *net, const int32_t *labels_host);

/* Forward of net->x through every op; each op output stays in ops[i].y.
 * train = 1: BN with batch statistics (running stats updated only when
 * update_running = 1); train = 0: BN with running statistics. */
int tcet_net_forward(tcet_net *net, int train, int update_running);
/* Mean cross-entropy of the logits vs net->labels; writes net->dlogits and
 * *loss.  F32 nets: the backend's softmax_xent.  F64 nets (`--precision
 * float64`, docs/proxies.md#numerical-conditioning): the same log-sum-exp
 * formula in double on the host. */
int tcet_net_xent(tcet_net *net, double *loss);
/* NASWOT Gram (be->gram_codes) of the sign codes of x[n, d], a tensor of the
 * net's dtype.  F32: the backend op as it is.  F64: x is first rounded to
 * float32 with every sign kept (a positive value below float32's range
 * becomes its smallest subnormal), so the codes are those of the float64
 * values exactly. */
int tcet_net_gram_codes(tcet_net *net, const void *x, int n, size_t d, double *K, int64_t *pos);
/* dlogits := 1 everywhere (R = Σ logits); any dtype. */
int tcet_net_dlogits_ones(tcet_net *net);
/* dlogits from host values (float for F32 nets, double for F64 nets). */
int tcet_net_set_dlogits(tcet_net *net, const void *host);
/* Backward from net->dlogits after a train-mode forward (or any forward of
 * a net without BN).  Overwrites gw/gb of every CONV/LINEAR/BN op (= PyTorch
 * zero_grad + backward).  skip_input_grad = 1 skips the gradient w.r.t. the
 * network input (the first conv's data gradient), which nobody needs. */
int tcet_net_backward(tcet_net *net, int skip_input_grad);

/* Layerwise-axis access (ℓ = 0..nscored-1). */
static inline tcet_net_op *tcet_net_layer(tcet_net *net, int l) { return &net->ops[net->scored[l]]; }

/* Host copy of a device tensor as double (scratch owned by the net, valid
 * until the next call); count elements of the net's dtype. */
int tcet_net_download_f64(tcet_net *net, const void *dev, size_t count, const double **out);

/* Graph plans (tcet_plan.dag, net_dag.c), called by the functions above:
 * shapes and layerwise axis of every op; forward; backward (the gradient of
 * an op output read by several ops is the sum of their contributions; the
 * network input's gradient is never computed). */
int tcet_net_dag_shapes(tcet_net *net, const tcet_plan *plan);
int tcet_net_dag_forward(tcet_net *net, int train, int update_running);
int tcet_net_dag_backward(tcet_net *net, int skip_input_grad);
/* The backward of one conv, BN, ReLU, GAP or linear op o of either executor:
 * parameter gradients from its input x and output gradient dy, and its input
 * gradient into dx when need_dx (BN always writes dx: it must not be the
 * network input's op).  Any other kind is refused (TCET_ERR_USAGE). */
int tcet_net_op_backward(tcet_net *net, tcet_net_op *o, const void *x, const void *dy, void *dx, int need_dx);
/* The input tensor of op i (its first source; the network input for -1 or
 * for the first op of a chain plan). */
const void *tcet_net_op_input(const tcet_net *net, int i);

#endif
