import Nabla

/// Adds its inputs elementwise (for residual connections): `Add()([a, b])`.
public final class Add: Layer, @unchecked Sendable {
    /// Returns the elementwise sum of `inputs`, which must have equal shapes.
    public func callAsFunction(_ inputs: [Tensor]) -> Tensor {
        require(inputs.count >= 2, "\(name): needs at least two inputs, got \(inputs.count)")
        for t in inputs.dropFirst() {
            require(t.shape == inputs[0].shape, "\(name): input shapes differ, \(inputs[0].shape) and \(t.shape)")
        }
        return inputs.dropFirst().reduce(inputs[0], +)
    }
}

extension Add: SerializableLayer {
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer { Add() }
}
