/* bench_popcount: the NASWOT Gram's pair loop (Hamming distances between the
 * bit-packed sign codes of 64 samples, in chunks of 256 words as
 * kernels/cpu/cpu_proxy.c runs it) with three popcounts that need no
 * AVX-512 -- scalar POPCNT (four sums), the AVX2 vpshufb nibble table, and
 * Harley-Seal carry-save adders over AVX2 vectors -- and the packing (plain
 * C against AVX compare + movemask).  The measurement behind the avx2
 * path's choice (docs/performance.md):
 *
 *   cc -O3 -std=c17 -D_GNU_SOURCE -mavx2 -mfma -mpopcnt tests/perf/bench_popcount.c -o /tmp/bench_popcount
 *   /tmp/bench_popcount [D ...]   (D = activations per sample; default 4096 16384 65536)
 *
 * Times: best of 7 rounds, thread CPU time, milliseconds per Gram. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 64
#define CHUNK 256

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void pack_c(const float *restrict x, size_t d, uint64_t *restrict bits)
{
    for (size_t w = 0, j = 0; j + 64 <= d; j += 64, w++) {
        uint64_t v = 0;
        for (int b = 0; b < 64; b++) v |= (uint64_t)(x[j + b] > 0.0f) << b;
        bits[w] = v;
    }
}

static void pack_avx2(const float *restrict x, size_t d, uint64_t *restrict bits)
{
    const __m256 z = _mm256_setzero_ps();
    for (size_t w = 0, j = 0; j + 64 <= d; j += 64, w++) {
        uint64_t v = 0;
        for (int q = 0; q < 8; q++)
            v |= (uint64_t)(unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + j + 8 * q), z, _CMP_GT_OQ))
                 << (8 * q);
        bits[w] = v;
    }
}

static uint64_t ham_popcnt(const uint64_t *restrict a, const uint64_t *restrict b, size_t nw)
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

static inline __m256i pc8(__m256i v)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i m = _mm256_set1_epi8(0x0f);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256(v, m)),
                           _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), m)));
}

static inline __m256i pc64(__m256i v) { return _mm256_sad_epu8(pc8(v), _mm256_setzero_si256()); }

static uint64_t hsum(__m256i v)
{
    return (uint64_t)_mm256_extract_epi64(v, 0) + (uint64_t)_mm256_extract_epi64(v, 1) +
           (uint64_t)_mm256_extract_epi64(v, 2) + (uint64_t)_mm256_extract_epi64(v, 3);
}

#define LD(i) _mm256_xor_si256(_mm256_loadu_si256((const void *)(a + w + 4 * (i))), \
                               _mm256_loadu_si256((const void *)(b + w + 4 * (i))))

/* byte counts of up to 31 vectors summed in 8 bits, then vpsadbw */
static uint64_t ham_shufb(const uint64_t *restrict a, const uint64_t *restrict b, size_t nw)
{
    __m256i acc = _mm256_setzero_si256();
    size_t w = 0;
    while (w + 4 <= nw) {
        __m256i c8 = _mm256_setzero_si256();
        for (int k = 0; k < 31 && w + 4 <= nw; k++, w += 4) c8 = _mm256_add_epi8(c8, pc8(LD(0)));
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(c8, _mm256_setzero_si256()));
    }
    uint64_t s = hsum(acc);
    for (; w < nw; w++) s += (uint64_t)__builtin_popcountll(a[w] ^ b[w]);
    return s;
}

#define CSA(h, l, a_, b_, c_)                                                     \
    do {                                                                         \
        const __m256i u_ = _mm256_xor_si256(a_, b_), cc_ = (c_);                 \
        h = _mm256_or_si256(_mm256_and_si256(a_, b_), _mm256_and_si256(u_, cc_)); \
        l = _mm256_xor_si256(u_, cc_);                                           \
    } while (0)

