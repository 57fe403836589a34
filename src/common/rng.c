#include "rng.h"

#include <math.h>

__extension__ typedef unsigned __int128 u128;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void tcet_rng_seed(tcet_rng *r, uint64_t seed, uint64_t stream, uint64_t id)
{
    /* Mix the three keys through separate splitmix rounds so that nearby
     * (stream, id) pairs give unrelated states. */
    uint64_t x = seed;
    uint64_t k = splitmix64(&x);
    x = k ^ (stream * 0xd1b54a32d192ed03ULL);
    k = splitmix64(&x);
    x = k ^ (id * 0x8cb92ba72f3d8dd7ULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

uint64_t tcet_rng_next(tcet_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double tcet_rng_uniform(tcet_rng *r) { return (double)(tcet_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t tcet_rng_below(tcet_rng *r, uint64_t n)
{
    /* Lemire: multiply-shift with rejection of the biased low range. */
    u128 m = (u128)tcet_rng_next(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t t = (0 - n) % n;
        while (lo < t) {
            m = (u128)tcet_rng_next(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double tcet_rng_normal(tcet_rng *r)
{
    double u1 = 1.0 - tcet_rng_uniform(r); /* (0, 1] */
    double u2 = tcet_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

float tcet_rng_uniform_f(tcet_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)tcet_rng_uniform(r);
}
