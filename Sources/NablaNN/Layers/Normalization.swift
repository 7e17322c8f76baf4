import Nabla

/// Standardises features over the last axis: `(x − mean) / sqrt(variance + epsilon)`.
///
/// The mean and variance are learned from data by ``adapt(_:)`` (Keras's `Normalization` layer)
/// and saved with the model, so a saved tabular model takes raw features.
public final class Normalization: Layer, @unchecked Sendable {
    public let epsilon: Float
    public private(set) var mean: Parameter?
    public private(set) var variance: Parameter?

    public init(epsilon: Float = 1e-7, name: String? = nil) {
        self.epsilon = epsilon
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(!inputShape.isEmpty, "\(name): needs a feature axis, got per-example shape \(inputShape)")
        let features = inputShape[inputShape.count - 1]
        mean = try addParameter("mean", shape: [features], initializer: .zeros, trainable: false)
        variance = try addParameter("variance", shape: [features], initializer: .ones, trainable: false)
        return inputShape
    }

    public override var convertsIntegerInputs: Bool { true }

    /// Sets the mean and variance of each feature from `data` (`[N, …, features]`), building the
    /// layer for its shape if needed.
    public func adapt(_ data: Tensor) {
        ensureBuilt(inputShape: Array(data.shape.dropFirst()))
        guard let mean, let variance else { return }
        withoutGradients {
            let x = data.asType(.float32).reshaped([-1, data.shape[data.rank - 1]])
            let m = x.mean(axes: [0])
            mean.value.assign(m)
            variance.value.assign((x - m).square().mean(axes: [0]))
        }
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard let mean, let variance else { misuse("\(name): used before it was built") }
        return (input.asType(.float32) - mean.value) / (variance.value + epsilon).sqrt()
    }
}

extension Normalization: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["epsilon": JSONValue(epsilon)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        Normalization(epsilon: try config.float("epsilon", in: 0...1))
    }
}
