import Nabla
import Testing

/// Tolerances used across the test suites, as explicit constants.
public enum Tolerance {
    /// Kernels against naive loops, float32 with float64 references.
    public static let kernel: Float = 1e-4
    /// Finite differences in float32.
    public static let gradient: Float = 1e-2
}

/// Records an issue at the caller's line unless every element of `actual` is within
/// `atol + rtol * |expected|` of `expected`.
public func expectClose(
    _ actual: [Float], _ expected: [Float], rtol: Float = Tolerance.kernel, atol: Float = 1e-6,
    _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(comment) count \(actual.count) != expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var worst = (index: -1, excess: Float(0))
    for i in 0..<actual.count {
        let diff = abs(actual[i] - expected[i])
        let allowed = atol + rtol * abs(expected[i])
        if !(diff <= allowed) {
            let excess = diff.isNaN ? .infinity : diff / Swift.max(allowed, .leastNormalMagnitude)
            if worst.index < 0 || excess > worst.excess { worst = (i, excess) }
        }
    }
    if worst.index >= 0 {
        let i = worst.index
        Issue.record(
            "\(comment) element \(i): \(actual[i]) vs expected \(expected[i]) (rtol \(rtol), atol \(atol))",
            sourceLocation: sourceLocation)
    }
}

/// Records an issue at the caller's line unless `actual` has `expected`'s shape and values.
public func expectClose(
    _ actual: Tensor, _ expected: Tensor, rtol: Float = Tolerance.kernel, atol: Float = 1e-6,
    _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.shape == expected.shape else {
        Issue.record("\(comment) shape \(actual.shape) != expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    expectClose(
        actual.asType(.float32).toArray(), expected.asType(.float32).toArray(), rtol: rtol, atol: atol, comment,
        sourceLocation: sourceLocation)
}
