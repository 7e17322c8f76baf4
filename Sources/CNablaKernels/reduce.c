// Reductions: sum / max / min over any set of axes, and argmax / argmin along one axis.
//
// nbl_reduce_f32 walks the input once in row-major order and folds each element into the output
// element its reduced index maps to (output strides are zero on reduced axes), so every layout is
// one cache-friendly pass. When the last axis is reduced, each run is summed in double first.
#include "internal.h"

#include <math.h>

void nbl_reduce_f32(int op, int ndim, const long *shape, const float *x, const long *xStrides, float *out,
                    const long *outStrides) {
    long total = 1;
    for (int d = 0; d < ndim; d++) total *= shape[d];
    if (total == 0) return;
    if (ndim == 0) {
        float v = x[0];
        if (op == NBL_RED_SUM) out[0] += v;
        else if (op == NBL_RED_MAX) out[0] = (v > out[0] || isnan(v)) ? v : out[0];
        else out[0] = (v < out[0] || isnan(v)) ? v : out[0];
        return;
    }
    long start = 0, end = total;
    const long *strides[2] = {xStrides, outStrides};
    long offs[2];
    long sx = xStrides[ndim - 1], so = outStrides[ndim - 1];
    NBL_BROADCAST_LOOP(2, strides, offs, {
        const float *px = x + offs[0];
        float *po = out + offs[1];
        if (op == NBL_RED_SUM) {
            if (so == 0) {
                double s = 0;
                for (long j = 0; j < count; j++) s += px[j * sx];
                po[0] += (float)s;
            } else {
                for (long j = 0; j < count; j++) po[j * so] += px[j * sx];
            }
        } else if (op == NBL_RED_MAX) {
            for (long j = 0; j < count; j++) {
                float v = px[j * sx];
                if (v > po[j * so] || isnan(v)) po[j * so] = v;
            }
        } else {
            for (long j = 0; j < count; j++) {
                float v = px[j * sx];
                if (v < po[j * so] || isnan(v)) po[j * so] = v;
            }
        }
    })
}

void nbl_argmax_f32(const float *x, long outer, long n, long inner, int isMin, int64_t *out) {
    for (long o = 0; o < outer; o++) {
        for (long k = 0; k < inner; k++) {
            const float *p = x + o * n * inner + k;
            long best = 0;
            float bv = p[0];
            // The first occurrence wins ties, as in numpy; NaN counts as the extreme.
            for (long j = 1; j < n && !isnan(bv); j++) {
                float v = p[j * inner];
                if (isnan(v) || (isMin ? v < bv : v > bv)) {
                    bv = v;
                    best = j;
                }
            }
            out[o * inner + k] = best;
        }
    }
}
