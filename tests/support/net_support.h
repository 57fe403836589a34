/* Helpers of the network tests (finite differences of the executor). */
#ifndef TCET_NET_SUPPORT_H
#define TCET_NET_SUPPORT_H

#include <stdint.h>

#include "common/rng.h"
#include "worker/net.h"

/* Mean softmax cross-entropy of the net's float64 logits against lab, on
 * the host in double; fills dl (batch x classes) with ∂loss/∂logits when
 * not NULL. */
double test_net_loss_host(tcet_net *net, const int32_t *lab, double *dl);
/* Non-trivial BN affine parameters (float64 nets), so that their gradients
 * matter too: gamma = 0.5 + U[0,1), beta = 0.2 N(0,1), drawn from r in op
 * order. */
void test_net_randomise_bn(tcet_net *net, tcet_rng *r);

#endif
