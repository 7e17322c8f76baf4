import Nabla

/// Adam: adaptive moments with bias correction.
///
/// `m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; p −= lr·m̂ / (sqrt(v̂) + ε)` with
/// `m̂ = m / (1 − β1ᵗ)`, `v̂ = v / (1 − β2ᵗ)`. Defaults (Keras 3): learning rate 0.001, β1 0.9,
/// β2 0.999, ε 1e-7, no weight decay (``AdamW`` has it on).
/// - Paper: https://arxiv.org/abs/1412.6980
public final class Adam: Optimizer, @unchecked Sendable {
    public let state: OptimizerState
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float

    public init(
        learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7,
        weightDecay: Float = 0, clipValue: Float? = nil, clipNorm: Float? = nil, globalClipNorm: Float? = nil,
        schedule: (any LearningRateSchedule)? = nil
    ) {
        (self.beta1, self.beta2, self.epsilon) = (beta1, beta2, epsilon)
        state = OptimizerState(
            learningRate: learningRate, schedule: schedule,
            options: OptimizerOptions(
                weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm))
    }

    public var slotCount: Int { 2 }

    public func update(_ parameter: Tensor, gradient: Tensor, slots: [Tensor], learningRate: Float, step: Int) {
        ParameterUpdate.adam(
            parameter, gradient: gradient, m: slots[0], v: slots[1], learningRate: learningRate, beta1: beta1,
            beta2: beta2, epsilon: epsilon, step: step, weightDecay: state.options.weightDecay)
    }
}

/// Adam with decoupled weight decay: ``Adam``'s update with Keras's default decay of 0.004.
///
/// - Paper: https://arxiv.org/abs/1711.05101
public final class AdamW: Optimizer, @unchecked Sendable {
    private let adam: Adam
    public var state: OptimizerState { adam.state }
    public var beta1: Float { adam.beta1 }
    public var beta2: Float { adam.beta2 }
    public var epsilon: Float { adam.epsilon }

    public init(
        learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7,
        weightDecay: Float = 0.004, clipValue: Float? = nil, clipNorm: Float? = nil, globalClipNorm: Float? = nil,
        schedule: (any LearningRateSchedule)? = nil
    ) {
        adam = Adam(
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
            clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm, schedule: schedule)
    }

    public var slotCount: Int { adam.slotCount }

    public func update(_ parameter: Tensor, gradient: Tensor, slots: [Tensor], learningRate: Float, step: Int) {
        adam.update(parameter, gradient: gradient, slots: slots, learningRate: learningRate, step: step)
    }
}
