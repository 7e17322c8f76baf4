/// The element type of a tensor, known at run time.
///
/// `float32` is the type every differentiable op computes in. The integer types hold labels and
/// indices, `uint8` holds raw image bytes, and `bool` holds the results of comparisons (one byte
/// per element, 0 or 1). The raw values are the codes the C kernels use.
public enum DType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 0
    case int32 = 1
    case int64 = 2
    case uint8 = 3
    case bool = 4

    /// Returns the size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: 4
        case .int64: 8
        case .uint8, .bool: 1
        }
    }

    /// Returns the bytes a contiguous tensor of `shape` and this type takes, or nil when a
    /// dimension is negative or the size (or a stride: zero dimensions count as one there)
    /// overflows: the check every reader makes on a shape from a file before allocating.
    public func byteCount(of shape: [Int]) -> Int? {
        var span = byteSize, count = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (s, spanOverflow) = span.multipliedReportingOverflow(by: Swift.max(d, 1))
            guard !spanOverflow else { return nil }
            span = s
            count *= d
        }
        return count * byteSize
    }

    public var description: String {
        switch self {
        case .float32: "float32"
        case .int32: "int32"
        case .int64: "int64"
        case .uint8: "uint8"
        case .bool: "bool"
        }
    }
}

/// A Swift scalar type that maps to a ``DType``.
public protocol TensorScalar: Sendable {
    /// The dtype that stores values of this type.
    static var dtype: DType { get }
}

extension Float: TensorScalar { public static var dtype: DType { .float32 } }
extension Int32: TensorScalar { public static var dtype: DType { .int32 } }
extension Int64: TensorScalar { public static var dtype: DType { .int64 } }
extension UInt8: TensorScalar { public static var dtype: DType { .uint8 } }
extension Bool: TensorScalar { public static var dtype: DType { .bool } }
