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

extension Concatenate: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["axis": JSONValue(axis)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        Concatenate(axis: try config.int("axis", in: -8...8))
    }
}
