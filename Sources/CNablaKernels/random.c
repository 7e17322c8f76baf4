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

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// The high halves of the eight 32×32-bit products a[l]·m: even lanes' products shifted down, odd
// lanes' left where they are.
__attribute__((target("avx2"))) static inline __m256i mulhi_epu32(__m256i a, __m256i m) {
    __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(a, m), 32);
    return _mm256_blend_epi32(even, _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m), 0xAA);
}

// Blocks first … first+7 of nbl_philox, eight lanes at a time, into u (block b's words at 4b).
__attribute__((target("avx2"))) static void philox8_avx2(uint64_t first, uint64_t stream, uint64_t seed,
                                                         uint32_t u[32]) {
    __m256i counter = _mm256_add_epi64(_mm256_set1_epi64x((long long)first), _mm256_setr_epi64x(0, 1, 2, 3));
    __m256i hi = _mm256_add_epi64(counter, _mm256_set1_epi64x(4));  // blocks first+4 … first+7
    // Low and high words of the eight counters: lanes 0–3 from counter, 4–7 from hi.
    __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256i a = _mm256_permutevar8x32_epi32(counter, order), b = _mm256_permutevar8x32_epi32(hi, order);
    __m256i c0 = _mm256_permute2x128_si256(a, b, 0x20), c1 = _mm256_permute2x128_si256(a, b, 0x31);
    __m256i c2 = _mm256_set1_epi32((int)(uint32_t)stream), c3 = _mm256_set1_epi32((int)(uint32_t)(stream >> 32));
    __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u), m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++, k0 += 0x9E3779B9u, k1 += 0xBB67AE85u) {
        __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(mulhi_epu32(c2, m1), c1), _mm256_set1_epi32((int)k0));
        __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(mulhi_epu32(c0, m0), c3), _mm256_set1_epi32((int)k1));
        c1 = _mm256_mullo_epi32(c2, m1);
        c3 = _mm256_mullo_epi32(c0, m0);
        c0 = n0;
        c2 = n2;
    }
    // Lane-major words to block-major: a 4×8 transpose.
    __m256i t0 = _mm256_unpacklo_epi32(c0, c1), t1 = _mm256_unpackhi_epi32(c0, c1);
    __m256i t2 = _mm256_unpacklo_epi32(c2, c3), t3 = _mm256_unpackhi_epi32(c2, c3);
    __m256i b0 = _mm256_unpacklo_epi64(t0, t2), b1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i b2 = _mm256_unpacklo_epi64(t1, t3), b3 = _mm256_unpackhi_epi64(t1, t3);
    _mm256_storeu_si256((__m256i *)u, _mm256_permute2x128_si256(b0, b1, 0x20));
    _mm256_storeu_si256((__m256i *)(u + 8), _mm256_permute2x128_si256(b2, b3, 0x20));
    _mm256_storeu_si256((__m256i *)(u + 16), _mm256_permute2x128_si256(b0, b1, 0x31));
    _mm256_storeu_si256((__m256i *)(u + 24), _mm256_permute2x128_si256(b2, b3, 0x31));
}
#endif

// Blocks first … first+7 of nbl_philox into u (block b's words at 4b), eight at once with AVX2.
static void philox8(uint64_t first, uint64_t stream, uint64_t seed, int avx2, uint32_t u[32]) {
#if defined(__x86_64__) || defined(__i386__)
    if (avx2) {
        philox8_avx2(first, stream, seed, u);
        return;
    }
#endif
    (void)avx2;
    for (int b = 0; b < 8; b++) {
        nbl_philox_block r = nbl_philox(first + (uint64_t)b, stream, seed);
        for (int j = 0; j < 4; j++) u[4 * b + j] = r.v[j];
    }
}

void nbl_dropout_f32(const float *x, float *y, float *mask, long n, float rate, uint64_t seed, uint64_t offset,
                     long start, long end) {
    float scale = 1.0f / (1.0f - rate);
    // Keep when u >= rate, u in [0, 1) from 24 bits: the same stream as nbl_random_f32's uniform.
    uint32_t threshold = (uint32_t)(rate * 16777216.0f);
    int avx2 = nbl_isa_has_avx2(nbl_cpu_best_isa());
    (void)n;
    // Elements 32q … 32q+31 come from Philox blocks 8q … 8q+7.
    for (long q = start / 32; q * 32 < end; q++) {
        uint32_t u[32];
        philox8((uint64_t)q * 8, offset, seed, avx2, u);
        long i0 = q * 32 > start ? q * 32 : start, i1 = q * 32 + 32 < end ? q * 32 + 32 : end;
        for (long i = i0; i < i1; i++) {
            float m = (u[i - q * 32] >> 8) >= threshold ? scale : 0.0f;
            mask[i] = m;
            y[i] = x[i] * m;
        }
    }
}
