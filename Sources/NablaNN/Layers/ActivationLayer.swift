import Nabla

/// Applies an activation function as a layer.
public final class ActivationLayer: Layer, @unchecked Sendable {
    public let activation: Activation

    public init(_ activation: Activation, name: String? = nil) {
        self.activation = activation
        super.init(name: name ?? "activation")
    }

    public override func forward(_ input: Tensor) -> Tensor { activation(input) }
}

extension ActivationLayer: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["activation": .string(activation.description)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        ActivationLayer(try config.activation())
    }
}
