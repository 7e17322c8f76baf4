// Strided copies and dtype conversion.
//
// nbl_copy_strided walks a row-major index space of `shape` and moves elements between two
// arbitrary strided views; the innermost dimension runs as a tight loop (memcpy when both
// sides are contiguous there). Dtype codes: 0 float32, 1 int32, 2 int64, 3 uint8, 4 bool.
#include "internal.h"

#include <math.h>
#include <string.h>

void nbl_copy_strided(int ndim, const long *shape, const void *src, const long *srcStrides, void *dst,
                      const long *dstStrides, int elementSize, long start, long end) {
    if (end <= start) return;
    if (ndim == 0) {
        memcpy(dst, src, (size_t)elementSize);
        return;
    }
    const long *strides[2] = {srcStrides, dstStrides};
    long offs[2];
    long ss = srcStrides[ndim - 1], ds = dstStrides[ndim - 1];
    NBL_BROADCAST_LOOP(2, strides, offs, {
        switch (elementSize) {
        case 4: {
            const float *s = (const float *)src + offs[0];
            float *t = (float *)dst + offs[1];
            if (ss == 1 && ds == 1) memcpy(t, s, (size_t)count * 4);
            else for (long j = 0; j < count; j++) t[j * ds] = s[j * ss];
            break;
        }
        case 8: {
            const int64_t *s = (const int64_t *)src + offs[0];
            int64_t *t = (int64_t *)dst + offs[1];
            for (long j = 0; j < count; j++) t[j * ds] = s[j * ss];
            break;
        }
        case 2: {
            const int16_t *s = (const int16_t *)src + offs[0];
            int16_t *t = (int16_t *)dst + offs[1];
            for (long j = 0; j < count; j++) t[j * ds] = s[j * ss];
            break;
        }
        default: {
            const uint8_t *s = (const uint8_t *)src + offs[0];
            uint8_t *t = (uint8_t *)dst + offs[1];
            for (long j = 0; j < count; j++) t[j * ds] = s[j * ss];
            break;
        }
        }
    })
}

static double nbl_load(int type, const void *p, long i) {
    switch (type) {
    case 0: return ((const float *)p)[i];
    case 1: return ((const int32_t *)p)[i];
    case 2: return (double)((const int64_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
    }
}

void nbl_convert(int srcType, const void *src, int dstType, void *dst, long n) {
    if (srcType == 0 && dstType == 0) {
        memcpy(dst, src, (size_t)n * 4);
        return;
    }
    for (long i = 0; i < n; i++) {
        double v = nbl_load(srcType, src, i);
        switch (dstType) {
        case 0: ((float *)dst)[i] = (float)v; break;
        // NOTE: float → integer truncates toward zero (C and numpy semantics); NaN becomes 0.
        case 1: ((int32_t *)dst)[i] = isnan(v) ? 0 : (int32_t)fmax(fmin(v, 2147483647.0), -2147483648.0); break;
        case 2: ((int64_t *)dst)[i] = isnan(v) ? 0 : (int64_t)fmax(fmin(v, 9.2e18), -9.2e18); break;
        case 3: ((uint8_t *)dst)[i] = isnan(v) ? 0 : (uint8_t)((long)fmax(fmin(v, 255.0), -255.0) & 0xff); break;
        default: ((uint8_t *)dst)[i] = v != 0.0; break;
        }
    }
}
