// What every graph node and every trace entry says about the op that made a value: its kind and
// its attributes, as data. The gradient-table completeness test, tracing (for ONNX export) and
// profiling read these records; nothing parses a string or looks inside a closure.

/// The kinds of op that record themselves.
///
/// ``isDifferentiable`` marks those with a backward step; each of them has a row in the gradient
/// table (`Tests/NablaTests/Autodiff/GradientTableTests.swift`), which checks that it does.
public enum OpKind: String, CaseIterable, Sendable {
    // Elementwise arithmetic and selection.
    case add, sub, mul, div, neg, maximum, minimum, pow, `where`
    // Elementwise math and activations.
    case exp, log, sqrt, rsqrt, square, abs, sign, clamp, relu, leakyRelu, elu, sigmoid, tanh, gelu, swish, erf
    // Comparisons (results are bool, without gradients).
    case equal, notEqual, less, lessEqual, greater, greaterEqual
    // Reductions.
    case sum, max, min, argmax, argmin
    // Products, windows and normalisation.
    case matmul, conv2d, maxPool2d, avgPool2d, softmax, logSoftmax, softmaxCrossEntropy, batchNorm, dropout
    // Views, copies and indexing.
    case reshape, permute, expand, slice, pad, concat, gather, contiguous, convert, oneHot
    // Creation and resampling (no inputs that take gradients).
    case random, affineResample

    /// Whether the op has a backward step (and so a row in the gradient table).
    public var isDifferentiable: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual, .argmax, .argmin, .convert, .oneHot,
            .random, .affineResample:
            false
        default: true
        }
    }
}

/// One attribute value of an op record.
public enum OpAttribute: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case ints([Int])
    case float(Float)
    case floats([Float])
    case bool(Bool)
    case string(String)

    public var description: String {
        switch self {
        case .int(let v): "\(v)"
        case .ints(let v): "\(v)"
        case .float(let v): "\(v)"
        case .floats(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .string(let v): v
        }
    }
}

/// The op that produced a value: its kind and attributes (strides, padding, axes, constants…).
public struct OpRecord: Sendable, Equatable, CustomStringConvertible {
    /// The kind of op.
    public let kind: OpKind
    /// The op's attributes by name.
    ///
    /// For example `strides: [2, 2]`, `pads: [0, 1, 0, 1]` (top, bottom, left, right), `axes: [1]`.
    public let attributes: [String: OpAttribute]

    /// Creates a record.
    public init(_ kind: OpKind, _ attributes: [String: OpAttribute] = [:]) {
        self.kind = kind
        self.attributes = attributes
    }

    public var description: String {
        if attributes.isEmpty { return kind.rawValue }
        let parts = attributes.keys.sorted().map { "\($0): \(attributes[$0]?.description ?? "")" }
        return "\(kind.rawValue)(\(parts.joined(separator: ", ")))"
    }
}
