import Nabla

/// Adagrad: per-element learning rates from the sum of squared gradients.
///
/// `a += g²; p −= lr·g / sqrt(a + ε)`, `a` starting at `initialAccumulator`. Defaults (Keras 3):
/// learning rate 0.001, initial accumulator 0.1, ε 1e-7. - Paper: https://jmlr.org/papers/v12/duchi11a.html
public final class Adagrad: Optimizer, @unchecked Sendable {
    public let state: OptimizerState
    public let initialAccumulator: Float
    public let epsilon: Float

    public init(
        learningRate: Float = 0.001, initialAccumulator: Float = 0.1, epsilon: Float = 1e-7, weightDecay: Float = 0,
        clipValue: Float? = nil, clipNorm: Float? = nil, globalClipNorm: Float? = nil,
        schedule: (any LearningRateSchedule)? = nil
    ) {
        self.initialAccumulator = initialAccumulator
        self.epsilon = epsilon
        state = OptimizerState(
            learningRate: learningRate, schedule: schedule,
            options: OptimizerOptions(
                weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm))
    }

    public var slotCount: Int { 1 }

    public func initialSlot(_ slot: Int, for parameter: Tensor) -> Tensor {
        Tensor.full(parameter.shape, value: initialAccumulator, device: parameter.device)
    }

    public func update(_ parameter: Tensor, gradient: Tensor, slots: [Tensor], learningRate: Float, step: Int) {
        ParameterUpdate.adagrad(
            parameter, gradient: gradient, accumulator: slots[0], learningRate: learningRate, epsilon: epsilon,
            weightDecay: state.options.weightDecay)
    }
}
