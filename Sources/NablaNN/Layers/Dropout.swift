import Nabla

/// Zeroes each input element with probability `rate` during training, scaling the rest by
/// `1 / (1 - rate)`; the identity at inference.
///
/// - Paper: https://jmlr.org/papers/v15/srivastava14a.html
public final class Dropout: Layer, @unchecked Sendable {
    public let rate: Float

    public init(rate: Float, name: String? = nil) {
        require((0..<1).contains(rate), "Dropout: rate \(rate) is outside [0, 1)")
        self.rate = rate
        super.init(name: name)
    }

    public override func forward(_ input: Tensor) -> Tensor {
        isTraining ? dropout(input, rate: rate) : input
    }
}

extension Dropout: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["rate": JSONValue(rate)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        let rate = try config.float("rate", in: 0...1)
        guard rate < 1 else { throw config.error("rate", "must be below 1") }
        return Dropout(rate: rate)
    }
}
