import Foundation
import Nabla
import Testing

/// Tolerances used across the test suites, as explicit constants.
public enum Tolerance {
    /// Kernels against naive loops, float32 with float64 references.
    public static let kernel: Float = 1e-4
    /// Finite differences in float32: the relative error allowed per element.
    public static let gradient: Float = 5e-3
    /// Finite differences in float32: the absolute floor per element, for gradients near zero.
    public static let gradientFloor: Float = 1e-3
}

/// Returns the element of `actual` furthest outside `atol + rtol * |expected|` of `expected`.
///
/// The result is its index and how many allowances away it lies; nil when every element is
/// within. A NaN on either side (and not on both) is infinitely far, so NaN is always a difference.
public func worstMismatch(
    _ actual: [Float], _ expected: [Float], rtol: Float, atol: Float
) -> (index: Int, excess: Float)? {
    var worst: (index: Int, excess: Float)?
    for i in 0..<Swift.min(actual.count, expected.count) where !(actual[i].isNaN && expected[i].isNaN) {
        let diff = abs(actual[i] - expected[i])
        let allowed = atol + rtol * abs(expected[i])
        // `!(diff <= allowed)` holds for NaN too; infinities of the same sign are equal.
        if actual[i] != expected[i] && !(diff <= allowed) {
            let excess = diff.isNaN ? .infinity : diff / Swift.max(allowed, .leastNormalMagnitude)
            if worst == nil || excess > worst?.excess ?? 0 { worst = (i, excess) }
        }
    }
    return worst
}

/// Records an issue at the caller's line unless every element of `actual` is within
/// `atol + rtol * |expected|` of `expected` (NaN against a number is a difference).
public func expectClose(
    _ actual: [Float], _ expected: [Float], rtol: Float = Tolerance.kernel, atol: Float = 1e-6,
    _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(comment) count \(actual.count) != expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    if let (i, _) = worstMismatch(actual, expected, rtol: rtol, atol: atol) {
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

/// The package's root folder (the one holding `Package.swift`), found from the calling file's path.
public func packageRoot(file: String = #filePath) -> String {
    var url = URL(fileURLWithPath: file).deletingLastPathComponent()
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        url.deleteLastPathComponent()
    }
    return url.path
}
