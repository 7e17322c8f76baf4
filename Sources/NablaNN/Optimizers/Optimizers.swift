import CNablaKernels
import Nabla

// The optimizers, each a fused C update (CNablaKernels/optim.c) over a parameter and its state.
// Defaults follow Keras 3.

/// Stochastic gradient descent, with optional momentum (classical or Nesterov).
///
/// `v = momentum·v − lr·g; p += v` (Nesterov: `p += momentum·v − lr·g`); plain `p −= lr·g` without
/// momentum. Defaults: learning rate 0.01, momentum 0.
public final class SGD: Optimizer {
    public let momentum: Float
    public let nesterov: Bool

    public init(
        learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0,
        clipValue: Float? = nil, clipNorm: Float? = nil, schedule: (any LearningRateSchedule)? = nil
    ) {
        require((0..<1).contains(momentum), "SGD: momentum \(momentum) is outside [0, 1)")
        self.momentum = momentum
        self.nesterov = nesterov
        super.init(
            learningRate: learningRate, weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm,
            schedule: schedule)
    }

    public override var stateCount: Int { momentum > 0 ? 1 : 0 }

    public override func update(_ parameter: Tensor, gradient: Tensor, state: [Tensor], learningRate: Float, step: Int)
    {
        nbl_sgd_step(
            parameter.floats, gradient.floats, state.first?.floats, parameter.count, learningRate, momentum,
            nesterov ? 1 : 0, weightDecay)
    }
}

/// RMSProp: divides the gradient by a running root mean square.
///
/// `s = rho·s + (1 − rho)·g²; p −= lr·g / sqrt(s + epsilon)` (centred: `s − ḡ²` with `ḡ` the running
/// mean gradient; with momentum through a velocity). Defaults: learning rate 0.001, rho 0.9,
/// epsilon 1e-7. - Paper: Hinton, Coursera lecture 6e (2012).
public final class RMSProp: Optimizer {
    public let rho: Float
    public let momentum: Float
    public let epsilon: Float
    public let centered: Bool

    public init(
        learningRate: Float = 0.001, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7,
        centered: Bool = false, weightDecay: Float = 0, clipValue: Float? = nil, clipNorm: Float? = nil,
        schedule: (any LearningRateSchedule)? = nil
    ) {
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered
        super.init(
            learningRate: learningRate, weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm,
            schedule: schedule)
    }

    // Slots: mean square, then mean gradient (centred), then velocity (momentum).
    public override var stateCount: Int { 3 }

    public override func update(_ parameter: Tensor, gradient: Tensor, state: [Tensor], learningRate: Float, step: Int)
    {
        nbl_rmsprop_step(
            parameter.floats, gradient.floats, state[0].floats, centered ? state[1].floats : nil,
            momentum > 0 ? state[2].floats : nil, parameter.count, learningRate, rho, momentum, epsilon, weightDecay)
    }
}

/// Adam: adaptive moments with bias correction.
///
/// `m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; p −= lr·m̂ / (sqrt(v̂) + ε)` with
/// `m̂ = m / (1 − β1ᵗ)`, `v̂ = v / (1 − β2ᵗ)`. Defaults: learning rate 0.001, β1 0.9, β2 0.999, ε 1e-7.
/// - Paper: https://arxiv.org/abs/1412.6980
public class Adam: Optimizer {
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float

    public init(
        learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7,
        weightDecay: Float = 0, clipValue: Float? = nil, clipNorm: Float? = nil,
        schedule: (any LearningRateSchedule)? = nil
    ) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        super.init(
            learningRate: learningRate, weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm,
            schedule: schedule)
    }

    public override var stateCount: Int { 2 }

    public override func update(_ parameter: Tensor, gradient: Tensor, state: [Tensor], learningRate: Float, step: Int)
    {
        nbl_adam_step(
            parameter.floats, gradient.floats, state[0].floats, state[1].floats, parameter.count, learningRate, beta1,
            beta2, epsilon, step, weightDecay)
    }
}

/// Adam with decoupled weight decay (default 0.004, as Keras).
///
/// - Paper: https://arxiv.org/abs/1711.05101
public final class AdamW: Adam {
    public override init(
        learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7,
        weightDecay: Float = 0.004, clipValue: Float? = nil, clipNorm: Float? = nil,
        schedule: (any LearningRateSchedule)? = nil
    ) {
        super.init(
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
            clipValue: clipValue, clipNorm: clipNorm, schedule: schedule)
    }
}

/// Adagrad: per-element learning rates from the sum of squared gradients.
///
/// `a += g²; p −= lr·g / sqrt(a + ε)`, `a` starting at `initialAccumulator`. Defaults: learning
/// rate 0.001, initial accumulator 0.1, ε 1e-7. - Paper: https://jmlr.org/papers/v12/duchi11a.html
public final class Adagrad: Optimizer {
    public let initialAccumulator: Float
    public let epsilon: Float

    public init(
        learningRate: Float = 0.001, initialAccumulator: Float = 0.1, epsilon: Float = 1e-7, weightDecay: Float = 0,
        clipValue: Float? = nil, clipNorm: Float? = nil, schedule: (any LearningRateSchedule)? = nil
    ) {
        self.initialAccumulator = initialAccumulator
        self.epsilon = epsilon
        super.init(
            learningRate: learningRate, weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm,
            schedule: schedule)
    }

    public override var stateCount: Int { 1 }
    public override func initialState(slot: Int, shape: [Int]) -> Tensor {
        Tensor.full(shape, value: initialAccumulator)
    }

    public override func update(_ parameter: Tensor, gradient: Tensor, state: [Tensor], learningRate: Float, step: Int)
    {
        nbl_adagrad_step(
            parameter.floats, gradient.floats, state[0].floats, parameter.count, learningRate, epsilon, weightDecay)
    }
}
