import Nabla

/// The base class of optimizers: learning rate (constant or scheduled), gradient clipping,
/// decoupled weight decay, and per-parameter state.
///
/// ``step(_:)`` updates every trainable parameter of a model from its gradient, in place, then
/// clears the gradients, so a custom loop is `loss.backward(); optimizer.step(model)`.
open class Optimizer: @unchecked Sendable {
    /// The learning rate used when no schedule is set; the schedule's value otherwise.
    public var learningRate: Float
    /// A schedule of the learning rate by step, if any.
    public var schedule: (any LearningRateSchedule)?
    /// Decoupled weight decay: `p -= learningRate · weightDecay · p` each step.
    public var weightDecay: Float
    /// Clips each gradient element to `±clipValue`.
    public var clipValue: Float?
    /// Rescales each parameter's gradient to at most this L2 norm (Keras `clipnorm`).
    public var clipNorm: Float?
    /// Rescales all gradients together to at most this global L2 norm (Keras `global_clipnorm`).
    public var globalClipNorm: Float?
    /// The number of steps taken.
    public private(set) var iterations = 0
    private var states: [ObjectIdentifier: [Tensor]] = [:]

    public init(
        learningRate: Float, weightDecay: Float = 0, clipValue: Float? = nil, clipNorm: Float? = nil,
        globalClipNorm: Float? = nil, schedule: (any LearningRateSchedule)? = nil
    ) {
        require(learningRate >= 0, "Optimizer: negative learning rate \(learningRate)")
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.clipValue = clipValue
        self.clipNorm = clipNorm
        self.globalClipNorm = globalClipNorm
        self.schedule = schedule
    }

    /// The learning rate the next step uses.
    public var currentLearningRate: Float { schedule?.learningRate(at: iterations) ?? learningRate }

    /// The number of state tensors per parameter, each shaped like the parameter, zero at start.
    open var stateCount: Int { 0 }

    /// Returns the initial value of state slot `slot` for a parameter of `shape`.
    open func initialState(slot: Int, shape: [Int]) -> Tensor { Tensor.zeros(shape) }

    /// Updates one parameter in place from its (clipped) gradient; `step` counts from 1.
    open func update(_ parameter: Tensor, gradient: Tensor, state: [Tensor], learningRate: Float, step: Int) {}

    /// Updates every trainable parameter of `model` from its gradient, then clears the gradients.
    public func step(_ model: Layer) { step(model.trainableParameters()) }

    /// Updates `parameters` from their gradients (those without one are skipped), then clears them.
    public func step(_ parameters: [Parameter]) {
        let rate = currentLearningRate
        iterations += 1
        withoutGradients {
            var pairs: [(Parameter, Tensor)] = parameters.compactMap { p in p.gradient.map { (p, $0.contiguous()) } }
            if let clipValue { pairs = pairs.map { ($0.0, $0.1.clamp(min: -clipValue, max: clipValue)) } }
            if let clipNorm {
                pairs = pairs.map { p, g in
                    let norm = g.square().sum().item().squareRoot()
                    return (p, norm > clipNorm ? g * (clipNorm / norm) : g)
                }
            }
            if let globalClipNorm {
                let total = pairs.reduce(Float(0)) { $0 + $1.1.square().sum().item() }.squareRoot()
                if total > globalClipNorm { pairs = pairs.map { ($0.0, $0.1 * (globalClipNorm / total)) } }
            }
            for (parameter, gradient) in pairs {
                let key = ObjectIdentifier(parameter)
                let shape = parameter.value.shape
                let state = states[key] ?? (0..<stateCount).map { initialState(slot: $0, shape: shape) }
                states[key] = state
                update(parameter.value, gradient: gradient, state: state, learningRate: rate, step: iterations)
                parameter.value.zeroGradient()
            }
        }
    }

    /// The optimizer's state tensors by parameter, for checkpoints.
    public func stateTensors(for parameter: Parameter) -> [Tensor] { states[ObjectIdentifier(parameter)] ?? [] }

    /// Restores state tensors and the step count, from a checkpoint.
    public func restore(state: [Tensor], for parameter: Parameter) { states[ObjectIdentifier(parameter)] = state }

    /// Sets the step count (when resuming from a checkpoint).
    public func restore(iterations: Int) { self.iterations = iterations }
}
