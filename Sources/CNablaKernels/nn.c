// Softmax, fused softmax cross-entropy and batch normalisation, each with its backward.
//
// Softmax subtracts the row maximum before exp (exp(x - max) / sum); log-softmax is
// x - max - log(sum(exp(x - max))). Batch-norm statistics accumulate in double per channel.
// Layouts: rows × n (softmax, last axis), rows × C (batch norm: every axis but the channel one).
#include "internal.h"

#include <math.h>
#include <string.h>

void nbl_softmax_f32(const float *x, float *y, long rows, long n, int isLog) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float m = -INFINITY;
        for (long j = 0; j < n; j++) m = xr[j] > m ? xr[j] : m;
        double s = 0;
        for (long j = 0; j < n; j++) {
            float e = expf(xr[j] - m);
            s += e;
            if (!isLog) yr[j] = e;
        }
        if (isLog) {
            float lse = m + (float)log(s);
            for (long j = 0; j < n; j++) yr[j] = xr[j] - lse;
        } else {
            float inv = (float)(1.0 / s);
            for (long j = 0; j < n; j++) yr[j] *= inv;
        }
    }
}

void nbl_softmax_backward_f32(const float *y, const float *g, float *dx, long rows, long n, int isLog) {
    for (long r = 0; r < rows; r++) {
        const float *yr = y + r * n, *gr = g + r * n;
        float *dr = dx + r * n;
        double s = 0;
        if (isLog) {
            for (long j = 0; j < n; j++) s += gr[j];
            for (long j = 0; j < n; j++) dr[j] = gr[j] - expf(yr[j]) * (float)s;
        } else {
            for (long j = 0; j < n; j++) s += gr[j] * yr[j];
            for (long j = 0; j < n; j++) dr[j] = yr[j] * (gr[j] - (float)s);
        }
    }
}

long nbl_softmax_xent_f32(const float *logits, long rows, long n, const int64_t *sparse, const float *dense,
                          float *loss, float *probs) {
    for (long r = 0; r < rows; r++) {
        if (sparse && (sparse[r] < 0 || sparse[r] >= n)) return r;
    }
    for (long r = 0; r < rows; r++) {
        const float *xr = logits + r * n;
        float *pr = probs + r * n;
        float m = -INFINITY;
        for (long j = 0; j < n; j++) m = xr[j] > m ? xr[j] : m;
        double s = 0;
        for (long j = 0; j < n; j++) {
            pr[j] = expf(xr[j] - m);
            s += pr[j];
        }
        float lse = m + (float)log(s);
        float inv = (float)(1.0 / s);
        for (long j = 0; j < n; j++) pr[j] *= inv;
        // loss = -sum_j y_j * log_softmax_j = lse * sum(y) - sum(y * x)
        if (sparse) {
            loss[r] = lse - xr[sparse[r]];
        } else {
            const float *yr = dense + r * n;
            double l = 0;
            for (long j = 0; j < n; j++) l -= (double)yr[j] * (xr[j] - lse);
            loss[r] = (float)l;
        }
    }
    return -1;
}

void nbl_channel_moments_f32(const float *x, long rows, long C, float *mean, float *var) {
    double sum[C > 0 ? C : 1], sq[C > 0 ? C : 1];
    for (long c = 0; c < C; c++) sum[c] = sq[c] = 0;
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < C; c++) sum[c] += x[r * C + c];
    for (long c = 0; c < C; c++) sum[c] = rows > 0 ? sum[c] / (double)rows : 0;
    // Second pass on centred values: no cancellation for large means.
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < C; c++) {
            double d = x[r * C + c] - sum[c];
            sq[c] += d * d;
        }
    for (long c = 0; c < C; c++) {
        mean[c] = (float)sum[c];
        var[c] = rows > 0 ? (float)(sq[c] / (double)rows) : 0.0f;
    }
}

void nbl_batchnorm_forward_f32(const float *x, long rows, long C, const float *mean, const float *invstd,
                               const float *scale, const float *offset, float *y) {
    float a[C > 0 ? C : 1], b[C > 0 ? C : 1];
    for (long c = 0; c < C; c++) {
        a[c] = invstd[c] * (scale ? scale[c] : 1.0f);
        b[c] = (offset ? offset[c] : 0.0f) - mean[c] * a[c];
    }
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < C; c++) y[r * C + c] = x[r * C + c] * a[c] + b[c];
}

void nbl_batchnorm_backward_f32(const float *x, const float *dy, long rows, long C, const float *mean,
                                const float *invstd, const float *scale, float *dx, float *dscale, float *doffset) {
    double sdy[C > 0 ? C : 1], sdyx[C > 0 ? C : 1];
    for (long c = 0; c < C; c++) sdy[c] = sdyx[c] = 0;
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < C; c++) {
            float xhat = (x[r * C + c] - mean[c]) * invstd[c];
            sdy[c] += dy[r * C + c];
            sdyx[c] += dy[r * C + c] * xhat;
        }
    if (dscale)
        for (long c = 0; c < C; c++) dscale[c] = (float)sdyx[c];
    if (doffset)
        for (long c = 0; c < C; c++) doffset[c] = (float)sdy[c];
    if (!dx) return;
    // dx = scale·invstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < C; c++) {
            float xhat = (x[r * C + c] - mean[c]) * invstd[c];
            float k = (scale ? scale[c] : 1.0f) * invstd[c];
            dx[r * C + c] = k * (dy[r * C + c] - (float)(sdy[c] / rows) - xhat * (float)(sdyx[c] / rows));
        }
}
