// CNablaKernels: the hot CPU kernels of Nabla, in C.
//
// Every kernel works on float32 unless its name says otherwise, and states its layout in a
// comment. Strides and sizes are in elements, never bytes, unless the name says bytes.
// Nothing here allocates on the heap in steady state: GEMM packing buffers are per thread and
// reused. The Swift side splits work and calls these on ranges; the only threads started here
// are the pool's (pool.c), which run what the Swift side hands them.
#ifndef CNABLA_KERNELS_H
#define CNABLA_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - CPU features and GEMM dispatch (cpu.c, gemm.c)

/// Instruction-set paths of the GEMM micro-kernel.
enum {
    NBL_ISA_PORTABLE = 0,
    NBL_ISA_AVX2_FMA = 1,
    NBL_ISA_NEON = 2,
    NBL_ISA_AVX512 = 3,
};

/// Returns 1 when the CPU and OS support AVX2 and FMA (x86-64 only).
int nbl_cpu_has_avx2_fma(void);
/// Returns 1 when the CPU and OS support AVX-512F as well as AVX2 and FMA (x86-64 only).
int nbl_cpu_has_avx512(void);
/// Returns the best ISA this machine supports.
int nbl_cpu_best_isa(void);
/// Returns the ISA the GEMM uses now.
int nbl_gemm_isa(void);
/// Returns 1 when `isa` is an x86 vector ISA (AVX2+FMA, or AVX-512, which has AVX2 too).
int nbl_isa_has_avx2(int isa);
/// Selects the GEMM ISA for the calling thread only (-1: back to the default); returns 0 when this
/// machine cannot run it (selection unchanged).
int nbl_gemm_set_isa(int isa);

/// Micro-tile of the packed GEMM: MR rows by NR columns of C per micro-kernel call.
#define NBL_GEMM_MR 6
#define NBL_GEMM_NR 16

/// Single-threaded packed SGEMM on general strides: C = A·B (+ C when accumulate != 0).
///
/// A is M×K with A(i,k) = A[i*rsA + k*csA]; B is K×N with B(k,j) = B[k*rsB + j*csB];
/// C is M×N row-major with leading dimension ldc. Transposed operands are just swapped strides.
void nbl_sgemm(long M, long N, long K, const float *A, long rsA, long csA, const float *B, long rsB,
               long csB, float *C, long ldc, int accumulate);

// MARK: - Worker threads (pool.c)

/// Starts worker threads until `count` exist, which spin for 200 µs after their last task before
/// they sleep; returns how many exist.
int nbl_pool_start(int count);
/// Runs `function(context, task)` for every task in [0, tasks) on the workers and the calling
/// thread, and returns 1 when all have finished. Returns 0 without running anything when the pool
/// is busy with another caller's job, has no workers, or is called from inside one of its tasks.
int nbl_pool_run(long tasks, void (*function)(void *, long), void *context);

/// The floats B takes packed for nbl_sgemm_packed (K×N).
long nbl_sgemm_packed_size(long N, long K);
/// Packs B (K×N, B(k,j) = B[k*rsB + j*csB]) for nbl_sgemm_packed, into nbl_sgemm_packed_size floats.
void nbl_sgemm_pack(long N, long K, const float *B, long rsB, long csB, float *out);
/// nbl_sgemm on a B packed beforehand, for many products with the same B (a convolution's chunks):
/// every element is summed exactly as nbl_sgemm's blocked path sums it, whatever M is.
void nbl_sgemm_packed(long M, long N, long K, const float *A, long rsA, long csA, const float *packedB,
                      float *C, long ldc, int accumulate);

// MARK: - Optional system BLAS (blas.c)

/// Loads cblas_sgemm from the first library in a colon-separated list; returns 1 on success.
int nbl_blas_load(const char *libraries);
/// Returns 1 when a system BLAS is loaded.
int nbl_blas_available(void);
/// Returns the file name of the loaded BLAS, or an empty string.
const char *nbl_blas_name(void);
/// Sets the loaded BLAS's own thread count, when it exposes one.
void nbl_blas_set_threads(int threads);
/// Row-major SGEMM through the loaded BLAS: C = op(A)·op(B) (+ C when accumulate != 0).
void nbl_blas_sgemm(int transA, int transB, long M, long N, long K, const float *A, long lda,
                    const float *B, long ldb, float *C, long ldc, int accumulate);

// MARK: - Strided copies (copy.c)

/// Copies elements [start, end) of a strided view (in row-major order of `shape`) from src to dst.
/// `elementSize` is 1, 2, 4 or 8 bytes; strides are in elements and may be zero or negative.
void nbl_copy_strided(int ndim, const long *shape, const void *src, const long *srcStrides, void *dst,
                      const long *dstStrides, int elementSize, long start, long end);
