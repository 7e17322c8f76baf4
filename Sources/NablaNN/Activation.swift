import Nabla

/// An elementwise activation function, by Keras name.
public enum Activation: Sendable, Equatable, CustomStringConvertible {
    case linear
    case relu
    /// `min(max(x, 0), 6)` (MobileNet's).
    case relu6
    case sigmoid
    case tanh
    /// Softmax over the last axis.
    case softmax
    case leakyRelu(alpha: Float)
    case elu(alpha: Float)
    case gelu
    case swish

    /// Applies the activation.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .linear: x
        case .relu: x.relu()
        case .relu6: x.clamp(min: 0, max: 6)
        case .sigmoid: x.sigmoid()
        case .tanh: x.tanh()
        case .softmax: x.softmax(axis: -1)
        case .leakyRelu(let alpha): x.leakyRelu(alpha: alpha)
        case .elu(let alpha): x.elu(alpha: alpha)
        case .gelu: x.gelu()
        case .swish: x.swish()
        }
    }

    public var description: String {
        switch self {
        case .linear: "linear"
        case .relu: "relu"
        case .relu6: "relu6"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .softmax: "softmax"
        case .leakyRelu(let alpha): "leaky_relu(\(alpha))"
        case .elu(let alpha): "elu(\(alpha))"
        case .gelu: "gelu"
        case .swish: "swish"
        }
    }

    /// Parses a ``description``: `relu`, `leaky_relu(0.3)`, `elu(1.0)`…; nil for anything else.
    public init?(name: String) {
        let simple: [String: Activation] = [
            "linear": .linear, "relu": .relu, "relu6": .relu6, "sigmoid": .sigmoid, "tanh": .tanh, "softmax": .softmax,
            "gelu": .gelu,
            "swish": .swish,
        ]
        if let activation = simple[name] {
            self = activation
            return
        }
        guard name.hasSuffix(")"), let open = name.firstIndex(of: "("),
            let alpha = Float(name[name.index(after: open)..<name.index(before: name.endIndex)]), alpha.isFinite
        else { return nil }
        switch name[..<open] {
        case "leaky_relu": self = .leakyRelu(alpha: alpha)
        case "elu": self = .elu(alpha: alpha)
        default: return nil
        }
    }
}
