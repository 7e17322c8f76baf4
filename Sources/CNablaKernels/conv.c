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
                float *o = out + at;
                int32_t *am = argmax ? argmax + at : NULL;
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
                        float *restrict ov = o;
                        if (am) {
                            int32_t *restrict av = am;
                            for (long c = 0; c < C; c++) {
                                float v = xi[c], current = ov[c];
                                int32_t index = av[c];
                                int better = (v > current) | (v != v);
                                ov[c] = better ? v : current;
                                av[c] = better ? base + (int32_t)c : index;
                            }
                        } else {
                            for (long c = 0; c < C; c++) {
                                float v = xi[c], current = ov[c];
                                ov[c] = ((v > current) | (v != v)) ? v : current;
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
    int isa = nbl_gemm_isa();
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
                nbl_microkernel_direct(isa, NBL_GEMM_MR, run, a, lda, 1, packed + kh * block + j * run, c + j, K,
                                       kh > 0, nr, closing && bias ? bias + j : NULL, closing && relu);
            }
        }
        if (c == partial) memcpy(out + r * K, partial, (size_t)(m * K) * sizeof(float));
    }
}
#endif

// Winograd F(2×2, 3×3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks"): each
// 2×2 block of output pixels (a tile) comes from the 4×4 input patch under it as
// Aᵀ [(G w Gᵀ) ⊙ (Bᵀ d B)] A, summed over channels: 16 products per channel pair instead of 36.
// The sum over channels is, for each of the 16 positions, one GEMM over a chunk of tiles.
#if defined(__x86_64__) || defined(__i386__)
#define NBL_VECTOR_TARGET __attribute__((target("avx2,fma")))
#else
#define NBL_VECTOR_TARGET
#endif
// Eight channels at a time in a vector (GCC/Clang vector extensions), the rest one at a time: the
// same additions in the same order either way.
typedef float nbl_v8f __attribute__((vector_size(32)));
typedef int nbl_v8i __attribute__((vector_size(32)));
static inline NBL_VECTOR_TARGET nbl_v8f nbl_load8(const float *p) {
    nbl_v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline NBL_VECTOR_TARGET void nbl_store8(float *p, nbl_v8f v) { memcpy(p, &v, sizeof v); }
#define NBL_LOAD1(p) (*(p))
#define NBL_STORE1(p, v) (*(p) = (v))

// Elements [i, i + lanes) of the C·K filter pairs: u[e] = (G w Gᵀ)[e], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
#define NBL_WINOGRAD_FILTER(T, LOAD, STORE)                                                         \
    {                                                                                               \
        T t[4][3];                                                                                  \
        for (int b = 0; b < 3; b++) {                                                               \
            T f0 = LOAD(w + b * ck + i), f1 = LOAD(w + (3 + b) * ck + i), f2 = LOAD(w + (6 + b) * ck + i); \
            t[0][b] = f0, t[1][b] = 0.5f * (f0 + f1 + f2), t[2][b] = 0.5f * (f0 - f1 + f2), t[3][b] = f2; \
        }                                                                                           \
        for (int a = 0; a < 4; a++) {                                                               \
            STORE(u + (a * 4 + 0) * ck + i, t[a][0]);                                               \
            STORE(u + (a * 4 + 1) * ck + i, 0.5f * (t[a][0] + t[a][1] + t[a][2]));                  \
            STORE(u + (a * 4 + 2) * ck + i, 0.5f * (t[a][0] - t[a][1] + t[a][2]));                  \
            STORE(u + (a * 4 + 3) * ck + i, t[a][2]);                                               \
        }                                                                                           \
    }

NBL_VECTOR_TARGET void nbl_winograd_filter(const float *w, long C, long K, float *u) {
    long ck = C * K, i = 0;
    for (; i + 8 <= ck; i += 8) NBL_WINOGRAD_FILTER(nbl_v8f, nbl_load8, nbl_store8)
    for (; i < ck; i++) NBL_WINOGRAD_FILTER(float, NBL_LOAD1, NBL_STORE1)
}

long nbl_winograd_tiles_per_image(const nbl_conv_geometry *g) { return (g->OH + 1) / 2 * ((g->OW + 1) / 2); }

// The tile of global index q: image n, tile row th, tile column tw.
#define NBL_TILE_OF(q)                                                                         \
    long tw_count = (g->OW + 1) / 2, per_image = nbl_winograd_tiles_per_image(g);             \
    long n = (q) / per_image, th = (q) % per_image / tw_count, tw = (q) % tw_count

// The four output pixels of tile (n, th, tw), rows of K in `base` (N, OH, OW, K); those past the
// bottom or right edge (odd OH or OW) are `outside`.
static void tile_pixels(const nbl_conv_geometry *g, long n, long th, long tw, long K, float *base, float *outside,
                        float *pixels[4]) {
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            long oh = 2 * th + a, ow = 2 * tw + b;
            pixels[a * 2 + b] = oh < g->OH && ow < g->OW ? base + ((n * g->OH + oh) * g->OW + ow) * K : outside;
        }
}

