import Nabla

/// RMSProp: divides the gradient by a running root mean square.
///
/// `s = rho·s + (1 − rho)·g²; p −= lr·g / sqrt(s + epsilon)` (centred: `s − ḡ²` with `ḡ` the running
/// mean gradient; with momentum through a velocity). Defaults (Keras 3): learning rate 0.001,
/// rho 0.9, epsilon 1e-7. - Paper: Hinton, Coursera lecture 6e (2012).
public final class RMSProp: Optimizer, @unchecked Sendable {
    public let state: OptimizerState
    public let rho: Float
    public let momentum: Float
    public let epsilon: Float
    public let centered: Bool

    public init(
        learningRate: Float = 0.001, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7,
        centered: Bool = false, weightDecay: Float = 0, clipValue: Float? = nil, clipNorm: Float? = nil,
        globalClipNorm: Float? = nil, schedule: (any LearningRateSchedule)? = nil
    ) {
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered
        state = OptimizerState(
            learningRate: learningRate, schedule: schedule,
            options: OptimizerOptions(
                weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm))
    }

    // Slots: mean square, then mean gradient (centred), then velocity (momentum).
    public var slotCount: Int { 3 }

    public func update(_ parameter: Tensor, gradient: Tensor, slots: [Tensor], learningRate: Float, step: Int) {
        ParameterUpdate.rmsprop(
            parameter, gradient: gradient, meanSquare: slots[0], meanGradient: centered ? slots[1] : nil,
            velocity: momentum > 0 ? slots[2] : nil, learningRate: learningRate, rho: rho, momentum: momentum,
            epsilon: epsilon, weightDecay: state.options.weightDecay)
    }
}