/// Converts n contiguous elements between dtypes (codes as Nabla's DType raw values).
void nbl_convert(int srcType, const void *src, int dstType, void *dst, long n);

// MARK: - Elementwise (elementwise.c)

enum {
    NBL_UN_NEG, NBL_UN_EXP, NBL_UN_LOG, NBL_UN_SQRT, NBL_UN_ABS, NBL_UN_RELU, NBL_UN_LEAKY_RELU,
    NBL_UN_ELU, NBL_UN_SIGMOID, NBL_UN_TANH, NBL_UN_GELU, NBL_UN_SWISH, NBL_UN_SQUARE,
    NBL_UN_POW_SCALAR, NBL_UN_CLAMP, NBL_UN_SIGN, NBL_UN_RSQRT, NBL_UN_ERF,
};

/// Rows of K floats of a gradient g, masked where y (when given, out must be too; a ReLU's output)
/// is not positive, into out (when given), and summed per column, row after row, into sums (when
/// given; overwritten).
void nbl_mask_and_sum_rows(const float *g, const float *y, long rows, long K, float *out, float *sums);

/// y[i] = f(x[i]) for i in [0, n); alpha and beta are the op's constants (slope, exponent, bounds).
void nbl_unary_f32(int op, const float *x, float *y, long n, float alpha, float beta);
/// dx[i] = g[i] · f'(x[i]), given the forward input x and output y (either may be unused).
void nbl_unary_backward_f32(int op, const float *x, const float *y, const float *g, float *dx, long n,
                            float alpha, float beta);

enum {
    NBL_BIN_ADD, NBL_BIN_SUB, NBL_BIN_MUL, NBL_BIN_DIV, NBL_BIN_MAX, NBL_BIN_MIN, NBL_BIN_POW,
    NBL_CMP_EQ, NBL_CMP_NE, NBL_CMP_LT, NBL_CMP_LE, NBL_CMP_GT, NBL_CMP_GE,
};

/// out[i] = a[ia] op b[ib] over a broadcast n-d index space; out is contiguous in `shape`.
/// Covers output elements [start, end). Comparisons (NBL_CMP_*) write uint8 0/1 to out.
void nbl_binary_f32(int op, int ndim, const long *shape, const float *a, const long *aStrides,
                    const float *b, const long *bStrides, void *out, long start, long end);
/// out[i] = cond[ic] ? a[ia] : b[ib] over a broadcast index space; cond is uint8.
void nbl_where_f32(int ndim, const long *shape, const uint8_t *cond, const long *cStrides, const float *a,
                   const long *aStrides, const float *b, const long *bStrides, float *out, long start, long end);

// MARK: - Reductions (reduce.c)

enum { NBL_RED_SUM, NBL_RED_MAX, NBL_RED_MIN };

/// Folds x (strided, n-d `shape`) into out, whose strides are zero along the reduced axes.
/// out must hold the identity of the op (0, -inf, +inf) beforehand. Sums accumulate in double.
void nbl_reduce_f32(int op, int ndim, const long *shape, const float *x, const long *xStrides, float *out,
                    const long *outStrides);
/// For x viewed as contiguous (outer, n, inner): index of the max (or min when isMin) along n.
void nbl_argmax_f32(const float *x, long outer, long n, long inner, int isMin, int64_t *out);

// MARK: - Convolution and pooling, NHWC (conv.c)

/// Geometry of a 2-D convolution or pooling window on NHWC tensors.
typedef struct {
    long N, H, W, C;         // input (N,H,W,C)
    long KH, KW;             // window
    long strideH, strideW;
    long padTop, padLeft;    // bottom/right padding is implied by OH, OW
    long dilationH, dilationW;
    long OH, OW;             // output spatial size
} nbl_conv_geometry;

/// Writes rows [row0, row0+rows) of the im2col matrix: row r is output pixel (n, oh, ow) in
/// row-major order; its columns are (kh, kw, c) for channels [c0, c0+cg). col is (rows, KH*KW*cg).
void nbl_im2col_nhwc(const nbl_conv_geometry *g, const float *x, long c0, long cg, long row0, long rows,
                     float *col);
/// Output rows [row0, row0+rows) of a convolution with one group and dilation 1 along W, into out
/// (rows of K, starting with row row0), without an im2col matrix (AVX2+FMA only): kernel row by kernel row, six output
/// pixels' window rows (KW·C floats each) are read in place from x where they lie inside it, or
/// gathered with zeros into `scratch` (6·(KW·C + K) floats), against the filter rows of that kh,
/// `packed + kh * nbl_sgemm_packed_size(K, KW*C)` (nbl_sgemm_pack layout). Each element is the sum
/// over kh, in order, of one FMA chain over KW·C from zero: the same whichever rows a call gets.
/// Then, when given, bias[K] is added and ReLU applied by the micro-kernel as it writes each tile.
void nbl_conv2d_rows_by_kh(const nbl_conv_geometry *g, const float *x, const float *packed, long K, long row0,
                           long rows, const float *bias, int relu, float *out, float *scratch);
