// Shared between the GEMM driver and its ISA-specific micro-kernels. Not part of the public header.
#ifndef CNABLA_INTERNAL_H
#define CNABLA_INTERNAL_H

#include "CNablaKernels.h"

// A micro-kernel computes one MR×NR tile of C from kc rank-1 updates of packed panels:
// a is (kc, MR) and b is (kc, NR), both contiguous and zero-padded at the edges.
// c is written (or added to when accumulate) for the first mr rows and nr columns only. The AVX-512
// kernel takes up to 2·MR rows: a then holds two consecutive A panels.
typedef void (*nbl_microkernel)(long kc, const float *a, const float *b, float *c, long ldc, int accumulate,
                                int mr, int nr);

void nbl_microkernel_portable(long kc, const float *a, const float *b, float *c, long ldc, int accumulate, int mr,
                              int nr);
#if defined(__x86_64__) || defined(__i386__)
void nbl_microkernel_avx2(long kc, const float *a, const float *b, float *c, long ldc, int accumulate, int mr,
                          int nr);
void nbl_microkernel_avx2_direct(long kc, const float *a, long ars, long aps, const float *b, float *c, long ldc,
                                 int accumulate, int nr, const float *bias, int relu);
void nbl_microkernel_avx512(long kc, const float *a, const float *b, float *c, long ldc, int accumulate, int mr,
                            int nr);
void nbl_microkernel_avx512_direct(int rows, long kc, const float *a, long ars, long aps, const float *b, float *c,
                                   long ldc,
                                   int accumulate, int nr, const float *bias, int relu);
// The in-place-A tile of `isa` (AVX2+FMA: six rows; AVX-512: `rows`, 6 or 12), arguments as the two
// kernels take them. Inline: a call costs a few percent of a tile with a short K.
static inline void nbl_microkernel_direct(int isa, int rows, long kc, const float *a, long ars, long aps,
                                          const float *b, float *c, long ldc, int accumulate, int nr,
                                          const float *bias, int relu) {
    if (isa == NBL_ISA_AVX512)
        nbl_microkernel_avx512_direct(rows, kc, a, ars, aps, b, c, ldc, accumulate, nr, bias, relu);
    else
        nbl_microkernel_avx2_direct(kc, a, ars, aps, b, c, ldc, accumulate, nr, bias, relu);
}
void nbl_sgemm_rows_avx2(long M, long N, long K, const float *A, long rsA, long csA, const float *B, long rsB,
                         float *C, long ldc, int accumulate, long kcBlock);
#endif
#if defined(__aarch64__)
void nbl_microkernel_neon(long kc, const float *a, const float *b, float *c, long ldc, int accumulate, int mr,
                          int nr);
#endif

#define NBL_MAX_DIMS 16

// The row walk shared by the strided kernels: visits elements [start, end) of a row-major index
// space `shape` (ndim >= 1) in runs along the last dimension, keeping one running offset per
// operand. The body (the variadic argument) sees `i` (linear index of the run start), `count` and OFFS[o] for each operand.
#define NBL_BROADCAST_LOOP(NOPS, STRIDES, OFFS, ...)                                            \
    long idx[NBL_MAX_DIMS];                                                                     \
    long rem = start;                                                                           \
    for (int d = ndim - 1; d >= 0; d--) {                                                       \
        idx[d] = rem % shape[d];                                                                \
        rem /= shape[d];                                                                        \
    }                                                                                           \
    for (int o = 0; o < NOPS; o++) {                                                            \
        OFFS[o] = 0;                                                                            \
        for (int d = 0; d < ndim; d++) OFFS[o] += idx[d] * STRIDES[o][d];                       \
    }                                                                                           \
    long inner = shape[ndim - 1];                                                               \
    long i = start;                                                                             \
    while (i < end) {                                                                           \
        long j0 = idx[ndim - 1];                                                                \
        long count = inner - j0;                                                                \
        if (count > end - i) count = end - i;                                                   \
        __VA_ARGS__                                                                                    \
        i += count;                                                                             \
        for (int o = 0; o < NOPS; o++) OFFS[o] += count * STRIDES[o][ndim - 1];                 \
        idx[ndim - 1] = j0 + count;                                                             \
        for (int d = ndim - 1; d > 0 && idx[d] == shape[d]; d--) {                              \
            for (int o = 0; o < NOPS; o++) OFFS[o] += STRIDES[o][d - 1] - shape[d] * STRIDES[o][d]; \
            idx[d] = 0;                                                                         \
            idx[d - 1]++;                                                                       \
        }                                                                                       \
    }

#endif
