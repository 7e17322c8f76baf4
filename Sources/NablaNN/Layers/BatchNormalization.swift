import Nabla

/// Batch normalisation over the last (channel) axis.
///
/// Training: `y = (x - mean) / sqrt(variance + epsilon) * gamma + beta` with the batch's statistics
/// (over every axis but the last), and `movingMean = momentum · movingMean + (1 - momentum) · mean`
/// (the same for the variance, made unbiased by `n / (n - 1)` as PyTorch does). Inference: the moving
/// statistics, as also when the layer is frozen (``Layer/isTrainable`` off). `gamma` starts at one, `beta` at zero; defaults `momentum` 0.99, `epsilon` 1e-3 (Keras).
///
/// - Paper: https://arxiv.org/abs/1502.03167
public final class BatchNormalization: Layer, @unchecked Sendable {
    public let momentum: Float
    public let epsilon: Float
    public private(set) var gamma: Parameter?
    public private(set) var beta: Parameter?
    public private(set) var movingMean: Parameter?
    public private(set) var movingVariance: Parameter?

    public init(momentum: Float = 0.99, epsilon: Float = 1e-3, name: String? = nil) {
        self.momentum = momentum
        self.epsilon = epsilon
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(!inputShape.isEmpty, "\(name): needs a channel axis, got per-example shape \(inputShape)")
        let c = inputShape[inputShape.count - 1]
        gamma = try addParameter("gamma", shape: [c], initializer: .ones)
        beta = try addParameter("beta", shape: [c], initializer: .zeros)
        movingMean = try addParameter("moving_mean", shape: [c], initializer: .zeros, trainable: false)
        movingVariance = try addParameter("moving_variance", shape: [c], initializer: .ones, trainable: false)
        return inputShape
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard let gamma, let beta, let movingMean, let movingVariance else {
            misuse("\(name): used before it was built")
        }
        // A frozen layer keeps to its moving statistics even in training (Keras's rule), so a
        // frozen base behaves as it did when it was trained.
        if !isTraining || !isTrainable {
            return batchNorm(
                input, mean: movingMean.value, variance: movingVariance.value, scale: gamma.value, offset: beta.value,
                epsilon: epsilon)
        }
        let (y, mean, variance) = batchNorm(input, scale: gamma.value, offset: beta.value, epsilon: epsilon)
        let n = Float(input.count / Swift.max(input.shape.last ?? 1, 1))
        withoutGradients {
            let unbiased = variance * (n / Swift.max(n - 1, 1))
            movingMean.value.assign(movingMean.value * momentum + mean * (1 - momentum))
            movingVariance.value.assign(movingVariance.value * momentum + unbiased * (1 - momentum))
        }
        return y
    }
}

extension BatchNormalization: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["momentum": JSONValue(momentum), "epsilon": JSONValue(epsilon)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        BatchNormalization(
            momentum: try config.float("momentum", in: 0...1), epsilon: try config.float("epsilon", in: 0...1))
    }
}
