/* Loss and NASWOT kernels on the CPU: softmax cross-entropy (float32 logits)
 * and the Gram matrix of activation sign codes. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/error.h"
#include "kernels/cpu/cpu_internal.h"

int CPU_K(cpu_softmax_xent)(tcet_backend *be, int n, int classes, const float *logits,
                     const int32_t *labels, double *loss, float *dlogits)
{
    if (n < 1 || classes < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "CPU backend: invalid softmax shape %d x %d", n, classes);
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return TCET_FAIL(TCET_ERR_DATA, "label %d of sample %d is outside 0..%d", (int)labels[i], i,
                             classes - 1);
    double total = 0;
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * classes;
        /* log-sum-exp around the row maximum, in double */
        double mx = l[0];
        for (int j = 1; j < classes; j++)
            if (l[j] > mx) mx = l[j];
        double se = 0;
        for (int j = 0; j < classes; j++) se += exp((double)l[j] - mx);
        const double lse = mx + log(se);
        total += lse - (double)l[labels[i]];
        if (!dlogits) continue;
        float *g = dlogits + (size_t)i * classes;
        for (int j = 0; j < classes; j++) {
            double p = exp((double)l[j] - lse) - (j == labels[i] ? 1.0 : 0.0);
            g[j] = (float)(p / n);
        }
    }
    if (loss) *loss = total / n;
    return 0;
}

/* NASWOT Gram by bit packing and popcount.  The codes c = (x > 0) of each
 * sample are packed 64 to a word; then K_ij = d - popcount(c_i XOR c_j)
 * summed over the words, positives_i = popcount(c_i).  Exact integer
 * arithmetic (the result is identical to the 0/1 GEMM it replaces), about
 * 30x fewer operations, and the activations are read once.  Each kernel
 * variant packs and counts with what its instruction set offers:
 *   generic  SSE2 compare + movemask packing (x86-64 baseline; portable C
 *            elsewhere), POPCNT when the CPU has it (checked at run time)
 *   avx2     AVX compare + movemask packing; popcount by Harley-Seal carry-
 *            save adders over 16 AVX2 vectors, the vpshufb nibble table for
 *            the last vectors (measured 3x faster than scalar POPCNT on Zen 3
 *            at 256 words, see docs/performance.md)
 *   avx512   AVX-512 compare-to-mask packing, the AVX2 popcount
 *   avx512_vp  the same packing, VPOPCNTQ */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GRAM_X86 1
#else
#define GRAM_X86 0
#endif

/* Words per sample per pass over the pairs: 64 samples x 256 words x 8 B
 * = 128 KiB, so one pass's codes stay in L2 while every pair reads them. */
#define GRAM_CHUNK_WORDS 256

typedef void (*gram_pack_fn)(const float *x, size_t d, uint64_t *bits);
typedef uint64_t (*gram_ham_fn)(const uint64_t *a, const uint64_t *b, size_t nw);

/* bits[w] bit b = (x[64 w + b] > 0); NaN compares false, like the reference */
static void gram_pack_c(const float *restrict x, size_t d, uint64_t *restrict bits)
{
    size_t w = 0, j = 0;
    for (; j + 64 <= d; j += 64, w++) {
        uint64_t v = 0;
        for (int b = 0; b < 64; b++) v |= (uint64_t)(x[j + b] > 0.0f) << b;
        bits[w] = v;
    }
    if (j < d) {
        uint64_t v = 0; /* the padding bits are 0 in every sample: they never differ */
        for (size_t b = 0; j + b < d; b++) v |= (uint64_t)(x[j + b] > 0.0f) << b;
        bits[w] = v;
    }
}

static CPU_NOINLINE uint64_t gram_ham_c(const uint64_t *restrict a, const uint64_t *restrict b, size_t nw)
{
    uint64_t s = 0;
    for (size_t w = 0; w < nw; w++) s += (uint64_t)__builtin_popcountll(a[w] ^ b[w]);
    return s;
}

#if GRAM_X86
/* SSE2 (every x86-64): 4 floats per compare, movemask gives their 4 bits */
static CPU_NOINLINE void gram_pack_sse2(const float *restrict x, size_t d, uint64_t *restrict bits)
{
    const __m128 z = _mm_setzero_ps();
    size_t w = 0, j = 0;
    for (; j + 64 <= d; j += 64, w++) {
        uint64_t v = 0;
        for (int q = 0; q < 16; q++)
            v |= (uint64_t)(unsigned)_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(x + j + 4 * q), z)) << (4 * q);
        bits[w] = v;
    }
    if (j < d) gram_pack_c(x + j, d - j, bits + w);
}

