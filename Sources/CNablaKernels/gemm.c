// Packed, cache-blocked SGEMM (Goto / BLIS structure) on general strides.
//
// Variants of the micro-kernel, chosen at run time by nbl_gemm_set_isa / cpuid:
//   - portable: plain C loops over a 6×16 tile (any CPU; the reference for the others);
//   - AVX2+FMA (gemm_avx2.c): 12 ymm accumulators, chosen when cpuid reports AVX2 and FMA;
//   - AVX-512 (gemm_avx512.c): 12 rows (two A panels) by 16 in 12 zmm accumulators, chosen when
//     cpuid reports AVX-512F; the same bits as the AVX2 kernel;
//   - NEON (gemm_neon.c): 24 q-register accumulators, always on arm64.
// Loops, outermost first: jc over N by NC (B panel in L3), pc over K by equal blocks of at most KC
// (pack B), ic over M by MC (pack A into L2), then jr / ir over the micro-tiles. Packing buffers are thread-local and kept,
// so a steady-state call allocates nothing. Results do not depend on how callers split M or N:
// every element of C sums over K in the same order.
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { MR = NBL_GEMM_MR, NR = NBL_GEMM_NR, KC = 320, MC = 120, NC = 3072 };

// The K block: K cut into equal blocks of at most KC (288 stays whole; 1024 is four of 256), so
// no product ends on a short block that costs a full write-back of C for a few steps of k.
static long block_k(long K) {
    long blocks = (K + KC - 1) / KC;
    return (K + blocks - 1) / blocks;
}

static _Atomic int nbl_isa = -1;  // found on first use, by whichever thread comes first
// A per-thread choice that overrides nbl_isa (tests compare the ISAs while other work runs).
static _Thread_local int nbl_isa_override = -1;

static nbl_microkernel nbl_kernel_for(int isa) {
    switch (isa) {
#if defined(__x86_64__) || defined(__i386__)
    case NBL_ISA_AVX2_FMA: return nbl_microkernel_avx2;
    case NBL_ISA_AVX512: return nbl_microkernel_avx512;
#endif
#if defined(__aarch64__)
    case NBL_ISA_NEON: return nbl_microkernel_neon;
#endif
    default: return nbl_microkernel_portable;
    }
}

int nbl_gemm_isa(void) {
    if (nbl_isa_override >= 0) return nbl_isa_override;
    if (nbl_isa < 0) nbl_isa = nbl_cpu_best_isa();
    return nbl_isa;
}

int nbl_gemm_set_isa(int isa) {
    if (isa < 0) {
        nbl_isa_override = -1;
        return 1;
    }
    int best = nbl_cpu_best_isa();
    if (isa == NBL_ISA_PORTABLE || isa == best || (isa == NBL_ISA_AVX2_FMA && best == NBL_ISA_AVX512)) {
        nbl_isa_override = isa;
        return 1;
    }
    return 0;
}

void nbl_microkernel_portable(long kc, const float *a, const float *b, float *c, long ldc, int accumulate, int mr,
                              int nr) {
    float acc[MR][NR];
    memset(acc, 0, sizeof acc);
    for (long p = 0; p < kc; p++) {
        for (int i = 0; i < MR; i++) {
            float ai = a[p * MR + i];
            for (int j = 0; j < NR; j++) acc[i][j] += ai * b[p * NR + j];
        }
    }
    for (int i = 0; i < mr; i++) {
        for (int j = 0; j < nr; j++) {
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
        }
    }
}

// Packs `width` lanes (rows of A or columns of B, `stride` apart, each contiguous along k) into a
// micro-panel, out[p * width + lane], eight k at a time: each lane read contiguously, then the
// width×8 block transposed. Returns the k it reached (the rest, under eight, is the caller's).
static long pack_lanes_by_8(long kc, const float *src, long stride, int width, float *out) {
    long p = 0;
    for (; p + 8 <= kc; p += 8) {
        float block[NR][8];
        for (int l = 0; l < width; l++) memcpy(block[l], src + l * stride + p, sizeof block[l]);
        for (int q = 0; q < 8; q++)
            for (int l = 0; l < width; l++) out[(p + q) * width + l] = block[l][q];
    }
    return p;
}

