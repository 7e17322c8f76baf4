import Nabla

/// Adadelta: step sizes from running averages of squared gradients and squared updates, so the
/// rate adapts per parameter with no decay to tune (the optimizer of the Keras mnist_cnn example).
///
/// `E[g²] = ρ·E[g²] + (1 − ρ)·g²; Δ = sqrt(E[Δ²] + ε) / sqrt(E[g²] + ε) · g;
/// E[Δ²] = ρ·E[Δ²] + (1 − ρ)·Δ²; p −= lr·Δ`. Defaults (Keras 3): learning rate 0.001, ρ 0.95,
/// ε 1e-7; the paper's rule is learning rate 1.
/// - Paper: Zeiler 2012, https://arxiv.org/abs/1212.5701
public final class Adadelta: Optimizer, @unchecked Sendable {
    public let state: OptimizerState
    public let rho: Float
    public let epsilon: Float

    public init(
        learningRate: Float = 0.001, rho: Float = 0.95, epsilon: Float = 1e-7, weightDecay: Float = 0,
        clipValue: Float? = nil, clipNorm: Float? = nil, globalClipNorm: Float? = nil,
        schedule: (any LearningRateSchedule)? = nil
    ) {
        require((0..<1).contains(rho) && epsilon > 0, "Adadelta: rho \(rho) must be in [0, 1), epsilon positive")
        (self.rho, self.epsilon) = (rho, epsilon)
        state = OptimizerState(
            learningRate: learningRate, schedule: schedule,
            options: OptimizerOptions(
                weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm))
    }

    // Slots: the running mean of squared gradients, then of squared updates.
    public var slotCount: Int { 2 }

    public func update(_ parameter: Tensor, gradient: Tensor, slots: [Tensor], learningRate: Float, step: Int) {
        let (meanSquare, meanUpdate) = (slots[0], slots[1])
        meanSquare.assign(meanSquare * rho + gradient.square() * (1 - rho))
        let delta = ((meanUpdate + epsilon).sqrt() / (meanSquare + epsilon).sqrt()) * gradient
        meanUpdate.assign(meanUpdate * rho + delta.square() * (1 - rho))
        let decay = state.options.weightDecay
        parameter.assign((decay > 0 ? parameter * (1 - learningRate * decay) : parameter) - delta * learningRate)
    }
}
