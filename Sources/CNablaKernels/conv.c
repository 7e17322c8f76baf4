// Convolution and pooling helpers on NHWC tensors.
//
// Variants: im2col / col2im feed the packed GEMM for dense and grouped convolutions (the Swift side
// chunks rows so the column buffer stays in cache); depthwise convolution and pooling are direct
// loops vectorised over the channel dimension, which is contiguous in NHWC.
// Layouts: x (N,H,W,C), filter (KH,KW,C/groups,K) for GEMM convs and (KH,KW,C,M) for depthwise,
// out (N,OH,OW,K). Padding to the bottom/right is whatever OH and OW imply.
#include "internal.h"

#include <math.h>
#include <string.h>

// The output pixel of row `row` of the column matrix, as (image, oh, ow).
#define NBL_PIXEL_OF(row) \
    long n = (row) / (g->OH * g->OW), oh = (row) % (g->OH * g->OW) / g->OW, ow = (row) % g->OW
// The next output pixel, without a division per row.
#define NBL_NEXT_PIXEL()                   \
    if (++ow == g->OW) {                   \
        ow = 0;                            \
        if (++oh == g->OH) (oh = 0, n++);  \
    }

// Whether the KW window columns at one kh are one contiguous run of KW·cg floats in x: consecutive
// pixels (dilation 1) of every channel, all inside the row.
static int nbl_window_row_is_run(const nbl_conv_geometry *g, long cg, long iw0) {
    return g->dilationW == 1 && cg == g->C && iw0 >= 0 && iw0 + g->KW <= g->W;
}

// The KW·cg floats under one window row of image n: x's row ih from column iw0, channels
// [c0, c0+cg) of each window column, zeros where the window leaves the image.
static void nbl_window_row(const nbl_conv_geometry *g, const float *x, long c0, long cg, long n, long ih, long iw0,
                           float *dst) {
    int inside = ih >= 0 && ih < g->H;
    const float *line = inside ? x + (n * g->H + ih) * g->W * g->C + c0 : NULL;
    if (inside && nbl_window_row_is_run(g, cg, iw0)) {
        memcpy(dst, line + iw0 * g->C, (size_t)(g->KW * cg) * sizeof(float));
        return;
    }
    for (long kw = 0; kw < g->KW; kw++, dst += cg) {
        long iw = iw0 + kw * g->dilationW;
        if (!inside || iw < 0 || iw >= g->W) memset(dst, 0, (size_t)cg * sizeof(float));
        else memcpy(dst, line + iw * g->C, (size_t)cg * sizeof(float));
    }
}

void nbl_im2col_nhwc(const nbl_conv_geometry *g, const float *x, long c0, long cg, long row0, long rows,
                     float *col) {
    long width = g->KH * g->KW * cg;
    NBL_PIXEL_OF(row0);
    for (long r = 0; r < rows; r++) {
        long iw0 = ow * g->strideW - g->padLeft;
        for (long kh = 0; kh < g->KH; kh++)
            nbl_window_row(g, x, c0, cg, n, oh * g->strideH - g->padTop + kh * g->dilationH, iw0,
                           col + r * width + kh * g->KW * cg);
        NBL_NEXT_PIXEL();
    }
}

void nbl_col2im_nhwc(const nbl_conv_geometry *g, const float *col, long c0, long cg, long row0, long rows,
                     float *dx) {
    long width = g->KH * g->KW * cg;
    NBL_PIXEL_OF(row0);
    for (long r = 0; r < rows; r++) {
        const float *src = col + r * width;
        long iw0 = ow * g->strideW - g->padLeft;
        for (long kh = 0; kh < g->KH; kh++) {
            long ih = oh * g->strideH - g->padTop + kh * g->dilationH;
            int inside = ih >= 0 && ih < g->H;
            float *line = inside ? dx + (n * g->H + ih) * g->W * g->C + c0 : NULL;
            if (inside && nbl_window_row_is_run(g, cg, iw0)) {
                float *dst = line + iw0 * g->C;
                for (long c = 0; c < g->KW * cg; c++) dst[c] += src[c];
                src += g->KW * cg;
                continue;
            }
            for (long kw = 0; kw < g->KW; kw++) {
                long iw = iw0 + kw * g->dilationW;
                if (inside && iw >= 0 && iw < g->W) {
                    float *dst = line + iw * g->C;
                    for (long c = 0; c < cg; c++) dst[c] += src[c];
                }
                src += cg;
            }
        }
        NBL_NEXT_PIXEL();
    }
}

