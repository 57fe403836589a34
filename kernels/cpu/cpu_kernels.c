/* The op table of one kernel variant (compiled once per variant, see
 * cpu_internal.h); backend_cpu.c picks one of these at run time. */
#include "kernels/cpu/cpu_internal.h"

#define CPU_OP_ENTRY(op) .op = CPU_K(cpu_##op),
#define CPU_TABLE(gram)                                                                                      \
    {CPU_CONV_OPS(CPU_OP_ENTRY) CPU_PLAIN_OPS(CPU_OP_ENTRY).gram_codes = gram,                             \
     .conv_direct_ok = CPU_K(cpu_conv_direct_ok)}

const tcet_cpu_kernels CPU_K(tcet_cpu_kernels) = CPU_TABLE(CPU_K(cpu_gram_codes));

#if TCET_CPU_VARIANT_AVX512
const tcet_cpu_kernels tcet_cpu_kernels_avx512_vp = CPU_TABLE(cpu_gram_codes_avx512_vp);
#endif
