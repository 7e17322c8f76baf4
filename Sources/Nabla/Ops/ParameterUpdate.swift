// In-place parameter updates: the ops optimizers are made of. Each is one fused pass over a
// parameter, its gradient and its state on the parameter's device. Weight decay is decoupled
// (Loshchilov & Hutter, https://arxiv.org/abs/1711.05101): `p −= lr · weightDecay · p` first,
// as Keras 3 applies it. Nothing is recorded for autodiff.

/// The in-place update rules of the optimizers, on contiguous float32 tensors of one device.
public enum ParameterUpdate {
    /// Checks that every state tensor fits `parameter` and returns their backend.
    private static func backend(_ op: String, _ parameter: Tensor, _ others: [Tensor?]) -> any Backend {
        let tensors = [parameter] + others.compactMap { $0 }
        for t in tensors {
            require(
                t.dtype == .float32 && t.isContiguous && t.shape == parameter.shape,
                "\(op): expected contiguous float32 tensors of shape \(parameter.shape), got \(t.dtype) \(t.shape)")
        }
        return Tensor.backend(of: tensors, op: op)
    }

    /// SGD: `p −= lr·g`; with a velocity `v = momentum·v − lr·g; p += v` (Nesterov:
    /// `p += momentum·v − lr·g`).
    public static func sgd(
        _ parameter: Tensor, gradient: Tensor, velocity: Tensor?, learningRate: Float, momentum: Float = 0,
        nesterov: Bool = false, weightDecay: Float = 0
    ) {
        backend("sgd", parameter, [gradient, velocity]).sgdStep(
            parameter, gradient: gradient, velocity: velocity, learningRate: learningRate, momentum: momentum,
            nesterov: nesterov, weightDecay: weightDecay)
    }

    /// RMSProp: `s = rho·s + (1 − rho)·g²; p −= lr·g / sqrt(s + ε)`; centred (`s − ḡ²`) when
    /// `meanGradient` is given, through a velocity `v = momentum·v + step` when `velocity` is.
    public static func rmsprop(
        _ parameter: Tensor, gradient: Tensor, meanSquare: Tensor, meanGradient: Tensor?, velocity: Tensor?,
        learningRate: Float, rho: Float, momentum: Float, epsilon: Float, weightDecay: Float = 0
    ) {
        backend("rmsprop", parameter, [gradient, meanSquare, meanGradient, velocity]).rmspropStep(
            parameter, gradient: gradient, meanSquare: meanSquare, meanGradient: meanGradient, velocity: velocity,
            learningRate: learningRate, rho: rho, momentum: momentum, epsilon: epsilon, weightDecay: weightDecay)
    }

    /// Adam at 1-based `step`: `m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
    /// p −= lr·(m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + ε)`.
    public static func adam(
        _ parameter: Tensor, gradient: Tensor, m: Tensor, v: Tensor, learningRate: Float, beta1: Float, beta2: Float,
        epsilon: Float, step: Int, weightDecay: Float = 0
    ) {
        require(step >= 1, "adam: step \(step) must count from 1")
        backend("adam", parameter, [gradient, m, v]).adamStep(
            parameter, gradient: gradient, m: m, v: v, learningRate: learningRate, beta1: beta1, beta2: beta2,
            epsilon: epsilon, step: step, weightDecay: weightDecay)
    }

    /// Adagrad: `a += g²; p −= lr·g / sqrt(a + ε)`.
    public static func adagrad(
        _ parameter: Tensor, gradient: Tensor, accumulator: Tensor, learningRate: Float, epsilon: Float,
        weightDecay: Float = 0
    ) {
        backend("adagrad", parameter, [gradient, accumulator]).adagradStep(
            parameter, gradient: gradient, accumulator: accumulator, learningRate: learningRate, epsilon: epsilon,
            weightDecay: weightDecay)
    }
}
