import Foundation
import Nabla

/// SGEMM GFLOP/s at square sizes: the built-in kernel and, when installed, OpenBLAS in the same run.
enum GEMMBench {
    static let sizes = [256, 512, 1024, 2048]

    /// GFLOP/s of `implementations` on one n×n product, timed in turn product by product (with
    /// more than one, they see the same load of a shared machine).
    static func gflops(size n: Int, implementations: [GEMM.Implementation]) throws -> [Double] {
        let a = Tensor.uniform([n, n], generator: RandomGenerator(seed: 1))
        let b = Tensor.uniform([n, n], generator: RandomGenerator(seed: 2))
        let c = Tensor.zeros([n, n])
        let bodies = implementations.map { implementation in
            { GEMM.benchmarkMultiply(a, b, into: c, implementation: implementation) }
        }
        let repeats = n >= 2048 ? 7 : (n >= 1024 ? 11 : 25)
        return try Measure.alternating(warmup: 2, repeats: repeats, bodies).map { 2 * Double(n * n * n) / $0 / 1e9 }
    }

    static func builtinGFLOPS(size: Int) throws -> Double { try gflops(size: size, implementations: [.builtin])[0] }

    /// Runs the case; returns the built-in GFLOP/s at 1024 for the conv case to compare against.
    ///
    /// With OpenBLAS installed, the two run in turn, one product each per round, so the ratio
    /// compares them under the same load of a shared machine.
    @discardableResult
    static func run() throws -> Double {
        let haveBLAS = GEMM.loadSystemBLAS()
        var at1024 = 0.0
        for n in sizes {
            let rates = try gflops(size: n, implementations: haveBLAS ? [.builtin, .openblas] : [.builtin])
            var fields: [String: Any] = ["case": "sgemm", "size": n, "builtin_gflops": rates[0]]
            fields["openblas_gflops"] = haveBLAS ? rates[1] : NSNull()
            if haveBLAS { fields["builtin_over_openblas"] = rates[0] / rates[1] }
            if n == 1024 { at1024 = rates[0] }
            Measure.report(fields.merging(Measure.machine) { a, _ in a })
        }
        return at1024
    }
}
