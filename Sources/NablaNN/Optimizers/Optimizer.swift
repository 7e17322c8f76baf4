import Nabla

/// An optimizer: updates a model's parameters from their gradients, Keras style.
///
/// A conforming type provides the update rule (``update(_:gradient:slots:learningRate:step:)``)
/// and how many state tensors it keeps per parameter; everything else — the learning rate
/// (constant or scheduled), gradient hooks, clipping, decoupled weight decay, per-parameter state
/// and the step count — lives in its ``OptimizerState`` and is shared. ``step(_:)-(Layer)`` updates every
/// trainable parameter in place, then clears the gradients, so a custom loop is
/// `loss.backward(); optimizer.step(model)`.
public protocol Optimizer: AnyObject, Sendable {
    /// The shared state: learning rate, options, hooks, per-parameter slots and the step count.
    var state: OptimizerState { get }

    /// The number of state tensors per parameter, each shaped like the parameter.
    var slotCount: Int { get }

    /// Returns the initial value of state slot `slot` for `parameter` (zeros unless overridden).
    func initialSlot(_ slot: Int, for parameter: Tensor) -> Tensor

    /// Updates one parameter in place from its (hooked and clipped) gradient; `step` counts from 1.
    func update(_ parameter: Tensor, gradient: Tensor, slots: [Tensor], learningRate: Float, step: Int)
}

/// Options every optimizer takes (Keras names): decoupled weight decay and gradient clipping.
public struct OptimizerOptions: Sendable, Equatable {
    /// Decoupled weight decay: `p −= learningRate · weightDecay · p` each step.
    public var weightDecay: Float
    /// Clips each gradient element to `±clipValue` (Keras `clipvalue`).
    public var clipValue: Float?
    /// Rescales each parameter's gradient to at most this L2 norm (Keras `clipnorm`).
    public var clipNorm: Float?
    /// Rescales all gradients together to at most this global L2 norm (Keras `global_clipnorm`).
    public var globalClipNorm: Float?

    public init(weightDecay: Float = 0, clipValue: Float? = nil, clipNorm: Float? = nil, globalClipNorm: Float? = nil) {
        require(weightDecay >= 0, "OptimizerOptions: negative weight decay \(weightDecay)")
        require(clipValue.map { $0 > 0 } ?? true, "OptimizerOptions: clipValue \(clipValue ?? 0) must be positive")
        require(clipNorm.map { $0 > 0 } ?? true, "OptimizerOptions: clipNorm \(clipNorm ?? 0) must be positive")
        require(
            globalClipNorm.map { $0 > 0 } ?? true,
            "OptimizerOptions: globalClipNorm \(globalClipNorm ?? 0) must be positive")
        (self.weightDecay, self.clipValue, self.clipNorm, self.globalClipNorm) = (
            weightDecay, clipValue, clipNorm, globalClipNorm
        )
    }
}

/// Changes gradients between the backward pass and the optimizer's update: averaging them over
/// processes (data-parallel training), scaling, logging.
///
/// Hooks run in order in ``Optimizer/step(_:)-(Layer)``, before clipping, on the parameters that have a
/// gradient, so a custom training loop gets them too.
public protocol GradientHook: Sendable {
    /// Returns the gradients to use, one per parameter, each of its parameter's shape.
    func process(_ gradients: [Tensor], of parameters: [Parameter]) throws -> [Tensor]
}

/// The state every optimizer shares: the one source of truth for the learning rate, the options,
/// the gradient hooks, per-parameter slots and the step count.
public final class OptimizerState: @unchecked Sendable {
    /// The base learning rate: a constant, or a schedule by step.
    public enum LearningRate: Sendable {
        case constant(Float)
        case schedule(any LearningRateSchedule)
    }

    /// The base rate, before ``learningRateScale``.
    public var base: LearningRate
    /// A factor on the base rate, set when callbacks change the rate of a scheduled optimizer
    /// (``ReduceLROnPlateau`` on a cosine schedule keeps the schedule's shape, scaled).
    public internal(set) var learningRateScale: Float = 1
    /// Decoupled weight decay and clipping.
    public var options: OptimizerOptions
    /// Run in order on the gradients before each update.
    public var gradientHooks: [any GradientHook] = []
    /// The number of steps taken.
    public internal(set) var iterations = 0
    var slots: [ObjectIdentifier: [Tensor]] = [:]

    init(learningRate: Float, schedule: (any LearningRateSchedule)?, options: OptimizerOptions) {
        require(learningRate >= 0, "Optimizer: negative learning rate \(learningRate)")
        base = schedule.map { .schedule($0) } ?? .constant(learningRate)
        self.options = options
    }