// Packs A[ic:ic+mc, pc:pc+kc] into micro-panels of MR rows: panel p holds (kc, MR), zero-padded.
static void pack_a(long mc, long kc, const float *A, long rs, long cs, float *out) {
    for (long i0 = 0; i0 < mc; i0 += MR) {
        long m = mc - i0 < MR ? mc - i0 : MR;
        const float *src = A + i0 * rs;
        if (cs == 1 && m == MR) {
            long p = pack_lanes_by_8(kc, src, rs, MR, out);
            for (; p < kc; p++)
                for (int i = 0; i < MR; i++) out[p * MR + i] = src[i * rs + p];
        } else if (rs == 1 && m == MR) {
            for (long p = 0; p < kc; p++) memcpy(out + p * MR, src + p * cs, MR * sizeof(float));
        } else {
            for (long p = 0; p < kc; p++)
                for (int i = 0; i < MR; i++) out[p * MR + i] = i < m ? src[i * rs + p * cs] : 0.0f;
        }
        out += kc * MR;
    }
}

// Packs B[pc:pc+kc, jc:jc+nc] into micro-panels of NR columns: panel p holds (kc, NR), zero-padded.
static void pack_b(long kc, long nc, const float *B, long rs, long cs, float *out) {
    if (cs == 1) {
        // Row by row, so each row of B is read once and in order (panel by panel, every row's
        // 64 bytes came from a line far from the last); its NR-wide pieces go to their panels.
        long full = nc / NR * NR;
        for (long p = 0; p < kc; p++) {
            float *dst = out + p * NR;
            for (long j0 = 0; j0 < full; j0 += NR, dst += kc * NR) memcpy(dst, B + p * rs + j0, NR * sizeof(float));
        }
        B += full;
        nc -= full;
        out += full * kc;
    }
    for (long j0 = 0; j0 < nc; j0 += NR) {
        long n = nc - j0 < NR ? nc - j0 : NR;
        const float *src = B + j0 * cs;
        // A transposed B (columns contiguous) goes through the same eight-wide blocks as A.
        long p = rs == 1 && n == NR ? pack_lanes_by_8(kc, src, cs, NR, out) : 0;
        for (; p < kc; p++)
            for (int j = 0; j < NR; j++) out[p * NR + j] = j < n ? src[p * rs + j * cs] : 0.0f;
        out += kc * NR;
    }
}

// Thread-local packing buffers, 64-byte aligned, allocated once per thread.
static _Thread_local float *nbl_pack_a_buffer;
static _Thread_local float *nbl_pack_b_buffer;

static int nbl_ensure_buffers(void) {
    if (!nbl_pack_a_buffer) nbl_pack_a_buffer = aligned_alloc(64, sizeof(float) * (MC + MR) * KC);
    if (!nbl_pack_b_buffer) nbl_pack_b_buffer = aligned_alloc(64, sizeof(float) * (NC + NR) * KC);
    return nbl_pack_a_buffer && nbl_pack_b_buffer;
}

// Small problems skip packing: a direct triple loop with the same K order per element.
static void sgemm_small(long M, long N, long K, const float *A, long rsA, long csA, const float *B, long rsB,
                        long csB, float *C, long ldc, int accumulate) {
    for (long i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (!accumulate) memset(c, 0, (size_t)N * sizeof(float));
        for (long p = 0; p < K; p++) {
            float a = A[i * rsA + p * csA];
            const float *b = B + p * rsB;
            if (csB == 1) {
                for (long j = 0; j < N; j++) c[j] += a * b[j];
            } else {
                for (long j = 0; j < N; j++) c[j] += a * b[j * csB];
            }
        }
    }
}

static void sgemm_blocked(long M, long N, long K, const float *A, long rsA, long csA, const float *B, long rsB,
                          long csB, const float *packed, float *C, long ldc, int accumulate);

