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