// Channels [c, c + lanes) of one tile: (Bᵀ d B)[e] into o[e * stride + c].
#define NBL_WINOGRAD_INPUT(T, LOAD, STORE)                                                          \
    {                                                                                               \
        T s[4][4];                                                                                  \
        for (int j = 0; j < 4; j++) {                                                               \
            T d0 = LOAD(p[j] + c), d1 = LOAD(p[4 + j] + c), d2 = LOAD(p[8 + j] + c), d3 = LOAD(p[12 + j] + c); \
            s[0][j] = d0 - d2, s[1][j] = d1 + d2, s[2][j] = d2 - d1, s[3][j] = d1 - d3;             \
        }                                                                                           \
        for (int i = 0; i < 4; i++) {                                                               \
            STORE(o + (i * 4 + 0) * stride + c, s[i][0] - s[i][2]);                                 \
            STORE(o + (i * 4 + 1) * stride + c, s[i][1] + s[i][2]);                                 \
            STORE(o + (i * 4 + 2) * stride + c, s[i][2] - s[i][1]);                                 \
            STORE(o + (i * 4 + 3) * stride + c, s[i][1] - s[i][3]);                                 \
        }                                                                                           \
    }

// v[e·stride + t·C + c] = (Bᵀ d B)[e] for each tile t of the chunk, Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
static NBL_VECTOR_TARGET void winograd_input(const nbl_conv_geometry *g, const float *x, long t0, long tiles,
                                             const float *zeros, float *v, long stride) {
    long C = g->C;
    for (long t = 0; t < tiles; t++) {
        NBL_TILE_OF(t0 + t);
        const float *p[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                long ih = 2 * th - g->padTop + i, iw = 2 * tw - g->padLeft + j;
                int inside = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W;
                p[i * 4 + j] = inside ? x + ((n * g->H + ih) * g->W + iw) * C : zeros;
            }
        float *o = v + t * C;
        long c = 0;
        for (; c + 8 <= C; c += 8) NBL_WINOGRAD_INPUT(nbl_v8f, nbl_load8, nbl_store8)
        for (; c < C; c++) NBL_WINOGRAD_INPUT(float, NBL_LOAD1, NBL_STORE1)
    }
}

// Outputs [k, k + lanes) of one tile: Aᵀ m A, then the bias and ReLU (x > 0 ? x : 0, a NaN gives 0).
#define NBL_WINOGRAD_OUTPUT(T, LOAD, STORE, RELU)                                                   \
    {                                                                                               \
        T r[2][4], o[4];                                                                            \
        for (int j = 0; j < 4; j++) {                                                               \
            T m0 = LOAD(mt + j * stride + k), m1 = LOAD(mt + (4 + j) * stride + k);                 \
            T m2 = LOAD(mt + (8 + j) * stride + k), m3 = LOAD(mt + (12 + j) * stride + k);          \
            r[0][j] = m0 + m1 + m2, r[1][j] = m1 - m2 - m3;                                         \
        }                                                                                           \
        for (int a = 0; a < 2; a++) {                                                               \
            o[a * 2] = r[a][0] + r[a][1] + r[a][2];                                                 \
            o[a * 2 + 1] = r[a][1] - r[a][2] - r[a][3];                                             \
        }                                                                                           \
        for (int e = 0; e < 4; e++) {                                                               \
            T value = o[e];                                                                         \
            if (bias) value = value + LOAD(bias + k);                                               \
            if (relu) value = RELU(value);                                                          \
            STORE(y[e] + k, value);                                                                 \
        }                                                                                           \
    }
