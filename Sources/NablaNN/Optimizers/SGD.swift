import Nabla

/// Stochastic gradient descent, with optional momentum (classical or Nesterov).
///
/// `v = momentum·v − lr·g; p += v` (Nesterov: `p += momentum·v − lr·g`); plain `p −= lr·g` without
/// momentum. Defaults (Keras 3): learning rate 0.01, momentum 0.
public final class SGD: Optimizer, @unchecked Sendable {
    public let state: OptimizerState
    public let momentum: Float
    public let nesterov: Bool

    public init(
        learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0,
        clipValue: Float? = nil, clipNorm: Float? = nil, globalClipNorm: Float? = nil,
        schedule: (any LearningRateSchedule)? = nil
    ) {
        require((0..<1).contains(momentum), "SGD: momentum \(momentum) is outside [0, 1)")
        self.momentum = momentum
        self.nesterov = nesterov
        state = OptimizerState(
            learningRate: learningRate, schedule: schedule,
            options: OptimizerOptions(
                weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm))
    }

    public var slotCount: Int { momentum > 0 ? 1 : 0 }

    public func update(_ parameter: Tensor, gradient: Tensor, slots: [Tensor], learningRate: Float, step: Int) {
        ParameterUpdate.sgd(
            parameter, gradient: gradient, velocity: slots.first, learningRate: learningRate, momentum: momentum,
            nesterov: nesterov, weightDecay: state.options.weightDecay)
    }
}
