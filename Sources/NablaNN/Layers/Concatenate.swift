import Nabla

/// Joins its inputs along `axis` (the channel axis by default): `Concatenate()([a, b])`.
public final class Concatenate: Layer, @unchecked Sendable {
    public let axis: Int

    public init(axis: Int = -1, name: String? = nil) {
        self.axis = axis
        super.init(name: name)
    }

    /// Returns `concat(inputs, axis:)`.
    public func callAsFunction(_ inputs: [Tensor]) -> Tensor {
        require(!inputs.isEmpty, "\(name): no inputs")
        return concat(inputs, axis: axis)
    }
}
