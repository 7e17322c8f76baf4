import CNablaKernels
import Foundation

/// Chooses the matrix-multiply implementation: the built-in packed SGEMM or a system BLAS.
///
/// `NABLA_BLAS=auto` (the default) uses OpenBLAS or MKL when one can be loaded with `dlopen`, and
/// the built-in kernel otherwise; `builtin` never loads one; `openblas` requires OpenBLAS.
/// Nothing here is needed to build or run: the built-in path is always there.
public enum GEMM {
    /// The implementations a matmul can run on.
    public enum Implementation: String, Sendable {
        case builtin
        case openblas
    }

    /// Libraries tried, in order, when a system BLAS is wanted.
    static let libraries = "libopenblas.so.0:libopenblas.so:libopenblas.0.dylib:libmkl_rt.so.2:libmkl_rt.so"

    /// The implementation chosen from `NABLA_BLAS` at first use.
    public static let defaultImplementation: Implementation = {
        let mode = ProcessInfo.processInfo.environment["NABLA_BLAS"]?.lowercased() ?? "auto"
        switch mode {
        case "builtin": return .builtin
        case "openblas", "auto":
            if loadSystemBLAS() { return .openblas }
            if mode == "openblas" {
                FileHandle.standardError.write(
                    Data("nabla: NABLA_BLAS=openblas but no OpenBLAS could be loaded; using the built-in SGEMM\n".utf8))
            }
            return .builtin
        default:
            FileHandle.standardError.write(
                Data("nabla: NABLA_BLAS=\(mode) is not one of auto, builtin, openblas; using auto\n".utf8))
            return loadSystemBLAS() ? .openblas : .builtin
        }
    }()

    /// Loads a system BLAS if one is installed; returns whether one is available.
    @discardableResult
    public static func loadSystemBLAS() -> Bool {
        if nbl_blas_load(libraries) == 1 {
            nbl_blas_set_threads(Int32(ThreadPool.threadCount))
            return true
        }
        return false
    }

    /// The name of the ISA the built-in micro-kernel runs on: `avx2-fma`, `neon` or `portable`.
    public static var builtinISA: String {
        switch Int(nbl_gemm_isa()) {
        case Int(NBL_ISA_AVX2_FMA): "avx2-fma"
        case Int(NBL_ISA_NEON): "neon"
        default: "portable"
        }
    }

    /// Computes `C = A·B` (or `C += A·B`), splitting the work over the thread pool.
    ///
    /// A is `M×K` read as `A[i*rsA + k*csA]`, B is `K×N` read as `B[k*rsB + j*csB]`, C is row-major with
    /// leading dimension `ldc`. Each element of C is summed by one thread in a fixed order, so the
    /// built-in result does not depend on the thread count.
    static func multiply(
        M: Int, N: Int, K: Int, A: UnsafePointer<Float>, rsA: Int, csA: Int, B: UnsafePointer<Float>, rsB: Int,
        csB: Int, C: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false,
        implementation: Implementation = defaultImplementation, threads: Int = ThreadPool.threadCount
    ) {
        if implementation == .openblas, nbl_blas_available() == 1,
            let (ta, lda) = blasLayout(rows: rsA, columns: csA, M: M, K: K),
            let (tb, ldb) = blasLayout(rows: rsB, columns: csB, M: K, K: N)
        {
            nbl_blas_sgemm(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, accumulate ? 1 : 0)
            return
        }
        let work = M * N * K
        let parts = Swift.min(threads, Swift.max(1, work / (1 << 18)))
        if parts <= 1 {
            nbl_sgemm(M, N, K, A, rsA, csA, B, rsB, csB, C, ldc, accumulate ? 1 : 0)
            return
        }
        let a = UnsafeSendable(A), b = UnsafeSendable(B), c = UnsafeSendable(C)
        let acc: Int32 = accumulate ? 1 : 0
        if M >= N {
            // Split rows in multiples of the micro-tile height.
            let per = (M + parts - 1) / parts
            let step = (per + Int(NBL_GEMM_MR) - 1) / Int(NBL_GEMM_MR) * Int(NBL_GEMM_MR)
            ThreadPool.forEachTask((M + step - 1) / step) { t in
                let i0 = t * step, m = Swift.min(step, M - i0)
                nbl_sgemm(m, N, K, a.value + i0 * rsA, rsA, csA, b.value, rsB, csB, c.value + i0 * ldc, ldc, acc)
            }
        } else {
            let per = (N + parts - 1) / parts
            let step = (per + Int(NBL_GEMM_NR) - 1) / Int(NBL_GEMM_NR) * Int(NBL_GEMM_NR)
            ThreadPool.forEachTask((N + step - 1) / step) { t in
                let j0 = t * step, n = Swift.min(step, N - j0)
                nbl_sgemm(M, n, K, a.value, rsA, csA, b.value + j0 * csB, rsB, csB, c.value + j0, ldc, acc)
            }
        }
    }

    /// Returns CBLAS (transpose, leading dimension) for a strided matrix, or nil if BLAS cannot read it.
    private static func blasLayout(rows: Int, columns: Int, M: Int, K: Int) -> (Int32, Int)? {
        if columns == 1 && rows >= Swift.max(K, 1) { return (0, rows) }
        if rows == 1 && columns >= Swift.max(M, 1) { return (1, columns) }
        return nil
    }
}