void nbl_depthwise_conv_nhwc(const nbl_conv_geometry *g, const float *x, const float *filter, long M, long row0,
                             long rows, float *out) {
    long C = g->C, CM = C * M;
    for (long r = 0; r < rows; r++) {
        long row = row0 + r;
        long n = row / (g->OH * g->OW), rem = row % (g->OH * g->OW);
        long oh = rem / g->OW, ow = rem % g->OW;
        float *o = out + row * CM;
        memset(o, 0, (size_t)CM * sizeof(float));
        for (long kh = 0; kh < g->KH; kh++) {
            long ih = oh * g->strideH - g->padTop + kh * g->dilationH;
            if (ih < 0 || ih >= g->H) continue;
            for (long kw = 0; kw < g->KW; kw++) {
                long iw = ow * g->strideW - g->padLeft + kw * g->dilationW;
                if (iw < 0 || iw >= g->W) continue;
                const float *xi = x + ((n * g->H + ih) * g->W + iw) * C;
                const float *f = filter + (kh * g->KW + kw) * CM;
                if (M == 1) {
                    for (long c = 0; c < C; c++) o[c] += xi[c] * f[c];
                } else {
                    for (long c = 0; c < C; c++)
                        for (long m = 0; m < M; m++) o[c * M + m] += xi[c] * f[c * M + m];
                }
            }
        }
    }
}

void nbl_depthwise_conv_backward_nhwc(const nbl_conv_geometry *g, const float *x, const float *filter, long M,
                                      const float *dout, long n0, long n1, float *dx, float *dfilter) {
    long C = g->C, CM = C * M;
    for (long n = n0; n < n1; n++) {
        for (long oh = 0; oh < g->OH; oh++) {
            for (long ow = 0; ow < g->OW; ow++) {
                const float *d = dout + ((n * g->OH + oh) * g->OW + ow) * CM;
                for (long kh = 0; kh < g->KH; kh++) {
                    long ih = oh * g->strideH - g->padTop + kh * g->dilationH;
                    if (ih < 0 || ih >= g->H) continue;
                    for (long kw = 0; kw < g->KW; kw++) {
                        long iw = ow * g->strideW - g->padLeft + kw * g->dilationW;
                        if (iw < 0 || iw >= g->W) continue;
                        long at = ((n * g->H + ih) * g->W + iw) * C;
                        const float *f = filter + (kh * g->KW + kw) * CM;
                        if (dx) {
                            float *dxi = dx + at;
                            for (long c = 0; c < C; c++) {
                                float s = 0;
                                for (long m = 0; m < M; m++) s += d[c * M + m] * f[c * M + m];
                                dxi[c] += s;
                            }
                        }
                        if (dfilter) {
                            const float *xi = x + at;
                            float *df = dfilter + (kh * g->KW + kw) * CM;
                            for (long c = 0; c < C; c++)
                                for (long m = 0; m < M; m++) df[c * M + m] += xi[c] * d[c * M + m];
                        }
                    }
                }
            }
        }
    }
}

