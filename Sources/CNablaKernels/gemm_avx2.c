// AVX2+FMA micro-kernel of the packed SGEMM: a 6×16 tile of C in 12 ymm accumulators.
//
// Per step of k: two loads of the packed B row (16 floats), six broadcasts of the packed A column,
// twelve FMAs. Compiled for AVX2 through a function attribute, so the rest of the library stays
// portable; gemm.c calls it only when cpuid reports AVX2 and FMA.
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define NBL_AVX2 __attribute__((target("avx2,fma")))

NBL_AVX2 void nbl_microkernel_avx2(long kc, const float *a, const float *b, float *c, long ldc, int accumulate,
                                   int mr, int nr) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (long p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __builtin_prefetch(b + 8 * NBL_GEMM_NR);
        __m256 av;
        av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
        a += NBL_GEMM_MR;
        b += NBL_GEMM_NR;
    }
    __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (mr == NBL_GEMM_MR && nr == NBL_GEMM_NR) {
        for (int i = 0; i < NBL_GEMM_MR; i++) {
            float *ci = c + i * ldc;
            __m256 r0 = rows[i][0], r1 = rows[i][1];
            if (accumulate) {
                r0 = _mm256_add_ps(r0, _mm256_loadu_ps(ci));
                r1 = _mm256_add_ps(r1, _mm256_loadu_ps(ci + 8));
            }
            _mm256_storeu_ps(ci, r0);
            _mm256_storeu_ps(ci + 8, r1);
        }
        return;
    }
    float tile[NBL_GEMM_MR][NBL_GEMM_NR] __attribute__((aligned(32)));
    for (int i = 0; i < NBL_GEMM_MR; i++) {
        _mm256_store_ps(tile[i], rows[i][0]);
        _mm256_store_ps(tile[i] + 8, rows[i][1]);
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) c[i * ldc + j] = accumulate ? c[i * ldc + j] + tile[i][j] : tile[i][j];
}
#endif
