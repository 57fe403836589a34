/* The reference counters (docs/semantics.md#reference-counters) and the true PyTorch parameter count. */
#ifndef TCET_COUNTERS_H
#define TCET_COUNTERS_H

#include "arch.h"

typedef struct {
    double params;        /* get_model_size: BN = C, FC bias = 1, projections per §3 */
    double flops;         /* get_FLOPs(resolution), floating as in the reference */
    int layers;           /* get_num_layers = Σ sub_layers */
    int scored_layers;    /* Conv2d + Linear modules of that network variant */
    long long true_params;/* exact sum(p.numel()) of that variant (BN 2C, biases) */
} tcet_counts;

int tcet_count(const tcet_arch *a, int reslink, int num_classes, int resolution, tcet_counts *out);

#endif