void nbl_maxpool_nhwc(const nbl_conv_geometry *g, const float *x, long n0, long n1, float *out, int32_t *argmax) {
    long C = g->C;
    for (long n = n0; n < n1; n++) {
        const float *xn = x + n * g->H * g->W * C;
        for (long oh = 0; oh < g->OH; oh++) {
            for (long ow = 0; ow < g->OW; ow++) {
                long at = ((n * g->OH + oh) * g->OW + ow) * C;
                float *restrict o = out + at;
                int32_t *restrict am = argmax ? argmax + at : NULL;
                int first = 1;
                for (long kh = 0; kh < g->KH; kh++) {
                    long ih = oh * g->strideH - g->padTop + kh * g->dilationH;
                    if (ih < 0 || ih >= g->H) continue;
                    for (long kw = 0; kw < g->KW; kw++) {
                        long iw = ow * g->strideW - g->padLeft + kw * g->dilationW;
                        if (iw < 0 || iw >= g->W) continue;
                        int32_t base = (int32_t)((ih * g->W + iw) * C);
                        const float *restrict xi = xn + base;
                        if (first) {
                            memcpy(o, xi, (size_t)C * sizeof(float));
                            if (am)
                                for (long c = 0; c < C; c++) am[c] = base + (int32_t)c;
                            first = 0;
                            continue;
                        }
                        // Branch-free so it vectorises: strictly greater wins (the first maximum
                        // keeps ties), and a NaN wins so that it propagates.
                        if (am) {
                            for (long c = 0; c < C; c++) {
                                float v = xi[c], current = o[c];
                                int better = (v > current) | (v != v);
                                o[c] = better ? v : current;
                                am[c] = better ? base + (int32_t)c : am[c];
                            }
                        } else {
                            for (long c = 0; c < C; c++) {
                                float v = xi[c], current = o[c];
                                o[c] = (v > current) | (v != v) ? v : current;
                            }
                        }
                    }
                }
                if (first) {
                    for (long c = 0; c < C; c++) o[c] = 0.0f;
                    if (am)
                        for (long c = 0; c < C; c++) am[c] = -1;
                }
            }
        }
    }
}

void nbl_maxpool_backward_nhwc(const nbl_conv_geometry *g, const float *dout, const int32_t *argmax, long n0,
                               long n1, float *dx) {
    long per = g->OH * g->OW * g->C;
    for (long n = n0; n < n1; n++) {
        float *dxn = dx + n * g->H * g->W * g->C;
        for (long i = 0; i < per; i++) {
            int32_t k = argmax[n * per + i];
            if (k >= 0) dxn[k] += dout[n * per + i];
        }
    }
}

static long nbl_window_count(const nbl_conv_geometry *g, long oh, long ow) {
    long count = 0;
    for (long kh = 0; kh < g->KH; kh++) {
        long ih = oh * g->strideH - g->padTop + kh * g->dilationH;
        for (long kw = 0; kw < g->KW; kw++) {
            long iw = ow * g->strideW - g->padLeft + kw * g->dilationW;
            count += ih >= 0 && ih < g->H && iw >= 0 && iw < g->W;
        }
    }
    return count;
}

void nbl_avgpool_nhwc(const nbl_conv_geometry *g, const float *x, long n0, long n1, float *out) {
    long C = g->C;
    for (long n = n0; n < n1; n++) {
        for (long oh = 0; oh < g->OH; oh++) {
            for (long ow = 0; ow < g->OW; ow++) {
                float *o = out + ((n * g->OH + oh) * g->OW + ow) * C;
                memset(o, 0, (size_t)C * sizeof(float));
                for (long kh = 0; kh < g->KH; kh++) {
                    long ih = oh * g->strideH - g->padTop + kh * g->dilationH;
                    if (ih < 0 || ih >= g->H) continue;
                    for (long kw = 0; kw < g->KW; kw++) {
                        long iw = ow * g->strideW - g->padLeft + kw * g->dilationW;
                        if (iw < 0 || iw >= g->W) continue;
                        const float *xi = x + ((n * g->H + ih) * g->W + iw) * C;
                        for (long c = 0; c < C; c++) o[c] += xi[c];
                    }
                }
                long count = nbl_window_count(g, oh, ow);
                float scale = count > 0 ? 1.0f / (float)count : 0.0f;
                for (long c = 0; c < C; c++) o[c] *= scale;
            }
        }
    }
}

