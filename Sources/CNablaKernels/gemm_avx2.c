// AVX2+FMA micro-kernel of the packed SGEMM: a 6×16 tile of C in 12 ymm accumulators.
//
// Per step of k: two loads of the packed B row (16 floats), six broadcasts of the packed A column,
// twelve FMAs. Compiled for AVX2 through a function attribute, so the rest of the library stays
// portable; gemm.c calls it only when cpuid reports AVX2 and FMA.
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define NBL_AVX2 __attribute__((target("avx2,fma")))

// The kernel's body: element (i, p) of A is a[i * ars + p * aps]. Inlined into each caller with
// constant strides, so the packed and the direct loops are each compiled for their own layout.
static inline __attribute__((always_inline)) NBL_AVX2 void tile_6x16(long kc, const float *a, long ars, long aps,
                                                                     const float *b, float *c, long ldc,
                                                                     int accumulate, int mr, int nr,
                                                                     const float *bias, int relu) {
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
        av = _mm256_broadcast_ss(a + 0 * ars); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1 * ars); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2 * ars); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3 * ars); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4 * ars); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5 * ars); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
        a += aps;
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
            if (bias) {
                r0 = _mm256_add_ps(r0, _mm256_loadu_ps(bias));
                r1 = _mm256_add_ps(r1, _mm256_loadu_ps(bias + 8));
            }
            if (relu) {  // x > 0 ? x : 0, as nbl_bias_relu_rows (a NaN gives 0)
                r0 = _mm256_and_ps(r0, _mm256_cmp_ps(r0, _mm256_setzero_ps(), _CMP_GT_OQ));
                r1 = _mm256_and_ps(r1, _mm256_cmp_ps(r1, _mm256_setzero_ps(), _CMP_GT_OQ));
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
        for (int j = 0; j < nr; j++) {
            float v = accumulate ? c[i * ldc + j] + tile[i][j] : tile[i][j];
            if (bias) v += bias[j];
            c[i * ldc + j] = relu && !(v > 0) ? 0.0f : v;
        }
}

NBL_AVX2 void nbl_microkernel_avx2(long kc, const float *a, const float *b, float *c, long ldc, int accumulate,
                                   int mr, int nr) {
    tile_6x16(kc, a, 1, NBL_GEMM_MR, b, c, ldc, accumulate, mr, nr, NULL, 0);
}

// A read in place, element (i, p) at a[i * ars + p * aps] (row-major: ars = lda, aps = 1; transposed:
// ars = 1, aps = lda): for products whose packed A would be used by few B panels (a narrow N, as in
// convolutions), where packing A costs about as much as the multiply. The same FMAs in the same
// order as the packed kernel. Then, when given, bias[j] is added to each row and ReLU applied,
// while the tile is still in registers.
NBL_AVX2 void nbl_microkernel_avx2_direct(long kc, const float *a, long ars, long aps, const float *b, float *c,
                                          long ldc, int accumulate, int nr, const float *bias, int relu) {
    tile_6x16(kc, a, ars, aps, b, c, ldc, accumulate, NBL_GEMM_MR, nr, bias, relu);
}

// A few rows of A times a row-major B (csB == 1), without packing: what a batch of one through a
// dense layer needs (packing a 9216×128 weight matrix costs more than multiplying by it). Each
// element sums its kc-block with FMAs in k order from zero and then adds to (or sets) C, exactly
// as the packed micro-kernel does, so results do not depend on which path a row took.
NBL_AVX2 void nbl_sgemm_rows_avx2(long M, long N, long K, const float *A, long rsA, long csA, const float *B,
                                  long rsB, float *C, long ldc, int accumulate, long kcBlock) {
    for (long i = 0; i < M; i++) {
        const float *a = A + i * rsA;
        float *c = C + i * ldc;
        for (long pc = 0; pc < K; pc += kcBlock) {
            long kc = K - pc < kcBlock ? K - pc : kcBlock;
            int add = accumulate || pc > 0;
            long j = 0;
            for (; j + 32 <= N; j += 32) {
                __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
                __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
                const float *b = B + pc * rsB + j;
                for (long p = 0; p < kc; p++, b += rsB) {
                    __m256 av = _mm256_broadcast_ss(a + (pc + p) * csA);
                    s0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b), s0);
                    s1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + 8), s1);
                    s2 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + 16), s2);
                    s3 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + 24), s3);
                }
                if (add) {
                    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(c + j));
                    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(c + j + 8));
                    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(c + j + 16));
                    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(c + j + 24));
                }
                _mm256_storeu_ps(c + j, s0);
                _mm256_storeu_ps(c + j + 8, s1);
                _mm256_storeu_ps(c + j + 16, s2);
                _mm256_storeu_ps(c + j + 24, s3);
            }
            for (; j < N; j++) {
                float s = 0.0f;
                for (long p = 0; p < kc; p++) s = __builtin_fmaf(a[(pc + p) * csA], B[(pc + p) * rsB + j], s);
                c[j] = add ? c[j] + s : s;
            }
        }
    }
}
#endif
