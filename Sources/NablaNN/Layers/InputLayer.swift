import Nabla

/// States the per-example input shape at the start of a model (Keras's `Input(shape:)`): a
/// ``Sequential`` that starts with one is built at once, so its summary shows every shape.
public final class InputLayer: Layer, @unchecked Sendable {
    /// The per-example shape, without the batch.
    public let shape: [Int]

    public init(shape: [Int], name: String? = nil) {
        require(shape.allSatisfy { $0 > 0 }, "InputLayer: shape \(shape) must be positive")
        self.shape = shape
        super.init(name: name ?? "input")
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(inputShape == shape, "\(name): expected input of shape [batch, \(shape)], got [batch, \(inputShape)]")
        return shape
    }
}

extension InputLayer: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["shape": JSONValue(shape)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        InputLayer(shape: try config.ints("shape"))
    }
}
