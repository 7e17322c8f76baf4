// CPU feature detection for run-time kernel dispatch.
//
// x86-64: cpuid leaf 7 for AVX2 and AVX-512F, leaf 1 for FMA and OSXSAVE, and xgetbv to confirm the OS saves
// the ymm (and zmm) registers. arm64: NEON is architectural, always present. Anything else: portable C.
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long nbl_xgetbv0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

int nbl_cpu_has_avx2_fma(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return 0;
    if ((nbl_xgetbv0() & 0x6) != 0x6) return 0;  // xmm and ymm state enabled by the OS
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 5) & 1;
}

int nbl_cpu_has_avx512(void) {
    if (!nbl_cpu_has_avx2_fma()) return 0;
    if ((nbl_xgetbv0() & 0xe0) != 0xe0) return 0;  // opmask and zmm state enabled by the OS
    unsigned int a, b, c, d;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 16) & 1;
}
#else
int nbl_cpu_has_avx2_fma(void) { return 0; }
int nbl_cpu_has_avx512(void) { return 0; }
#endif

int nbl_isa_has_avx2(int isa) { return isa == NBL_ISA_AVX2_FMA || isa == NBL_ISA_AVX512; }

int nbl_cpu_best_isa(void) {
#if defined(__aarch64__)
    return NBL_ISA_NEON;
#else
    if (nbl_cpu_has_avx512()) return NBL_ISA_AVX512;
    return nbl_cpu_has_avx2_fma() ? NBL_ISA_AVX2_FMA : NBL_ISA_PORTABLE;
#endif
}