/// The 16 transformed 4×4 filters of Winograd F(2×2, 3×3): u[e] (C×K, row-major) = (G w Gᵀ)[e] for
/// the 3×3 filter w (3,3,C,K). Each is then packed for the GEMM (nbl_sgemm_pack).
void nbl_winograd_filter(const float *w, long C, long K, float *u);
/// Winograd tiles (2×2 output pixels, the last row or column cut by an odd OH or OW) per image.
long nbl_winograd_tiles_per_image(const nbl_conv_geometry *g);
/// Floats of scratch that nbl_conv2d_winograd needs for `tiles` tiles.
long nbl_winograd_scratch_size(long tiles, long C, long K);
/// Tiles [t0, t0+tiles) of a 3×3, stride-1, dilation-1, one-group convolution by Winograd
/// F(2×2, 3×3): tile q is the 2×2 output block (image q / tilesPerImage, row 2·th, column 2·tw), in
/// row-major order over ((OH+1)/2, (OW+1)/2) per image. `packed`: the 16 transformed filters, each
/// packed (nbl_sgemm_packed_size(K, C) floats apart). Then bias and ReLU when given, as
/// nbl_bias_relu_rows. Each tile's result does not depend on the others in the call. scratch:
/// nbl_winograd_scratch_size(tiles, C, K) floats.
void nbl_conv2d_winograd(const nbl_conv_geometry *g, const float *x, const float *packed, long K, long t0,
                         long tiles, const float *bias, int relu, float *out, float *scratch);
/// The filter gradient of tiles [t0, t0+tiles) of a Winograd convolution (as nbl_conv2d_winograd)
/// in the transformed space: du[e] (C×K) = Σ over the tiles of (Bᵀ d B)[e]ᵀ (A dY Aᵀ)[e], added to
/// du when accumulate. scratch: nbl_winograd_scratch_size(tiles, C, K) floats.
void nbl_conv2d_winograd_filter_gradient(const nbl_conv_geometry *g, const float *x, const float *dy, long K,
                                         long t0, long tiles, int accumulate, float *du, float *scratch);
/// The filter gradient dw (3,3,C,K) = Gᵀ du G from its transformed form du (16 C×K matrices).
void nbl_winograd_filter_gradient(const float *du, long C, long K, float *dw);
/// Adds the im2col rows [row0, row0+rows) back into dx (N,H,W,C), channels [c0, c0+cg).
void nbl_col2im_nhwc(const nbl_conv_geometry *g, const float *col, long c0, long cg, long row0, long rows,
                     float *dx);
/// Depthwise conv for output pixel rows [row0, row0+rows): x (N,H,W,C), filter (KH,KW,C,M),
/// out (N,OH,OW,C*M); output channel c*M+m reads input channel c.
void nbl_depthwise_conv_nhwc(const nbl_conv_geometry *g, const float *x, const float *filter, long M,
                             long row0, long rows, float *out);
/// Backward of the depthwise conv over images [n0, n1): adds into dx and dfilter (either may be NULL).
void nbl_depthwise_conv_backward_nhwc(const nbl_conv_geometry *g, const float *x, const float *filter, long M,
                                      const float *dout, long n0, long n1, float *dx, float *dfilter);
/// Max pooling over images [n0, n1): out (N,OH,OW,C); argmax, unless NULL (inference), gets the flat
/// input index (per image) of each maximum, or -1 where the window holds only padding.
void nbl_maxpool_nhwc(const nbl_conv_geometry *g, const float *x, long n0, long n1, float *out, int32_t *argmax);
/// Adds dout into dx at the recorded argmax positions, images [n0, n1).
void nbl_maxpool_backward_nhwc(const nbl_conv_geometry *g, const float *dout, const int32_t *argmax, long n0,
                               long n1, float *dx);
/// Average pooling over images [n0, n1), dividing by the count of in-bounds elements (padding excluded).
void nbl_avgpool_nhwc(const nbl_conv_geometry *g, const float *x, long n0, long n1, float *out);
/// Backward of nbl_avgpool_nhwc over images [n0, n1): adds into dx.
void nbl_avgpool_backward_nhwc(const nbl_conv_geometry *g, const float *dout, long n0, long n1, float *dx);

// MARK: - Softmax, cross-entropy, batch normalisation (nn.c)

