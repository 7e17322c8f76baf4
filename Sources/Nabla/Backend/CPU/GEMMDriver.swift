import CNablaKernels
import Foundation

/// Chooses the matrix-multiply implementation: the built-in packed SGEMM or a system BLAS.
///
/// `NABLA_BLAS=auto` (the default) uses the built-in kernel where it has a vectorised micro-kernel
/// for this CPU (AVX-512, AVX2+FMA, NEON), and gives the same bits for any thread count. On one
/// thread of an AVX-512 machine it runs at about OpenBLAS's speed (0.96–1.04 of it in
/// `nabla-bench sgemm`, the two alternating product by product); the AVX2 kernel alone measured
/// 0.84–0.88 of it. It loads OpenBLAS or MKL with `dlopen` only where it would fall back to
/// portable C.
/// `builtin` never loads a BLAS; `openblas` uses OpenBLAS whenever it can be loaded. Nothing here
/// is needed to build or run: the built-in path is always there.
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
        case "openblas":
            if loadSystemBLAS() { return .openblas }
            FileHandle.standardError.write(
                Data("nabla: NABLA_BLAS=openblas but no OpenBLAS could be loaded; using the built-in SGEMM\n".utf8))
            return .builtin
        default:
            if mode != "auto" {
                FileHandle.standardError.write(
                    Data("nabla: NABLA_BLAS=\(mode) is not one of auto, builtin, openblas; using auto\n".utf8))
            }
            if nbl_cpu_best_isa() != Int32(NBL_ISA_PORTABLE) { return .builtin }
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

    /// The name of the ISA the built-in micro-kernel runs on: `avx512`, `avx2-fma`, `neon` or `portable`.
    public static var builtinISA: String { isaName(nbl_gemm_isa()) }

    /// The ISAs the built-in micro-kernel can run on this machine: `portable`, and the vector ones
    /// (AVX2+FMA also where AVX-512 is the best).
    public static var supportedISAs: [String] {
        switch Int(nbl_cpu_best_isa()) {
        case Int(NBL_ISA_PORTABLE): ["portable"]
        case Int(NBL_ISA_AVX512): ["portable", "avx2-fma", "avx512"]
        case let best: ["portable", isaName(Int32(best))]
        }
    }

    /// Runs `body` with the built-in micro-kernel forced onto `isa` (one of ``supportedISAs``).
    ///
    /// For tests that check every path. Only the calling thread uses `isa`, and `body`'s kernels all
    /// run on it, so work on other threads at the same time keeps the default.
    public static func withBuiltinISA<Result>(_ isa: String, _ body: () throws -> Result) rethrows -> Result {
        let code: Int32 =
            switch isa {
            case "avx2-fma": Int32(NBL_ISA_AVX2_FMA)
            case "avx512": Int32(NBL_ISA_AVX512)
            case "neon": Int32(NBL_ISA_NEON)
            default: Int32(NBL_ISA_PORTABLE)
            }
        require(nbl_gemm_set_isa(code) == 1, "GEMM.withBuiltinISA: this machine cannot run \(isa)")
        defer { _ = nbl_gemm_set_isa(-1) }
        // The choice holds for this thread alone, so the work stays on it; other threads (other
        // work running at the same time) keep the default.
        return try ThreadPool.serially(body)
    }

    private static func isaName(_ code: Int32) -> String {
        switch Int(code) {
        case Int(NBL_ISA_AVX2_FMA): "avx2-fma"
        case Int(NBL_ISA_AVX512): "avx512"
        case Int(NBL_ISA_NEON): "neon"
        default: "portable"
        }
    }

    /// Computes `C = A·B` (or `C += A·B`), splitting the work over the thread pool.
    ///
    /// A is `M×K` read as `A[i*rsA + k*csA]`, B is `K×N` read as `B[k*rsB + j*csB]`, C is row-major with
    /// leading dimension `ldc`. Each element of C is summed by one thread in a fixed order, so the
    /// built-in result does not depend on the thread count. `threads` set means the caller already
    /// runs on the pool: the product then stays on the calling thread and on the built-in kernel.
    static func multiply(
        M: Int, N: Int, K: Int, A: UnsafePointer<Float>, rsA: Int, csA: Int, B: UnsafePointer<Float>, rsB: Int,
        csB: Int, C: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false,
        implementation: Implementation = defaultImplementation, threads: Int? = nil
    ) {
        if implementation == .openblas, threads == nil, nbl_blas_available() == 1,
            let (ta, lda) = blasLayout(rows: rsA, columns: csA, M: M, K: K),
            let (tb, ldb) = blasLayout(rows: rsB, columns: csB, M: K, K: N)
        {
            nbl_blas_sgemm(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, accumulate ? 1 : 0)
            return
        }
        let work = M * N * K
        let parts = Swift.min(threads ?? ThreadPool.threadCount, Swift.max(1, work / (1 << 18)))
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

extension GEMM {
    /// Computes `c = a·b` for contiguous 2-D float32 tensors on a chosen implementation; for benchmarks.
    public static func benchmarkMultiply(_ a: Tensor, _ b: Tensor, into c: Tensor, implementation: Implementation) {
        require(
            a.rank == 2 && b.rank == 2 && c.shape == [a.shape[0], b.shape[1]] && a.shape[1] == b.shape[0]
                && a.isContiguous && b.isContiguous && c.isContiguous,
            "benchmarkMultiply: expected contiguous [M, K] × [K, N] into [M, N], got \(a.shape) × \(b.shape) into \(c.shape)"
        )
        let (M, K, N) = (a.shape[0], a.shape[1], b.shape[1])
        multiply(
            M: M, N: N, K: K, A: a.cpuFloats, rsA: K, csA: 1, B: b.cpuFloats, rsB: N, csB: 1, C: c.cpuFloats, ldc: N,
            implementation: implementation)
    }
}
