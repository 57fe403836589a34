/* The op table of one kernel variant (compiled once per variant, see
 * cpu_internal.h); backend_cpu.c picks one of these at run time. */
#include "kernels/cpu/cpu_internal.h"

#define CPU_TABLE(gram)                                  \
    {                                                    \
        .conv_fwd = CPU_K(cpu_conv_fwd),                 \
        .conv_bwd_data = CPU_K(cpu_conv_bwd_data),       \
        .conv_bwd_filter = CPU_K(cpu_conv_bwd_filter),   \
        .bn_fwd = CPU_K(cpu_bn_fwd),                     \
        .bn_bwd = CPU_K(cpu_bn_bwd),                     \
        .bn_relu_fwd = CPU_K(cpu_bn_relu_fwd),           \
        .bn_relu_bwd = CPU_K(cpu_bn_relu_bwd),           \
        .relu_fwd = CPU_K(cpu_relu_fwd),                 \
        .relu_bwd = CPU_K(cpu_relu_bwd),                 \
        .add = CPU_K(cpu_add),                           \
        .gap_fwd = CPU_K(cpu_gap_fwd),                   \
        .gap_bwd = CPU_K(cpu_gap_bwd),                   \
        .linear_fwd = CPU_K(cpu_linear_fwd),             \
        .linear_bwd = CPU_K(cpu_linear_bwd),             \
        .softmax_xent = CPU_K(cpu_softmax_xent),         \
        .gram_codes = gram,                              \
        .saliency_stats = CPU_K(cpu_saliency_stats),     \
        .conv_direct_ok = CPU_K(cpu_conv_direct_ok),     \
        .conv_bn_relu_eval = CPU_K(cpu_conv_bn_relu_eval), \
        .gram_bits = CPU_K(cpu_gram_bits),               \
    }

const tcet_cpu_kernels CPU_K(tcet_cpu_kernels) = CPU_TABLE(CPU_K(cpu_gram_codes));

#if TCET_CPU_VARIANT_AVX512
const tcet_cpu_kernels tcet_cpu_kernels_avx512_vp = CPU_TABLE(cpu_gram_codes_avx512_vp);
#endif