/* scalar POPCNT, four independent sums */
__attribute__((target("popcnt"))) static CPU_NOINLINE uint64_t gram_ham_popcnt(const uint64_t *restrict a,
                                                                              const uint64_t *restrict b, size_t nw)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t w = 0;
    for (; w + 4 <= nw; w += 4) {
        s0 += (uint64_t)__builtin_popcountll(a[w] ^ b[w]);
        s1 += (uint64_t)__builtin_popcountll(a[w + 1] ^ b[w + 1]);
        s2 += (uint64_t)__builtin_popcountll(a[w + 2] ^ b[w + 2]);
        s3 += (uint64_t)__builtin_popcountll(a[w + 3] ^ b[w + 3]);
    }
    for (; w < nw; w++) s0 += (uint64_t)__builtin_popcountll(a[w] ^ b[w]);
    return s0 + s1 + s2 + s3;
}
#endif

#if GRAM_X86 && defined(__AVX2__)
/* 8 floats per compare (_CMP_GT_OQ: false for NaN, as x > 0 in C) */
static CPU_NOINLINE void gram_pack_avx2(const float *restrict x, size_t d, uint64_t *restrict bits)
{
    const __m256 z = _mm256_setzero_ps();
    size_t w = 0, j = 0;
    for (; j + 64 <= d; j += 64, w++) {
        uint64_t v = 0;
        for (int q = 0; q < 8; q++)
            v |= (uint64_t)(unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + j + 8 * q), z, _CMP_GT_OQ))
                 << (8 * q);
        bits[w] = v;
    }
    if (j < d) gram_pack_c(x + j, d - j, bits + w);
}

/* bytes of v -> their popcounts (vpshufb on a nibble table) */
static inline __m256i gram_pc8(__m256i v)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i m = _mm256_set1_epi8(0x0f);
    const __m256i lo = _mm256_and_si256(v, m), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/* per 64-bit lane: popcount of v (byte counts summed by vpsadbw) */
static inline __m256i gram_pc64(__m256i v) { return _mm256_sad_epu8(gram_pc8(v), _mm256_setzero_si256()); }

/* carry-save adder: (h, l) = a + b + c bitwise */
#define GRAM_CSA(h, l, a, b, c)                                                  \
    do {                                                                         \
        const __m256i u_ = _mm256_xor_si256(a, b), c_ = (c);                     \
        h = _mm256_or_si256(_mm256_and_si256(a, b), _mm256_and_si256(u_, c_));   \
        l = _mm256_xor_si256(u_, c_);                                            \
    } while (0)

/* Harley-Seal: 16 vectors (64 words) per step go through a tree of carry-
 * save adders, so that only one vector (the sixteens) needs a popcount per
 * step; the last whole vectors by the nibble table, the last words by
 * POPCNT. */