#define NBL_RELU8(v) ((nbl_v8f)((nbl_v8i)(v) & ((v) > 0.0f)))
#define NBL_RELU1(v) ((v) > 0 ? (v) : 0.0f)

// out = Aᵀ m A for each tile, Aᵀ = [1 1 1 0; 0 1 −1 −1], then + bias and ReLU as nbl_bias_relu_rows
// (the same operations in the same order, so fused and separate give the same bits). Output
// pixels past the bottom or right edge (odd OH or OW) go to `sink`.
static NBL_VECTOR_TARGET void winograd_output(const nbl_conv_geometry *g, const float *m, long stride, long K,
                                              long t0, long tiles, const float *bias, int relu, float *out,
                                              float *sink) {
    for (long t = 0; t < tiles; t++) {
        NBL_TILE_OF(t0 + t);
        float *y[4];
        tile_pixels(g, n, th, tw, K, out, sink, y);
        const float *mt = m + t * K;
        long k = 0;
        for (; k + 8 <= K; k += 8) NBL_WINOGRAD_OUTPUT(nbl_v8f, nbl_load8, nbl_store8, NBL_RELU8)
        for (; k < K; k++) NBL_WINOGRAD_OUTPUT(float, NBL_LOAD1, NBL_STORE1, NBL_RELU1)
    }
}

// The filter gradient. With M = Σ_c U ⊙ V and Y = Aᵀ M A per tile, dM = A dY Aᵀ, dU = Σ_tiles V ⊗ dM
// (for each of the 16 positions, a GEMM over tiles) and dw = Gᵀ dU G.

// Outputs [k, k + lanes) of one tile: (A dY Aᵀ)[e] into o[e * stride + k], A = [1 0; 1 1; 1 −1; 0 −1].
#define NBL_WINOGRAD_GRADIENT(T, LOAD, STORE)                                                       \
    {                                                                                               \
        T g00 = LOAD(q[0] + k), g01 = LOAD(q[1] + k), g10 = LOAD(q[2] + k), g11 = LOAD(q[3] + k);   \
        T r[4][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11}, {-g10, -g11}};     \
        for (int i = 0; i < 4; i++) {                                                               \
            STORE(o + (i * 4 + 0) * stride + k, r[i][0]);                                           \
            STORE(o + (i * 4 + 1) * stride + k, r[i][0] + r[i][1]);                                 \
            STORE(o + (i * 4 + 2) * stride + k, r[i][0] - r[i][1]);                                 \
            STORE(o + (i * 4 + 3) * stride + k, -r[i][1]);                                          \
        }                                                                                           \
    }

static NBL_VECTOR_TARGET void winograd_output_gradient(const nbl_conv_geometry *g, const float *dy, long K, long t0,
                                                       long tiles, const float *zeros, float *m, long stride) {
    for (long t = 0; t < tiles; t++) {
        NBL_TILE_OF(t0 + t);
        float *q[4];  // only read
        tile_pixels(g, n, th, tw, K, (float *)dy, (float *)zeros, q);
        float *o = m + t * K;
        long k = 0;
        for (; k + 8 <= K; k += 8) NBL_WINOGRAD_GRADIENT(nbl_v8f, nbl_load8, nbl_store8)
        for (; k < K; k++) NBL_WINOGRAD_GRADIENT(float, NBL_LOAD1, NBL_STORE1)
    }
}

