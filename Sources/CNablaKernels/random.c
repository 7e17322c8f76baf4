// Counter-based random numbers: Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy
// as 1, 2, 3", SC 2011). Value i of a stream is a pure function of (seed, offset, i), so any
// split of the work across threads produces the same numbers.
#include "internal.h"

#include <math.h>

typedef struct { uint32_t v[4]; } nbl_philox_block;

static nbl_philox_block nbl_philox(uint64_t counter, uint64_t stream, uint64_t seed) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    nbl_philox_block b = {{c0, c1, c2, c3}};
    return b;
}

// 24 random bits mapped to (0, 1): never exactly 0, so log() is finite.
static inline float nbl_unit(uint32_t u) { return ((float)(u >> 8) + 0.5f) * (1.0f / 16777216.0f); }

// One standard normal from two uniforms (Box–Muller, cosine branch).
static inline float nbl_box_muller(uint32_t a, uint32_t b) {
    float u1 = nbl_unit(a), u2 = nbl_unit(b);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958648f * u2);
}

void nbl_random_f32(int kind, uint64_t seed, uint64_t offset, float a, float b, float *out, long start, long end) {
    long i = start;
    while (i < end) {
        switch (kind) {
        case NBL_RNG_UNIFORM: {
            // One Philox block gives four values: elements 4k … 4k+3.
            nbl_philox_block r = nbl_philox((uint64_t)i / 4, offset, seed);
            for (long j = i % 4; j < 4 && i < end; j++, i++) {
                out[i] = a + (b - a) * ((float)(r.v[j] >> 8) * (1.0f / 16777216.0f));  // [0, 1) scaled
            }
            break;
        }
        case NBL_RNG_NORMAL: {
            nbl_philox_block r = nbl_philox((uint64_t)i / 2, offset, seed);
            for (long j = i % 2; j < 2 && i < end; j++, i++) out[i] = a + b * nbl_box_muller(r.v[2 * j], r.v[2 * j + 1]);
            break;
        }
        default: {
            // Redraw from further counters of element i's own sequence until inside 2 std.
            float z = 0;
            for (uint64_t attempt = 0; attempt < 1000; attempt++) {
                nbl_philox_block r = nbl_philox((uint64_t)i, offset ^ (attempt << 40), seed);
                z = nbl_box_muller(r.v[0], r.v[1]);
                if (fabsf(z) <= 2.0f) break;
                z = nbl_box_muller(r.v[2], r.v[3]);
                if (fabsf(z) <= 2.0f) break;
                z = 0;
            }
            out[i] = a + b * z;
            i++;
            break;
        }
        }
    }
}

void nbl_dropout_f32(const float *x, float *y, float *mask, long n, float rate, uint64_t seed, uint64_t offset,
                     long start, long end) {
    float scale = 1.0f / (1.0f - rate);
    // Keep when u >= rate, u in [0, 1) from 24 bits: the same stream as nbl_random_f32's uniform.
    uint32_t threshold = (uint32_t)(rate * 16777216.0f);
    long i = start;
    (void)n;
    while (i < end) {
        nbl_philox_block r = nbl_philox((uint64_t)i / 4, offset, seed);
        for (long j = i % 4; j < 4 && i < end; j++, i++) {
            float m = (r.v[j] >> 8) >= threshold ? scale : 0.0f;
            mask[i] = m;
            y[i] = x[i] * m;
        }
    }
}
