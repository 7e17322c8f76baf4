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
    ///
    /// With OpenBLAS installed, the two run in turn, one product each per round, so the ratio
    /// compares them under the same load of a shared machine.
    @discardableResult
    static func run() -> Double {
        let haveBLAS = GEMM.loadSystemBLAS()
        var at1024 = 0.0
        for n in sizes {
            var fields: [String: Any] = ["case": "sgemm", "size": n]
            let builtin: Double
            if haveBLAS {
                let a = Tensor.uniform([n, n], generator: RandomGenerator(seed: 1))
                let b = Tensor.uniform([n, n], generator: RandomGenerator(seed: 2))
                let c = Tensor.zeros([n, n])
                let bodies: [() -> Void] = [
                    { GEMM.benchmarkMultiply(a, b, into: c, implementation: .builtin) },
                    { GEMM.benchmarkMultiply(a, b, into: c, implementation: .openblas) },
                ]
                let repeats = n >= 2048 ? 7 : (n >= 1024 ? 11 : 25)
                let rates = Measure.alternating(warmup: 2, repeats: repeats, bodies).map {
                    2 * Double(n * n * n) / $0 / 1e9
                }
                builtin = rates[0]
                fields["openblas_gflops"] = rates[1]
                fields["builtin_over_openblas"] = rates[0] / rates[1]
            } else {
                builtin = gflops(size: n, implementation: .builtin)
                fields["openblas_gflops"] = NSNull()
            }
            fields["builtin_gflops"] = builtin
            if n == 1024 { at1024 = builtin }
            Measure.report(fields.merging(Measure.machine) { a, _ in a })
        }
        return at1024
    }
}
