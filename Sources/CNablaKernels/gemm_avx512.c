// AVX-512 micro-kernels of the packed SGEMM: up to twelve rows by 16 columns of C, one zmm
// accumulator per row.
//
// The tiles read the same packed panels as the AVX2 kernel (A in panels of six rows, B in panels
// of 16 columns): twelve rows are two A panels against one B panel, so the B row loaded at each
// step of k serves twelve FMAs instead of six, and each FMA takes its A element as an embedded
// broadcast. Every element of C is summed in the same order, with the same FMAs, as by the AVX2
// kernel (from zero in k order, then C, then the bias, then ReLU), so the two give the same bits.
// Compiled for AVX-512 through a function attribute; gemm.c calls these only when cpuid and the
// OS report AVX-512F.
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define NBL_AVX512 __attribute__((target("avx2,fma,avx512f")))

// Rows 0..5 of A are a0[i * ars + p * aps], rows 6..11 a1[(i - 6) * ars + p * aps]. `rows` is a
// constant where inlined (6 or 12), so the accumulators live in registers; mr <= rows rows and
// nr <= 16 columns of C are written.
static inline __attribute__((always_inline)) NBL_AVX512 void tile_x16(int rows, long kc, const float *a0,
                                                                      const float *a1, long ars, long aps,
                                                                      const float *b, float *c, long ldc,
                                                                      int accumulate, int mr, int nr,
                                                                      const float *bias, int relu) {
    __m512 acc[12];
    for (int i = 0; i < rows; i++) {
        acc[i] = _mm512_setzero_ps();
        __builtin_prefetch(c + i * ldc, 1);
        __builtin_prefetch(c + i * ldc + NBL_GEMM_NR - 1, 1);
    }
    for (long p = 0; p < kc; p++) {
        __m512 bv = _mm512_load_ps(b);
        __builtin_prefetch(b + 8 * NBL_GEMM_NR);
        for (int i = 0; i < rows; i++)
            acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(i < 6 ? a0[i * ars] : a1[(i - 6) * ars]), bv, acc[i]);
        a0 += aps;
        a1 += aps;
        b += NBL_GEMM_NR;
    }
    __mmask16 cols = (__mmask16)((1u << nr) - 1);
    for (int i = 0; i < rows; i++) {
        if (i >= mr) break;
        float *ci = c + i * ldc;
        __m512 r = acc[i];
        if (accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(cols, ci));
        if (bias) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(cols, bias));
        // x > 0 ? x : 0, as nbl_bias_relu_rows (a NaN gives 0)
        if (relu) r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(r, _mm512_setzero_ps(), _CMP_GT_OQ), r);
        _mm512_mask_storeu_ps(ci, cols, r);
    }
}

// Packed A: a holds mr <= 12 rows as one or two consecutive six-row panels of kc steps each.
NBL_AVX512 void nbl_microkernel_avx512(long kc, const float *a, const float *b, float *c, long ldc, int accumulate,
                                       int mr, int nr) {
    const float *a1 = a + NBL_GEMM_MR * kc;
    if (mr > NBL_GEMM_MR)
        tile_x16(12, kc, a, a1, 1, NBL_GEMM_MR, b, c, ldc, accumulate, mr, nr, NULL, 0);
    else
        tile_x16(6, kc, a, a, 1, NBL_GEMM_MR, b, c, ldc, accumulate, mr, nr, NULL, 0);
}

// A read in place, `rows` (6 or 12) rows with element (i, p) at a[i * ars + p * aps], as the AVX2
// direct kernel. Then, when given, bias[j] is added to each row and ReLU applied, while the tile is
// still in registers.
NBL_AVX512 void nbl_microkernel_avx512_direct(int rows, long kc, const float *a, long ars, long aps, const float *b,
                                              float *c, long ldc, int accumulate, int nr, const float *bias,
                                              int relu) {
    if (rows > NBL_GEMM_MR)
        tile_x16(12, kc, a, a + NBL_GEMM_MR * ars, ars, aps, b, c, ldc, accumulate, 12, nr, bias, relu);
    else
        tile_x16(6, kc, a, a, ars, aps, b, c, ldc, accumulate, NBL_GEMM_MR, nr, bias, relu);
}
#endif