    /// The learning rate the next step uses.
    ///
    /// Setting it on a constant rate replaces the constant; on a schedule it scales the schedule
    /// so that the next step uses the value set (and later steps follow the schedule's shape).
    public var learningRate: Float {
        get {
            switch base {
            case .constant(let value): value * learningRateScale
            case .schedule(let schedule): schedule.learningRate(at: iterations) * learningRateScale
            }
        }
        set {
            require(newValue >= 0, "Optimizer: negative learning rate \(newValue)")
            switch base {
            case .constant:
                base = .constant(newValue)
                learningRateScale = 1
            case .schedule(let schedule):
                let scheduled = schedule.learningRate(at: iterations)
                learningRateScale = scheduled > 0 ? newValue / scheduled : 1
            }
        }
    }
}

extension Optimizer {
    public func initialSlot(_ slot: Int, for parameter: Tensor) -> Tensor {
        Tensor.zeros(parameter.shape, device: parameter.device)
    }

    /// The learning rate the next step uses; see ``OptimizerState/learningRate``.
    public var learningRate: Float {
        get { state.learningRate }
        set { state.learningRate = newValue }
    }

    /// The schedule of the learning rate, if it has one.
    public var schedule: (any LearningRateSchedule)? {
        if case .schedule(let schedule) = state.base { return schedule }
        return nil
    }

    /// Decoupled weight decay and clipping.
    public var options: OptimizerOptions {
        get { state.options }
        set { state.options = newValue }
    }

    /// The hooks run on the gradients before each update.
    public var gradientHooks: [any GradientHook] {
        get { state.gradientHooks }
        set { state.gradientHooks = newValue }
    }

    /// The number of steps taken.
    public var iterations: Int { state.iterations }

    /// Updates every trainable parameter of `model` from its gradient, then clears the gradients.
    ///
    /// - Throws: what a gradient hook throws (the parameters are then left unchanged).
    public func step(_ model: Layer) throws { try step(model.trainableParameters()) }

    /// Updates `parameters` from their gradients (those without one are skipped), then clears them.
    ///
    /// - Throws: what a gradient hook throws (the parameters are then left unchanged).
    public func step(_ parameters: [Parameter]) throws {
        let state = self.state
        let rate = state.learningRate
        let options = state.options
        try withoutGradients {
            let withGradients = parameters.filter { $0.gradient != nil }
            var gradients = withGradients.compactMap { $0.gradient?.contiguous() }
            for hook in state.gradientHooks {
                gradients = try hook.process(gradients, of: withGradients)
                require(
                    gradients.count == withGradients.count
                        && zip(gradients, withGradients).allSatisfy { $0.shape == $1.value.shape },
                    "GradientHook \(type(of: hook)): must return one gradient per parameter, of its shape")
                gradients = gradients.map { $0.contiguous() }
            }
            state.iterations += 1
            if let clipValue = options.clipValue {
                gradients = gradients.map { $0.clamp(min: -clipValue, max: clipValue) }
            }
            if let clipNorm = options.clipNorm {
                gradients = gradients.map { g in
                    let norm = g.square().sum().item().squareRoot()
                    return norm > clipNorm ? g * (clipNorm / norm) : g
                }
            }
            if let globalClipNorm = options.globalClipNorm {
                let total = gradients.reduce(Float(0)) { $0 + $1.square().sum().item() }.squareRoot()
                if total > globalClipNorm { gradients = gradients.map { $0 * (globalClipNorm / total) } }
            }
            for (parameter, gradient) in zip(withGradients, gradients) {
                let key = ObjectIdentifier(parameter)
                let slots = state.slots[key] ?? (0..<slotCount).map { initialSlot($0, for: parameter.value) }
                state.slots[key] = slots
                update(parameter.value, gradient: gradient, slots: slots, learningRate: rate, step: state.iterations)
                parameter.value.zeroGradient()
            }
        }
    }

    /// The optimizer's state tensors for `parameter`, for checkpoints.
    public func slots(for parameter: Parameter) -> [Tensor] { state.slots[ObjectIdentifier(parameter)] ?? [] }

    /// Restores the state tensors of `parameter`, from a checkpoint.
    public func restore(slots: [Tensor], for parameter: Parameter) { state.slots[ObjectIdentifier(parameter)] = slots }

    /// Sets the step count (when resuming from a checkpoint).
    public func restore(iterations: Int) { state.iterations = iterations }
}
