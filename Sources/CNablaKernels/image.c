// Image resampling for augmentation and resizing: NHWC uint8 or float32 in, float32 out.
//
// One variant: for each output pixel, the source position is an affine map of the output position
// (a 2×3 matrix per image), read with bilinear (or nearest) interpolation; positions outside the
// image take a constant, the nearest edge pixel, or a reflection, by fill mode. Flips, crops,
// zooms, translations, rotations and resizes are all such maps. Every value read is scaled and
// shifted per channel on the way (bytes to [0, 1], mean/std normalisation), so a whole
// augmentation pipeline is one pass over the batch.
#include "internal.h"

#include <math.h>
#include <stdint.h>

static inline long nbl_fill_index(long i, long n, int mode, int *outside) {
    *outside = 0;
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case NBL_FILL_NEAREST: return i < 0 ? 0 : n - 1;
    case NBL_FILL_REFLECT: {
        // Reflect about the edges without repeating them (d c b | a b c d | c b a), period 2n-2.
        if (n == 1) return 0;
        long period = 2 * n - 2;
        long m = i % period;
        if (m < 0) m += period;
        return m < n ? m : period - m;
    }
    default: *outside = 1; return 0;
    }
}

#define NBL_LOAD(i) (u8 ? (float)xb[(i)] : xf[(i)])

// A map that sends whole pixels to whole pixels (flips, crops, translations, and their products):
// each output row copies one source row, forwards or backwards, with no interpolation.
static inline int nbl_is_lattice(const float *m) {
    return m[1] == 0 && m[3] == 0 && (m[0] == 1 || m[0] == -1) && (m[4] == 1 || m[4] == -1) && m[2] == floorf(m[2]) &&
           m[5] == floorf(m[5]) && fabsf(m[2]) < 1e7f && fabsf(m[5]) < 1e7f;
}

static void nbl_lattice_row(const uint8_t *xb, const float *xf, int u8, long H, long W, long C, const float *m, long oy,
                            long OW, int fillMode, const float *fill, const float *scale, const float *bias, long base,
                            float *o) {
    int outY;
    long iy = nbl_fill_index((long)(m[0] * (float)oy + m[2]), H, fillMode, &outY);
    if (outY) {
        for (long i = 0; i < OW * C; i++) o[i] = fill[i % C];
        return;
    }
    const long step = (long)m[4], sx0 = (long)m[5], row = base + iy * W * C;
    // Output columns whose source column step·ox + sx0 lies inside [0, W).
    long lo = step == 1 ? -sx0 : sx0 - W + 1, hi = step == 1 ? W - sx0 : sx0 + 1;
    lo = lo < 0 ? 0 : (lo > OW ? OW : lo);
    hi = hi < lo ? lo : (hi > OW ? OW : hi);
    for (long ox = 0; ox < OW; ox++) {
        if (ox == lo && hi > lo) {
            if (C == 1) {
                const float s = scale[0], b = bias[0];
                const long start = row + step * lo + sx0;
                if (u8)
                    for (long k = 0; k < hi - lo; k++) o[lo + k] = s * (float)xb[start + step * k] + b;
                else
                    for (long k = 0; k < hi - lo; k++) o[lo + k] = s * xf[start + step * k] + b;
            } else {
                for (long k = lo; k < hi; k++)
                    for (long c = 0; c < C; c++) o[k * C + c] = scale[c] * NBL_LOAD(row + (step * k + sx0) * C + c) + bias[c];
            }
            ox = hi - 1;
            continue;
        }
        int outX;
        long ix = nbl_fill_index(step * ox + sx0, W, fillMode, &outX);
        for (long c = 0; c < C; c++) o[ox * C + c] = outX ? fill[c] : scale[c] * NBL_LOAD(row + ix * C + c) + bias[c];
    }
}

void nbl_resample_nhwc(const void *x, int u8, long H, long W, long C, const float *matrices, long OH, long OW,
                       int fillMode, const float *fill, const float *scale, const float *bias, int nearest, long n0,
                       long n1, float *out) {
    const uint8_t *xb = (const uint8_t *)x;
    const float *xf = (const float *)x;
    for (long n = n0; n < n1; n++) {
        const float *m = matrices + 6 * n;
        const long base = n * H * W * C;
        float *on = out + n * OH * OW * C;
        if (nbl_is_lattice(m)) {
            for (long oy = 0; oy < OH; oy++)
                nbl_lattice_row(xb, xf, u8, H, W, C, m, oy, OW, fillMode, fill, scale, bias, base, on + oy * OW * C);
            continue;
        }
        for (long oy = 0; oy < OH; oy++) {
            for (long ox = 0; ox < OW; ox++) {
                float sy = m[0] * oy + m[1] * ox + m[2];
                float sx = m[3] * oy + m[4] * ox + m[5];
                float *o = on + (oy * OW + ox) * C;
                if (nearest) {
                    int outY, outX;
                    long iy = nbl_fill_index(lroundf(sy), H, fillMode, &outY);
                    long ix = nbl_fill_index(lroundf(sx), W, fillMode, &outX);
                    for (long c = 0; c < C; c++)
                        o[c] = (outY || outX) ? fill[c] : scale[c] * NBL_LOAD(base + (iy * W + ix) * C + c) + bias[c];
                    continue;
                }
                long y0 = (long)floorf(sy), x0 = (long)floorf(sx);
                float fy = sy - (float)y0, fx = sx - (float)x0;
                for (long c = 0; c < C; c++) o[c] = 0;
                for (int dy = 0; dy < 2; dy++) {
                    float wy = dy ? fy : 1 - fy;
                    if (wy == 0) continue;
                    for (int dx = 0; dx < 2; dx++) {
                        float w = wy * (dx ? fx : 1 - fx);
                        if (w == 0) continue;
                        int outY, outX;
                        long iy = nbl_fill_index(y0 + dy, H, fillMode, &outY);
                        long ix = nbl_fill_index(x0 + dx, W, fillMode, &outX);
                        for (long c = 0; c < C; c++)
                            o[c] += w * ((outY || outX) ? fill[c]
                                                        : scale[c] * NBL_LOAD(base + (iy * W + ix) * C + c) + bias[c]);
                    }
                }
            }
        }
    }
}
