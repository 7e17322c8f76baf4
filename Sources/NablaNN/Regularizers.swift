import Foundation
import Nabla

/// A penalty on a parameter's values, added to the training loss (Keras's kernel regularizers).
///
/// `l1(a)` is `a · Σ|w|`, `l2(a)` is `a · Σ w²` (Keras's definition, without a ½), `l1l2` both.
public enum Regularizer: Sendable, Equatable {
    case l1(Float)
    case l2(Float)
    case l1l2(l1: Float, l2: Float)

    /// Returns the penalty on `weight` as a scalar tensor.
    public func callAsFunction(_ weight: Tensor) -> Tensor {
        switch self {
        case .l1(let a): weight.abs().sum() * a
        case .l2(let a): weight.square().sum() * a
        case .l1l2(let a, let b): weight.abs().sum() * a + weight.square().sum() * b
        }
    }

    /// The name in model files: `l1(0.01)`, `l2(0.001)`, `l1_l2(0.01,0.001)`.
    public var name: String {
        switch self {
        case .l1(let a): "l1(\(a))"
        case .l2(let a): "l2(\(a))"
        case .l1l2(let a, let b): "l1_l2(\(a),\(b))"
        }
    }

    /// Parses a ``name``; nil for anything else (or a negative or non-finite factor).
    public init?(name: String) {
        guard name.hasSuffix(")"), let open = name.firstIndex(of: "(") else { return nil }
        let numbers = name[name.index(after: open)..<name.index(before: name.endIndex)].split(separator: ",").map {
            Float($0)
        }
        guard numbers.allSatisfy({ $0.map { $0.isFinite && $0 >= 0 } ?? false }) else { return nil }
        let values = numbers.compactMap { $0 }
        switch (name[..<open], values.count) {
        case ("l1", 1): self = .l1(values[0])
        case ("l2", 1): self = .l2(values[0])
        case ("l1_l2", 2): self = .l1l2(l1: values[0], l2: values[1])
        default: return nil
        }
    }
}

extension LayerConfig {
    /// Returns an optional regularizer (`null` for none).
    public func regularizer(_ key: String) throws -> Regularizer? {
        if values[key] == nil || values[key] == .null { return nil }
        let text = try string(key)
        guard let regularizer = Regularizer(name: text) else { throw error(key, "names no regularizer") }
        return regularizer
    }
}

extension JSONValue {
    init(_ regularizer: Regularizer?) { self = regularizer.map { .string($0.name) } ?? .null }
}