void nbl_avgpool_backward_nhwc(const nbl_conv_geometry *g, const float *dout, long n0, long n1, float *dx) {
    long C = g->C;
    for (long n = n0; n < n1; n++) {
        for (long oh = 0; oh < g->OH; oh++) {
            for (long ow = 0; ow < g->OW; ow++) {
                const float *d = dout + ((n * g->OH + oh) * g->OW + ow) * C;
                long count = nbl_window_count(g, oh, ow);
                if (count == 0) continue;
                float scale = 1.0f / (float)count;
                for (long kh = 0; kh < g->KH; kh++) {
                    long ih = oh * g->strideH - g->padTop + kh * g->dilationH;
                    if (ih < 0 || ih >= g->H) continue;
                    for (long kw = 0; kw < g->KW; kw++) {
                        long iw = ow * g->strideW - g->padLeft + kw * g->dilationW;
                        if (iw < 0 || iw >= g->W) continue;
                        float *di = dx + ((n * g->H + ih) * g->W + iw) * C;
                        for (long c = 0; c < C; c++) di[c] += d[c] * scale;
                    }
                }
            }
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
void nbl_conv2d_rows_by_kh(const nbl_conv_geometry *g, const float *x, const float *packed, long K, long row0,
                           long rows, const float *bias, int relu, float *out, float *scratch) {
    long run = g->KW * g->C, block = nbl_sgemm_packed_size(K, run);
    float *gathered = scratch, *partial = scratch + NBL_GEMM_MR * run;
    int wide = nbl_gemm_isa() == NBL_ISA_AVX512;
    for (long r = 0; r < rows; r += NBL_GEMM_MR) {
        long m = rows - r < NBL_GEMM_MR ? rows - r : NBL_GEMM_MR;
        NBL_PIXEL_OF(row0 + r);
        long iw0 = ow * g->strideW - g->padLeft, last = iw0 + (NBL_GEMM_MR - 1) * g->strideW;
        float *c = m == NBL_GEMM_MR ? out + r * K : partial;
        for (long kh = 0; kh < g->KH; kh++) {
            long ih = oh * g->strideH - g->padTop + kh * g->dilationH;
            const float *a = gathered;
            long lda = run;
            if (m == NBL_GEMM_MR && ow + NBL_GEMM_MR <= g->OW && ih >= 0 && ih < g->H && iw0 >= 0 &&
                last + g->KW <= g->W) {
                a = x + ((n * g->H + ih) * g->W + iw0) * g->C;  // six runs in place, strideW·C apart
                lda = g->strideW * g->C;
            } else {
                for (long i = 0; i < NBL_GEMM_MR; i++) {
                    long q = row0 + r + i, pixels = g->OH * g->OW, qh = q % pixels / g->OW, qw = q % g->OW;
                    if (i < m)
                        nbl_window_row(g, x, 0, g->C, q / pixels, qh * g->strideH - g->padTop + kh * g->dilationH,
                                       qw * g->strideW - g->padLeft, gathered + i * run);
                    else
                        memset(gathered + i * run, 0, (size_t)run * sizeof(float));
                }
            }
            int closing = kh == g->KH - 1;  // then bias and ReLU too, in the kernel's registers
            for (long j = 0; j < K; j += NBL_GEMM_NR) {
                int nr = (int)(K - j < NBL_GEMM_NR ? K - j : NBL_GEMM_NR);
                const float *bj = closing && bias ? bias + j : NULL;
                if (wide)
                    nbl_microkernel_avx512_direct(NBL_GEMM_MR, run, a, lda, packed + kh * block + j * run, c + j, K,
                                                  kh > 0, nr, bj, closing && relu);
                else
                    nbl_microkernel_avx2_direct(run, a, lda, packed + kh * block + j * run, c + j, K, kh > 0, nr, bj,
                                                closing && relu);
            }
        }
        if (c == partial) memcpy(out + r * K, partial, (size_t)(m * K) * sizeof(float));
    }
}
#endif
