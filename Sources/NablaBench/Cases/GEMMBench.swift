import Foundation
import Nabla

/// SGEMM GFLOP/s at square sizes: the built-in kernel and, when installed, OpenBLAS in the same run.
enum GEMMBench {
    static let sizes = [256, 512, 1024, 2048]

    static func gflops(size n: Int, implementation: GEMM.Implementation) -> Double {
        let a = Tensor.uniform([n, n], generator: RandomGenerator(seed: 1))
        let b = Tensor.uniform([n, n], generator: RandomGenerator(seed: 2))
        let c = Tensor.zeros([n, n])
        let repeats = n >= 2048 ? 5 : (n >= 1024 ? 9 : 25)
        let seconds = Measure.median(warmup: 2, repeats: repeats) {
            GEMM.benchmarkMultiply(a, b, into: c, implementation: implementation)
        }
        return 2 * Double(n * n * n) / seconds / 1e9
    }

    static func builtinGFLOPS(size: Int) -> Double { gflops(size: size, implementation: .builtin) }

    /// Runs the case; returns the built-in GFLOP/s at 1024 for the conv case to compare against.
    @discardableResult
    static func run() -> Double {
        let haveBLAS = GEMM.loadSystemBLAS()
        var at1024 = 0.0
        for n in sizes {
            let builtin = gflops(size: n, implementation: .builtin)
            if n == 1024 { at1024 = builtin }
            var fields: [String: Any] = ["case": "sgemm", "size": n, "builtin_gflops": builtin]
            if haveBLAS {
                let blas = gflops(size: n, implementation: .openblas)
                fields["openblas_gflops"] = blas
                fields["builtin_over_openblas"] = builtin / blas
            } else {
                fields["openblas_gflops"] = NSNull()
            }
            Measure.report(fields.merging(Measure.machine) { a, _ in a })
        }
        return at1024
    }
}
