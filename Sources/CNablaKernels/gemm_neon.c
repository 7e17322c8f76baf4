// NEON micro-kernel of the packed SGEMM (arm64): a 6×16 tile of C in 24 q-register accumulators.
//
// Per step of k: four loads of the packed B row, six lane-broadcast FMAs per B vector. Always
// chosen on arm64, where NEON is architectural.
#include "internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void nbl_microkernel_neon(long kc, const float *a, const float *b, float *c, long ldc, int accumulate, int mr,
                          int nr) {
    float32x4_t acc[NBL_GEMM_MR][4];
    for (int i = 0; i < NBL_GEMM_MR; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = vdupq_n_f32(0.0f);
    for (long p = 0; p < kc; p++) {
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
        for (int i = 0; i < NBL_GEMM_MR; i++) {
            float32x4_t av = vdupq_n_f32(a[i]);
            acc[i][0] = vfmaq_f32(acc[i][0], av, b0);
            acc[i][1] = vfmaq_f32(acc[i][1], av, b1);
            acc[i][2] = vfmaq_f32(acc[i][2], av, b2);
            acc[i][3] = vfmaq_f32(acc[i][3], av, b3);
        }
        a += NBL_GEMM_MR;
        b += NBL_GEMM_NR;
    }
    float tile[NBL_GEMM_MR][NBL_GEMM_NR];
    for (int i = 0; i < NBL_GEMM_MR; i++)
        for (int j = 0; j < 4; j++) vst1q_f32(tile[i] + 4 * j, acc[i][j]);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) c[i * ldc + j] = accumulate ? c[i * ldc + j] + tile[i][j] : tile[i][j];
}
#endif