static CPU_NOINLINE uint64_t gram_ham_avx2(const uint64_t *restrict a, const uint64_t *restrict b, size_t nw)
{
    __m256i total = _mm256_setzero_si256(), ones = total, twos = total, fours = total, eights = total;
    __m256i sixteens, twosA, twosB, foursA, foursB, eightsA, eightsB;
    size_t w = 0;
#define GRAM_LD(i) _mm256_xor_si256(_mm256_loadu_si256((const void *)(a + w + 4 * (i))), \
                                    _mm256_loadu_si256((const void *)(b + w + 4 * (i))))
    for (; w + 64 <= nw; w += 64) {
        GRAM_CSA(twosA, ones, ones, GRAM_LD(0), GRAM_LD(1));
        GRAM_CSA(twosB, ones, ones, GRAM_LD(2), GRAM_LD(3));
        GRAM_CSA(foursA, twos, twos, twosA, twosB);
        GRAM_CSA(twosA, ones, ones, GRAM_LD(4), GRAM_LD(5));
        GRAM_CSA(twosB, ones, ones, GRAM_LD(6), GRAM_LD(7));
        GRAM_CSA(foursB, twos, twos, twosA, twosB);
        GRAM_CSA(eightsA, fours, fours, foursA, foursB);
        GRAM_CSA(twosA, ones, ones, GRAM_LD(8), GRAM_LD(9));
        GRAM_CSA(twosB, ones, ones, GRAM_LD(10), GRAM_LD(11));
        GRAM_CSA(foursA, twos, twos, twosA, twosB);
        GRAM_CSA(twosA, ones, ones, GRAM_LD(12), GRAM_LD(13));
        GRAM_CSA(twosB, ones, ones, GRAM_LD(14), GRAM_LD(15));
        GRAM_CSA(foursB, twos, twos, twosA, twosB);
        GRAM_CSA(eightsB, fours, fours, foursA, foursB);
        GRAM_CSA(sixteens, eights, eights, eightsA, eightsB);
        total = _mm256_add_epi64(total, gram_pc64(sixteens));
    }
    total = _mm256_slli_epi64(total, 4);
    total = _mm256_add_epi64(total, _mm256_slli_epi64(gram_pc64(eights), 3));
    total = _mm256_add_epi64(total, _mm256_slli_epi64(gram_pc64(fours), 2));
    total = _mm256_add_epi64(total, _mm256_slli_epi64(gram_pc64(twos), 1));
    total = _mm256_add_epi64(total, gram_pc64(ones));
    for (; w + 4 <= nw; w += 4) total = _mm256_add_epi64(total, gram_pc64(GRAM_LD(0)));
#undef GRAM_LD
    uint64_t s = (uint64_t)_mm256_extract_epi64(total, 0) + (uint64_t)_mm256_extract_epi64(total, 1) +
                 (uint64_t)_mm256_extract_epi64(total, 2) + (uint64_t)_mm256_extract_epi64(total, 3);
    for (; w < nw; w++) s += (uint64_t)__builtin_popcountll(a[w] ^ b[w]);
    return s;
}
#endif

#if GRAM_X86 && defined(__AVX512F__)
static CPU_NOINLINE void gram_pack_avx512(const float *restrict x, size_t d, uint64_t *restrict bits)
{
    const __m512 z = _mm512_setzero_ps();
    size_t w = 0, j = 0;
    for (; j + 64 <= d; j += 64, w++) {
        /* _CMP_GT_OQ: false for NaN, as x > 0 in C */
        const uint64_t m0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + j), z, _CMP_GT_OQ);
        const uint64_t m1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + j + 16), z, _CMP_GT_OQ);
        const uint64_t m2 = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + j + 32), z, _CMP_GT_OQ);
        const uint64_t m3 = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + j + 48), z, _CMP_GT_OQ);
        bits[w] = m0 | m1 << 16 | m2 << 32 | m3 << 48;
    }
    if (j < d) gram_pack_c(x + j, d - j, bits + w);
}

/* VPOPCNTQ: only called where the CPU has AVX-512 VPOPCNTDQ (the avx512_vp
 * table), hence the target attribute instead of a variant-wide flag */
__attribute__((target("avx512f,avx512vpopcntdq"))) static CPU_NOINLINE uint64_t
gram_ham_vpopcnt(const uint64_t *restrict a, const uint64_t *restrict b, size_t nw)
{
    __m512i acc = _mm512_setzero_si512();
    size_t w = 0;
    for (; w + 8 <= nw; w += 8)
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(a + w),
                                                                         _mm512_loadu_si512(b + w))));
    uint64_t s = (uint64_t)_mm512_reduce_add_epi64(acc);
    for (; w < nw; w++) s += (uint64_t)__builtin_popcountll(a[w] ^ b[w]);
    return s;
}
#endif

/* Scratch bytes of gram_from_bits: the all-zero row and the n x n counts. */
static size_t gram_work_bytes(int n, size_t d)
{
    return cpu_align_up(sizeof(uint64_t) * ((d + 63) / 64)) + sizeof(uint64_t) * (size_t)n * (size_t)n;
}

/* K from packed codes (n rows of nw words; the bits past d are 0 in every
 * row), and the popcount of each row; work: gram_work_bytes. */