/// Softmax (or log-softmax when isLog) of each row of x (rows, n), numerically stable.
void nbl_softmax_f32(const float *x, float *y, long rows, long n, int isLog);
/// Backward of nbl_softmax_f32 given its output y: dx = y*(g - sum(g*y)), or g - exp(y)*sum(g) for log.
void nbl_softmax_backward_f32(const float *y, const float *g, float *dx, long rows, long n, int isLog);
/// Softmax cross-entropy per row. Labels are either class indices (sparse, int64, may be NULL) or
/// probabilities (dense, rows×n). Writes loss[r] and the softmax probabilities. Returns the first
/// row whose sparse label is out of [0, n), or -1.
long nbl_softmax_xent_f32(const float *logits, long rows, long n, const int64_t *sparse, const float *dense,
                          float *loss, float *probs);
/// Per-channel mean and biased variance of x (rows, C), two-pass in double for accuracy.
void nbl_channel_moments_f32(const float *x, long rows, long C, float *mean, float *var);
/// y = (x - mean) * invstd * scale + offset per channel; x, y are (rows, C). scale/offset may be NULL.
void nbl_batchnorm_forward_f32(const float *x, long rows, long C, const float *mean, const float *invstd,
                               const float *scale, const float *offset, float *y);
/// Batch-norm backward with batch statistics: writes dx, dscale and doffset (any may be NULL).
void nbl_batchnorm_backward_f32(const float *x, const float *dy, long rows, long C, const float *mean,
                                const float *invstd, const float *scale, float *dx, float *dscale,
                                float *doffset);

// MARK: - Counter-based random numbers (random.c)

enum { NBL_RNG_UNIFORM, NBL_RNG_NORMAL, NBL_RNG_TRUNCATED_NORMAL };

/// Philox-4x32-10 stream: fills out[i] for i in [start, end) with the i-th value of the stream
/// (seed, offset). Uniform in [a, b); normal with mean a, std b; truncated normal re-draws
/// outside 2 std. The value at index i depends only on (seed, offset, i), never on the split.
void nbl_random_f32(int kind, uint64_t seed, uint64_t offset, float a, float b, float *out, long start, long end);

// MARK: - Optimizer updates (optim.c)

/// SGD: without velocity p -= lr·g; with it v = momentum·v − lr·g and p += v (or, Nesterov,
/// p += momentum·v − lr·g).
// Adds bias[j] (when bias is not NULL) to each row of the contiguous rows × cols block c, then
// clamps at zero when relu: the epilogue of a convolution's output block.
void nbl_bias_relu_rows(float *c, long rows, long cols, const float *bias, int relu);

void nbl_sgd_step(float *p, const float *g, float *velocity, long n, float lr, float momentum, int nesterov,
                  float weightDecay);
/// RMSProp: s = rho·s + (1−rho)·g²; centred when meanGradient is given (s − ḡ²); step
/// lr·g/sqrt(s + eps), through a momentum velocity when given.
void nbl_rmsprop_step(float *p, const float *g, float *meanSquare, float *meanGradient, float *velocity, long n,
                      float lr, float rho, float momentum, float epsilon, float weightDecay);
/// Adam with bias correction at 1-based `step`: p −= lr·m̂/(sqrt(v̂) + eps).
void nbl_adam_step(float *p, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2,
                   float epsilon, long step, float weightDecay);
/// Adagrad: a += g²; p −= lr·g/sqrt(a + eps).
void nbl_adagrad_step(float *p, const float *g, float *accumulator, long n, float lr, float epsilon,
                      float weightDecay);

// MARK: - Image resampling (image.c)

enum { NBL_FILL_CONSTANT, NBL_FILL_NEAREST, NBL_FILL_REFLECT };

/// For images [n0, n1) of x (N,H,W,C; uint8 when `u8`, else float32): out (N,OH,OW,C) float32 where
/// out[n,oy,ox,c] = scale[c]·x[n] sampled at (sy, sx) = (m0·oy + m1·ox + m2, m3·oy + m4·ox + m5) + bias[c],
/// m = matrices + 6n. Bilinear unless `nearest` (maps onto whole pixels take a direct copy either way);
/// outside positions follow fillMode: the nearest edge, a reflection, or the constant fill[c] (written
/// as is, without scale and bias).
void nbl_resample_nhwc(const void *x, int u8, long H, long W, long C, const float *matrices, long OH, long OW,
                       int fillMode, const float *fill, const float *scale, const float *bias, int nearest, long n0,
                       long n1, float *out);

// MARK: - Heap statistics (memory.c)

/// Returns the bytes in use on the C heap (glibc mallinfo2), or -1 where unknown.
long nbl_heap_bytes_in_use(void);

/// Inverted dropout over elements [start, end): mask[i] is 1/(1−rate) where the stream's uniform
/// value i is at least `rate` and 0 elsewhere; y[i] = x[i]·mask[i].
void nbl_dropout_f32(const float *x, float *y, float *mask, long n, float rate, uint64_t seed, uint64_t offset,
                     long start, long end);

#ifdef __cplusplus
}
#endif

#endif
