// Image resampling for augmentation and resizing, NHWC float32.
//
// One variant: for each output pixel, the source position is an affine map of the output position
// (a 2×3 matrix per image), read with bilinear (or nearest) interpolation; positions outside the
// image take a constant, the nearest edge pixel, or a reflection, by fill mode. Flips, crops,
// zooms, translations, rotations and resizes are all such maps.
#include "internal.h"

#include <math.h>

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

void nbl_affine_sample_nhwc(const float *x, long H, long W, long C, const float *matrices, long OH, long OW,
                            int fillMode, float fillValue, int nearest, long n0, long n1, float *out) {
    for (long n = n0; n < n1; n++) {
        const float *m = matrices + 6 * n;
        const float *xn = x + n * H * W * C;
        float *on = out + n * OH * OW * C;
        for (long oy = 0; oy < OH; oy++) {
            for (long ox = 0; ox < OW; ox++) {
                float sy = m[0] * oy + m[1] * ox + m[2];
                float sx = m[3] * oy + m[4] * ox + m[5];
                float *o = on + (oy * OW + ox) * C;
                if (nearest) {
                    int outside;
                    long iy = nbl_fill_index(lroundf(sy), H, fillMode, &outside);
                    int outsideX;
                    long ix = nbl_fill_index(lroundf(sx), W, fillMode, &outsideX);
                    if (outside || outsideX) {
                        for (long c = 0; c < C; c++) o[c] = fillValue;
                    } else {
                        const float *p = xn + (iy * W + ix) * C;
                        for (long c = 0; c < C; c++) o[c] = p[c];
                    }
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
                        int oy_out, ox_out;
                        long iy = nbl_fill_index(y0 + dy, H, fillMode, &oy_out);
                        long ix = nbl_fill_index(x0 + dx, W, fillMode, &ox_out);
                        if (oy_out || ox_out) {
                            for (long c = 0; c < C; c++) o[c] += w * fillValue;
                        } else {
                            const float *p = xn + (iy * W + ix) * C;
                            for (long c = 0; c < C; c++) o[c] += w * p[c];
                        }
                    }
                }
            }
        }
    }
}