// Elements [i, i + lanes) of the C·K pairs: dw = Gᵀ dU G.
#define NBL_WINOGRAD_FILTER_GRADIENT(T, LOAD, STORE)                                                \
    {                                                                                               \
        T t[3][4];                                                                                  \
        for (int v = 0; v < 4; v++) {                                                               \
            T d0 = LOAD(du + v * ck + i), d1 = LOAD(du + (4 + v) * ck + i);                         \
            T d2 = LOAD(du + (8 + v) * ck + i), d3 = LOAD(du + (12 + v) * ck + i);                  \
            t[0][v] = d0 + 0.5f * (d1 + d2), t[1][v] = 0.5f * (d1 - d2), t[2][v] = 0.5f * (d1 + d2) + d3; \
        }                                                                                           \
        for (int a = 0; a < 3; a++) {                                                               \
            STORE(dw + (a * 3 + 0) * ck + i, t[a][0] + 0.5f * (t[a][1] + t[a][2]));                 \
            STORE(dw + (a * 3 + 1) * ck + i, 0.5f * (t[a][1] - t[a][2]));                           \
            STORE(dw + (a * 3 + 2) * ck + i, 0.5f * (t[a][1] + t[a][2]) + t[a][3]);                 \
        }                                                                                           \
    }

NBL_VECTOR_TARGET void nbl_winograd_filter_gradient(const float *du, long C, long K, float *dw) {
    long ck = C * K, i = 0;
    for (; i + 8 <= ck; i += 8) NBL_WINOGRAD_FILTER_GRADIENT(nbl_v8f, nbl_load8, nbl_store8)
    for (; i < ck; i++) NBL_WINOGRAD_FILTER_GRADIENT(float, NBL_LOAD1, NBL_STORE1)
}

// The 16 matrices of a chunk lie one cache line more than their size apart: at a multiple of 4 KiB
// (64 tiles of 64 channels is 16 KiB) the same element of all 16 would fall in one L1 set.
static long winograd_stride(long tiles, long channels) { return tiles * channels + 16; }

long nbl_winograd_scratch_size(long tiles, long C, long K) {
    return 16 * (winograd_stride(tiles, C) + winograd_stride(tiles, K)) + C + K;
}

void nbl_conv2d_winograd(const nbl_conv_geometry *g, const float *x, const float *packed, long K, long t0,
                         long tiles, const float *bias, int relu, float *out, float *scratch) {
    long C = g->C, size = nbl_sgemm_packed_size(K, C), vs = winograd_stride(tiles, C), ms = winograd_stride(tiles, K);
    float *v = scratch, *m = v + 16 * vs, *zeros = m + 16 * ms, *sink = zeros + C;
    memset(zeros, 0, (size_t)C * sizeof(float));
    winograd_input(g, x, t0, tiles, zeros, v, vs);
    for (int e = 0; e < 16; e++)
        nbl_sgemm_packed(tiles, K, C, v + e * vs, C, 1, packed + e * size, m + e * ms, K, 0);
    winograd_output(g, m, ms, K, t0, tiles, bias, relu, out, sink);
}

void nbl_conv2d_winograd_filter_gradient(const nbl_conv_geometry *g, const float *x, const float *dy, long K,
                                         long t0, long tiles, int accumulate, float *du, float *scratch) {
    long C = g->C, vs = winograd_stride(tiles, C), ms = winograd_stride(tiles, K);
    float *v = scratch, *m = v + 16 * vs, *zeros = m + 16 * ms;
    memset(zeros, 0, (size_t)(C > K ? C : K) * sizeof(float));
    winograd_input(g, x, t0, tiles, zeros, v, vs);
    winograd_output_gradient(g, dy, K, t0, tiles, zeros, m, ms);
    for (int e = 0; e < 16; e++)
        nbl_sgemm(C, K, tiles, v + e * vs, 1, C, m + e * ms, K, 1, du + e * C * K, K, accumulate);
}