static uint64_t ham_hs(const uint64_t *restrict a, const uint64_t *restrict b, size_t nw)
{
    __m256i total = _mm256_setzero_si256(), ones = total, twos = total, fours = total, eights = total;
    __m256i sixteens, twosA, twosB, foursA, foursB, eightsA, eightsB;
    size_t w = 0;
    for (; w + 64 <= nw; w += 64) {
        CSA(twosA, ones, ones, LD(0), LD(1));
        CSA(twosB, ones, ones, LD(2), LD(3));
        CSA(foursA, twos, twos, twosA, twosB);
        CSA(twosA, ones, ones, LD(4), LD(5));
        CSA(twosB, ones, ones, LD(6), LD(7));
        CSA(foursB, twos, twos, twosA, twosB);
        CSA(eightsA, fours, fours, foursA, foursB);
        CSA(twosA, ones, ones, LD(8), LD(9));
        CSA(twosB, ones, ones, LD(10), LD(11));
        CSA(foursA, twos, twos, twosA, twosB);
        CSA(twosA, ones, ones, LD(12), LD(13));
        CSA(twosB, ones, ones, LD(14), LD(15));
        CSA(foursB, twos, twos, twosA, twosB);
        CSA(eightsB, fours, fours, foursA, foursB);
        CSA(sixteens, eights, eights, eightsA, eightsB);
        total = _mm256_add_epi64(total, pc64(sixteens));
    }
    total = _mm256_slli_epi64(total, 4);
    total = _mm256_add_epi64(total, _mm256_slli_epi64(pc64(eights), 3));
    total = _mm256_add_epi64(total, _mm256_slli_epi64(pc64(fours), 2));
    total = _mm256_add_epi64(total, _mm256_slli_epi64(pc64(twos), 1));
    total = _mm256_add_epi64(total, pc64(ones));
    for (; w + 4 <= nw; w += 4) total = _mm256_add_epi64(total, pc64(LD(0)));
    uint64_t s = hsum(total);
    for (; w < nw; w++) s += (uint64_t)__builtin_popcountll(a[w] ^ b[w]);
    return s;
}

typedef uint64_t (*ham_fn)(const uint64_t *, const uint64_t *, size_t);

static uint64_t pairs(const uint64_t *bits, size_t nw, ham_fn ham)
{
    uint64_t sum = 0;
    for (size_t w0 = 0; w0 < nw; w0 += CHUNK) {
        const size_t cw = nw - w0 < CHUNK ? nw - w0 : CHUNK;
        for (int i = 0; i < N; i++)
            for (int j = i + 1; j < N; j++) sum += ham(bits + (size_t)i * nw + w0, bits + (size_t)j * nw + w0, cw);
    }
    return sum;
}

int main(int argc, char **argv)
{
    size_t ds[16] = {4096, 16384, 65536};
    int nd = 3;
    if (argc > 1) {
        nd = 0;
        for (int i = 1; i < argc && nd < 16; i++) ds[nd++] = (size_t)strtoull(argv[i], NULL, 10) / 64 * 64;
    }
    printf("ms per Gram of %d samples (best of 7)\n%8s %9s %9s %9s %9s %9s\n", N, "d", "pack_c", "pack_avx2",
           "popcnt", "vpshufb", "harley-s");
    for (int di = 0; di < nd; di++) {
        const size_t d = ds[di], nw = d / 64;
        float *x = malloc((size_t)N * d * sizeof *x);
        uint64_t *bits = aligned_alloc(64, (size_t)N * nw * 8 + 64);
        if (!x || !bits) return 1;
        unsigned s = 1;
        for (size_t i = 0; i < (size_t)N * d; i++) {
            s = s * 1103515245u + 12345u;
            x[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
        }
        double best[5] = {1e30, 1e30, 1e30, 1e30, 1e30};
        uint64_t ref = 0;
        const ham_fn f[3] = {ham_popcnt, ham_shufb, ham_hs};
        for (int r = 0; r < 7; r++) {
            double t = now();
            for (int i = 0; i < N; i++) pack_c(x + (size_t)i * d, d, bits + (size_t)i * nw);
            if (now() - t < best[0]) best[0] = now() - t;
            t = now();
            for (int i = 0; i < N; i++) pack_avx2(x + (size_t)i * d, d, bits + (size_t)i * nw);
            if (now() - t < best[1]) best[1] = now() - t;
            for (int k = 0; k < 3; k++) {
                t = now();
                const uint64_t h = pairs(bits, nw, f[k]);
                const double dt = now() - t;
                if (dt < best[2 + k]) best[2 + k] = dt;
                if (k == 0) ref = h;
                else if (h != ref) {
                    fprintf(stderr, "bench_popcount: popcount %d disagrees\n", k);
                    return 1;
                }
            }
        }
        printf("%8zu %9.3f %9.3f %9.3f %9.3f %9.3f\n", d, best[0] * 1e3, best[1] * 1e3, best[2] * 1e3,
               best[3] * 1e3, best[4] * 1e3);
        free(x);
        free(bits);
    }
    return 0;
}