static void gram_from_bits(int n, size_t d, const uint64_t *bits, double *K_host, int64_t *positives_host,
                           gram_ham_fn ham, char *work)
{
    const size_t nn = (size_t)n * n, nw = (d + 63) / 64;
    uint64_t *zero = (uint64_t *)(void *)work, *H = (uint64_t *)(void *)(work + cpu_align_up(sizeof(uint64_t) * nw));
    memset(zero, 0, sizeof(uint64_t) * nw);
    for (int i = 0; i < n; i++) positives_host[i] = (int64_t)ham(bits + (size_t)i * nw, zero, nw); /* popcount(c_i) */
    memset(H, 0, sizeof(uint64_t) * nn);
    for (size_t w0 = 0; w0 < nw; w0 += GRAM_CHUNK_WORDS) {
        const size_t cw = nw - w0 < GRAM_CHUNK_WORDS ? nw - w0 : GRAM_CHUNK_WORDS;
        for (int i = 0; i < n; i++) {
            const uint64_t *bi = bits + (size_t)i * nw + w0;
            for (int j = i + 1; j < n; j++) H[(size_t)i * n + j] += ham(bi, bits + (size_t)j * nw + w0, cw);
        }
    }
    /* K_ij = agreements = d - Hamming distance (exact: integers < 2^53) */
    for (int i = 0; i < n; i++) {
        K_host[(size_t)i * n + i] = (double)d;
        for (int j = i + 1; j < n; j++) {
            const double k = (double)d - (double)H[(size_t)i * n + j];
            K_host[(size_t)i * n + j] = k;
            K_host[(size_t)j * n + i] = k;
        }
    }
}

static int gram_run(tcet_backend *be, int n, size_t d, const float *x, double *K_host, int64_t *positives_host,
                    gram_pack_fn pack, gram_ham_fn ham)
{
    if (n < 1 || d < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "CPU backend: invalid NASWOT shape %d x %zu", n, d);
    const size_t nw = (d + 63) / 64, bits_b = cpu_align_up(sizeof(uint64_t) * (size_t)n * nw);
    char *sc = cpu_scratch(be, bits_b + gram_work_bytes(n, d));
    if (!sc) return TCET_ERR_NOMEM;
    uint64_t *bits = (uint64_t *)(void *)sc;
    for (int i = 0; i < n; i++) pack(x + (size_t)i * d, d, bits + (size_t)i * nw);
    gram_from_bits(n, d, bits, K_host, positives_host, ham, sc + bits_b);
    return 0;
}

/* The Hamming kernel of this path (as cpu_gram_codes picks it). */
static gram_ham_fn gram_ham_of_path(void)
{
#if GRAM_X86 && defined(__AVX2__)
    return gram_ham_avx2;
#elif GRAM_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("popcnt") ? gram_ham_popcnt : gram_ham_c;
#else
    return gram_ham_c;
#endif
}

int CPU_K(cpu_gram_bits)(tcet_backend *be, int n, size_t d, const void *bits, double *K_host,
                         int64_t *positives_host)
{
    if (n < 1 || d < 1)
        return TCET_FAIL(TCET_ERR_USAGE, "CPU backend: invalid NASWOT shape %d x %zu", n, d);
    char *work = cpu_scratch(be, gram_work_bytes(n, d));
    if (!work) return TCET_ERR_NOMEM;
    gram_from_bits(n, d, bits, K_host, positives_host, gram_ham_of_path(), work);
    return 0;
}

int CPU_K(cpu_gram_codes)(tcet_backend *be, int n, size_t d, const float *x,
                          double *K_host, int64_t *positives_host)
{
#if GRAM_X86 && defined(__AVX512F__)
    return gram_run(be, n, d, x, K_host, positives_host, gram_pack_avx512, gram_ham_avx2);
#elif GRAM_X86 && defined(__AVX2__)
    return gram_run(be, n, d, x, K_host, positives_host, gram_pack_avx2, gram_ham_avx2);
#elif GRAM_X86
    __builtin_cpu_init();
    return gram_run(be, n, d, x, K_host, positives_host, gram_pack_sse2,
                    __builtin_cpu_supports("popcnt") ? gram_ham_popcnt : gram_ham_c);
#else
    return gram_run(be, n, d, x, K_host, positives_host, gram_pack_c, gram_ham_c);
#endif
}

#if TCET_CPU_VARIANT_AVX512
int cpu_gram_codes_avx512_vp(tcet_backend *be, int n, size_t d, const float *x,
                             double *K_host, int64_t *positives_host)
{
    return gram_run(be, n, d, x, K_host, positives_host, gram_pack_avx512, gram_ham_vpopcnt);
}
#endif
