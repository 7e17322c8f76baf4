// Elementwise kernels: unary maps with their derivatives, broadcasting binary ops, where.
//
// Unary kernels run over contiguous arrays. Binary kernels walk a row-major index space with
// per-operand strides (0 on broadcast dimensions); the innermost dimension is a tight loop with
// specialised stride-1 and stride-0 cases, which is where all the time goes.
#include "internal.h"

#include <math.h>
#include <string.h>

static inline float nbl_sigmoid(float x) {
    // NOTE: split by sign so exp never overflows.
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

void nbl_unary_f32(int op, const float *restrict x, float *restrict y, long n, float alpha, float beta) {
    switch (op) {
    case NBL_UN_NEG: for (long i = 0; i < n; i++) y[i] = -x[i]; break;
    case NBL_UN_EXP: for (long i = 0; i < n; i++) y[i] = expf(x[i]); break;
    case NBL_UN_LOG: for (long i = 0; i < n; i++) y[i] = logf(x[i]); break;
    case NBL_UN_SQRT: for (long i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
    case NBL_UN_RSQRT: for (long i = 0; i < n; i++) y[i] = 1.0f / sqrtf(x[i]); break;
    case NBL_UN_ABS: for (long i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
    case NBL_UN_SIGN: for (long i = 0; i < n; i++) y[i] = (float)((x[i] > 0) - (x[i] < 0)); break;
    case NBL_UN_RELU: for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f; break;
    case NBL_UN_LEAKY_RELU: for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : alpha * x[i]; break;
    case NBL_UN_ELU: for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : alpha * expm1f(x[i]); break;
    case NBL_UN_SIGMOID: for (long i = 0; i < n; i++) y[i] = nbl_sigmoid(x[i]); break;
    case NBL_UN_TANH: for (long i = 0; i < n; i++) y[i] = tanhf(x[i]); break;
    case NBL_UN_GELU:  // exact form, x·Φ(x)
        for (long i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
        break;
    case NBL_UN_SWISH: for (long i = 0; i < n; i++) y[i] = x[i] * nbl_sigmoid(x[i]); break;
    case NBL_UN_ERF: for (long i = 0; i < n; i++) y[i] = erff(x[i]); break;
    case NBL_UN_SQUARE: for (long i = 0; i < n; i++) y[i] = x[i] * x[i]; break;
    case NBL_UN_POW_SCALAR: for (long i = 0; i < n; i++) y[i] = powf(x[i], alpha); break;
    case NBL_UN_CLAMP:
        for (long i = 0; i < n; i++) y[i] = x[i] < alpha ? alpha : (x[i] > beta ? beta : x[i]);
        break;
    }
}

void nbl_unary_backward_f32(int op, const float *restrict x, const float *restrict y, const float *restrict g,
                            float *restrict dx, long n, float alpha, float beta) {
    switch (op) {
    case NBL_UN_NEG: for (long i = 0; i < n; i++) dx[i] = -g[i]; break;
    case NBL_UN_EXP: for (long i = 0; i < n; i++) dx[i] = g[i] * y[i]; break;
    case NBL_UN_LOG: for (long i = 0; i < n; i++) dx[i] = g[i] / x[i]; break;
    case NBL_UN_SQRT: for (long i = 0; i < n; i++) dx[i] = g[i] * 0.5f / y[i]; break;
    case NBL_UN_RSQRT: for (long i = 0; i < n; i++) dx[i] = -0.5f * g[i] * y[i] * y[i] * y[i]; break;
    case NBL_UN_ABS: for (long i = 0; i < n; i++) dx[i] = g[i] * (float)((x[i] > 0) - (x[i] < 0)); break;
    case NBL_UN_SIGN: for (long i = 0; i < n; i++) dx[i] = 0.0f; break;
    // NOTE: the relu family takes the derivative at 0 from the left (0), as PyTorch and Keras do.
    case NBL_UN_RELU: for (long i = 0; i < n; i++) dx[i] = x[i] > 0 ? g[i] : 0.0f; break;
    case NBL_UN_LEAKY_RELU: for (long i = 0; i < n; i++) dx[i] = x[i] > 0 ? g[i] : alpha * g[i]; break;
    case NBL_UN_ELU: for (long i = 0; i < n; i++) dx[i] = x[i] > 0 ? g[i] : g[i] * (y[i] + alpha); break;
    case NBL_UN_SIGMOID: for (long i = 0; i < n; i++) dx[i] = g[i] * y[i] * (1.0f - y[i]); break;
    case NBL_UN_TANH: for (long i = 0; i < n; i++) dx[i] = g[i] * (1.0f - y[i] * y[i]); break;
    case NBL_UN_GELU:
        for (long i = 0; i < n; i++) {
            float cdf = 0.5f * (1.0f + erff(x[i] * 0.70710678118654752f));
            float pdf = 0.39894228040143268f * expf(-0.5f * x[i] * x[i]);
            dx[i] = g[i] * (cdf + x[i] * pdf);
        }
        break;
    case NBL_UN_SWISH:
        for (long i = 0; i < n; i++) {
            float s = nbl_sigmoid(x[i]);
            dx[i] = g[i] * (s + x[i] * s * (1.0f - s));
        }
        break;
    case NBL_UN_SQUARE: for (long i = 0; i < n; i++) dx[i] = 2.0f * g[i] * x[i]; break;
    case NBL_UN_ERF:  // d/dx erf(x) = 2/√π · exp(−x²)
        for (long i = 0; i < n; i++) dx[i] = g[i] * 1.12837916709551257f * expf(-x[i] * x[i]);
        break;
    case NBL_UN_POW_SCALAR:
        for (long i = 0; i < n; i++) dx[i] = g[i] * alpha * powf(x[i], alpha - 1.0f);
        break;
    // NOTE: clamp passes the gradient inside [lo, hi] including the bounds, as PyTorch does.
    case NBL_UN_CLAMP:
        for (long i = 0; i < n; i++) dx[i] = (x[i] >= alpha && x[i] <= beta) ? g[i] : 0.0f;
        break;
    }
}

static inline float nbl_apply(int op, float a, float b) {
    switch (op) {
    case NBL_BIN_ADD: return a + b;
    case NBL_BIN_SUB: return a - b;
    case NBL_BIN_MUL: return a * b;
    case NBL_BIN_DIV: return a / b;
    case NBL_BIN_MAX: return a > b || isnan(a) ? a : b;
    case NBL_BIN_MIN: return a < b || isnan(a) ? a : b;
    default: return powf(a, b);
    }
}

static inline uint8_t nbl_compare(int op, float a, float b) {
    switch (op) {
    case NBL_CMP_EQ: return a == b;
    case NBL_CMP_NE: return a != b;
    case NBL_CMP_LT: return a < b;
    case NBL_CMP_LE: return a <= b;
    case NBL_CMP_GT: return a > b;
    default: return a >= b;
    }
}

void nbl_binary_f32(int op, int ndim, const long *shape, const float *a, const long *aStrides, const float *b,
                    const long *bStrides, void *out, long start, long end) {
    if (end <= start) return;
    if (ndim == 0) {
        if (op >= NBL_CMP_EQ) ((uint8_t *)out)[0] = nbl_compare(op, a[0], b[0]);
        else ((float *)out)[0] = nbl_apply(op, a[0], b[0]);
        return;
    }
    const long *strides[2] = {aStrides, bStrides};
    long offs[2];
    NBL_BROADCAST_LOOP(2, strides, offs, {
        const float *restrict pa = a + offs[0], *restrict pb = b + offs[1];
        long sa = aStrides[ndim - 1], sb = bStrides[ndim - 1];
        if (op >= NBL_CMP_EQ) {
            uint8_t *po = (uint8_t *)out + i;
            for (long j = 0; j < count; j++) po[j] = nbl_compare(op, pa[j * sa], pb[j * sb]);
        } else {
            float *restrict po = (float *)out + i;
            // Specialised inner loops for the common layouts, so the compiler vectorises them.
            if (sa == 1 && sb == 1) {
                switch (op) {
                case NBL_BIN_ADD: for (long j = 0; j < count; j++) po[j] = pa[j] + pb[j]; break;
                case NBL_BIN_SUB: for (long j = 0; j < count; j++) po[j] = pa[j] - pb[j]; break;
                case NBL_BIN_MUL: for (long j = 0; j < count; j++) po[j] = pa[j] * pb[j]; break;
                case NBL_BIN_DIV: for (long j = 0; j < count; j++) po[j] = pa[j] / pb[j]; break;
                default: for (long j = 0; j < count; j++) po[j] = nbl_apply(op, pa[j], pb[j]); break;
                }
            } else if (sa == 1 && sb == 0) {
                float s = pb[0];
                switch (op) {
                case NBL_BIN_ADD: for (long j = 0; j < count; j++) po[j] = pa[j] + s; break;
                case NBL_BIN_SUB: for (long j = 0; j < count; j++) po[j] = pa[j] - s; break;
                case NBL_BIN_MUL: for (long j = 0; j < count; j++) po[j] = pa[j] * s; break;
                case NBL_BIN_DIV: for (long j = 0; j < count; j++) po[j] = pa[j] / s; break;
                default: for (long j = 0; j < count; j++) po[j] = nbl_apply(op, pa[j], s); break;
                }
            } else if (sa == 0 && sb == 1) {
                float s = pa[0];
                switch (op) {
                case NBL_BIN_ADD: for (long j = 0; j < count; j++) po[j] = s + pb[j]; break;
                case NBL_BIN_SUB: for (long j = 0; j < count; j++) po[j] = s - pb[j]; break;
                case NBL_BIN_MUL: for (long j = 0; j < count; j++) po[j] = s * pb[j]; break;
                default: for (long j = 0; j < count; j++) po[j] = nbl_apply(op, s, pb[j]); break;
                }
            } else {
                for (long j = 0; j < count; j++) po[j] = nbl_apply(op, pa[j * sa], pb[j * sb]);
            }
        }
    })
}

void nbl_where_f32(int ndim, const long *shape, const uint8_t *cond, const long *cStrides, const float *a,
                   const long *aStrides, const float *b, const long *bStrides, float *out, long start, long end) {
    if (end <= start) return;
    if (ndim == 0) {
        out[0] = cond[0] ? a[0] : b[0];
        return;
    }
    const long *strides[3] = {cStrides, aStrides, bStrides};
    long offs[3];
    NBL_BROADCAST_LOOP(3, strides, offs, {
        const uint8_t *pc = cond + offs[0];
        const float *pa = a + offs[1], *pb = b + offs[2];
        long sc = cStrides[ndim - 1], sa = aStrides[ndim - 1], sb = bStrides[ndim - 1];
        for (long j = 0; j < count; j++) out[i + j] = pc[j * sc] ? pa[j * sa] : pb[j * sb];
    })
}

void nbl_bias_relu_rows(float *c, long rows, long cols, const float *bias, int relu) {
    for (long i = 0; i < rows; i++) {
        float *row = c + i * cols;
        if (bias)
            for (long j = 0; j < cols; j++) row[j] += bias[j];
        if (relu)
            for (long j = 0; j < cols; j++) row[j] = row[j] > 0 ? row[j] : 0.0f;
    }
}

static void mask_row(const float *restrict g, const float *restrict y, float *restrict out, long K) {
    for (long k = 0; k < K; k++) {
        float v = g[k];  // read unconditionally, so the select vectorises without a branch
        out[k] = y[k] > 0 ? v : 0.0f;
    }
}

static void add_row(float *restrict sums, const float *restrict v, long K) {
    for (long k = 0; k < K; k++) sums[k] += v[k];
}

// Callers that give y give out too: the bias gradient is summed from the masked rows.
void nbl_mask_and_sum_rows(const float *g, const float *y, long rows, long K, float *out, float *sums) {
    if (sums) memset(sums, 0, (size_t)K * sizeof(float));
    for (long r = 0; r < rows; r++, g += K) {
        float *o = out ? out + r * K : NULL;
        if (y) mask_row(g, y + r * K, o, K);
        else if (o) memcpy(o, g, (size_t)K * sizeof(float));
        if (sums) add_row(sums, o ? o : g, K);
    }
}