void nbl_sgemm(long M, long N, long K, const float *A, long rsA, long csA, const float *B, long rsB, long csB,
               float *C, long ldc, int accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (long i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    if (M * N * K < 4096 || !nbl_ensure_buffers()) {
        sgemm_small(M, N, K, A, rsA, csA, B, rsB, csB, C, ldc, accumulate);
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    // A few rows against a row-major B (a batch of one through a dense layer): no packing.
    if (M <= 4 && csB == 1 && nbl_isa_has_avx2(nbl_gemm_isa())) {
        nbl_sgemm_rows_avx2(M, N, K, A, rsA, csA, B, rsB, C, ldc, accumulate, block_k(K));
        return;
    }
#endif
    sgemm_blocked(M, N, K, A, rsA, csA, B, rsB, csB, NULL, C, ldc, accumulate);
}

long nbl_sgemm_packed_size(long N, long K) { return (N + NR - 1) / NR * NR * (K > 0 ? K : 0); }

void nbl_sgemm_pack(long N, long K, const float *B, long rsB, long csB, float *out) {
    for (long jc = 0; jc < N; jc += NC) {
        long nc = N - jc < NC ? N - jc : NC, ncp = (nc + NR - 1) / NR * NR;
        for (long pc = 0, kb = block_k(K); pc < K; pc += kb)
            pack_b(K - pc < kb ? K - pc : kb, nc, B + pc * rsB + jc * csB, rsB, csB, out + jc * K + pc * ncp);
    }
}

void nbl_sgemm_packed(long M, long N, long K, const float *A, long rsA, long csA, const float *packedB, float *C,
                      long ldc, int accumulate) {
    if (M <= 0 || N <= 0 || K <= 0) {
        nbl_sgemm(M, N, K, A, rsA, csA, NULL, 0, 0, C, ldc, accumulate);  // empty: reads no B
        return;
    }
    if (!nbl_ensure_buffers()) return;
    sgemm_blocked(M, N, K, A, rsA, csA, NULL, 0, 0, packedB, C, ldc, accumulate);
}

// The blocked loops, on B packed here block by block, or on all of B packed beforehand
// (`packed`, laid out as nbl_sgemm_pack writes it).
static void sgemm_blocked(long M, long N, long K, const float *A, long rsA, long csA, const float *B, long rsB,
                          long csB, const float *packed, float *C, long ldc, int accumulate) {
    int isa = nbl_gemm_isa();
    nbl_microkernel kernel = nbl_kernel_for(isa);
    long tile = isa == NBL_ISA_AVX512 ? 2 * MR : MR;  // rows of C per kernel call
    // With a narrow N, an A contiguous along k or along M is read in place (its full tiles; the
    // last, partial one is packed): packed, each element would serve only N / NR kernel calls.
    int direct = (csA == 1 || rsA == 1) && N <= 4 * NR && nbl_isa_has_avx2(isa);
    float *pa = nbl_pack_a_buffer;
    for (long jc = 0; jc < N; jc += NC) {
        long nc = N - jc < NC ? N - jc : NC, ncp = (nc + NR - 1) / NR * NR;
        for (long pc = 0, kb = block_k(K); pc < K; pc += kb) {
            long kc = K - pc < kb ? K - pc : kb;
            int acc = accumulate || pc > 0;
            const float *pb = packed ? packed + jc * K + pc * ncp : nbl_pack_b_buffer;
            if (!packed) pack_b(kc, nc, B + pc * rsB + jc * csB, rsB, csB, nbl_pack_b_buffer);
            for (long ic = 0; ic < M; ic += MC) {
                long mc = M - ic < MC ? M - ic : MC;
                long packed_from = direct ? mc / tile * tile : 0;
                if (packed_from < mc)
                    pack_a(mc - packed_from, kc, A + (ic + packed_from) * rsA + pc * csA, rsA, csA, pa);
#if defined(__x86_64__) || defined(__i386__)
                // Rows read in place: each tile of A stays in L1 while it meets every panel of B,
                // which streams in order from L2.
                for (long ir = 0; ir < packed_from; ir += tile) {
                    for (long jr = 0; jr < nc; jr += NR) {
                        int nr = (int)(nc - jr < NR ? nc - jr : NR);
                        float *c = C + (ic + ir) * ldc + jc + jr;
                        nbl_microkernel_direct(isa, (int)tile, kc, A + (ic + ir) * rsA + pc * csA, rsA, csA,
                                               pb + jr * kc, c, ldc, acc, nr, NULL, 0);
                    }
                }
#endif
                for (long jr = 0; jr < nc; jr += NR) {
                    int nr = (int)(nc - jr < NR ? nc - jr : NR);
                    for (long ir = packed_from; ir < mc; ir += tile) {
                        int mr = (int)(mc - ir < tile ? mc - ir : tile);
                        float *c = C + (ic + ir) * ldc + jc + jr;
                        kernel(kc, pa + (ir - packed_from) * kc, pb + jr * kc, c, ldc, acc, mr, nr);
                    }
                }
            }
        }
    }
}
