import Foundation

/// A learning rate as a function of the optimizer step (0-based).
public protocol LearningRateSchedule: Sendable {
    /// Returns the learning rate for step `step`.
    func learningRate(at step: Int) -> Float
}

/// Multiplies the rate by `factor` every `stepSize` steps: `initial · factor^⌊step / stepSize⌋`.
public struct StepDecay: LearningRateSchedule {
    public var initial: Float, stepSize: Int, factor: Float
    public init(initial: Float, stepSize: Int, factor: Float = 0.1) {
        (self.initial, self.stepSize, self.factor) = (initial, Swift.max(stepSize, 1), factor)
    }
    public func learningRate(at step: Int) -> Float { initial * pow(factor, Float(step / stepSize)) }
}

/// `initial · rate^(step / decaySteps)`, with the exponent floored when `staircase`.
public struct ExponentialDecay: LearningRateSchedule {
    public var initial: Float, decaySteps: Int, rate: Float, staircase: Bool
    public init(initial: Float, decaySteps: Int, rate: Float, staircase: Bool = false) {
        (self.initial, self.decaySteps, self.rate, self.staircase) = (
            initial, Swift.max(decaySteps, 1), rate, staircase
        )
    }
    public func learningRate(at step: Int) -> Float {
        let p = Float(step) / Float(decaySteps)
        return initial * pow(rate, staircase ? p.rounded(.down) : p)
    }
}

/// Cosine decay from `initial` to `initial · alpha` over `decaySteps`, after an optional linear
/// warm-up of `warmupSteps` from 0. - Paper: https://arxiv.org/abs/1608.03983
public struct CosineDecay: LearningRateSchedule {
    public var initial: Float, decaySteps: Int, alpha: Float, warmupSteps: Int
    public init(initial: Float, decaySteps: Int, alpha: Float = 0, warmupSteps: Int = 0) {
        (self.initial, self.decaySteps, self.alpha, self.warmupSteps) = (
            initial, Swift.max(decaySteps, 1), alpha, warmupSteps
        )
    }
    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return initial * Float(step + 1) / Float(warmupSteps) }
        let t = Swift.min(Float(step - warmupSteps) / Float(decaySteps), 1)
        return initial * ((1 - alpha) * 0.5 * (1 + cos(Float.pi * t)) + alpha)
    }
}

/// Linear warm-up from 0 to the wrapped schedule's rate over `warmupSteps`, then that schedule
/// (shifted by the warm-up).
public struct WarmUp: LearningRateSchedule {
    public var warmupSteps: Int
    public var after: any LearningRateSchedule
    public init(warmupSteps: Int, then after: any LearningRateSchedule) {
        (self.warmupSteps, self.after) = (warmupSteps, after)
    }
    public func learningRate(at step: Int) -> Float {
        step < warmupSteps
            ? after.learningRate(at: 0) * Float(step + 1) / Float(warmupSteps)
            : after.learningRate(at: step - warmupSteps)
    }
}

/// The one-cycle policy: cosine rise from `maximum / divFactor` to `maximum` over the first
/// `percentStart` of `totalSteps`, then cosine fall to `maximum / (divFactor · finalDivFactor)`.
/// - Paper: https://arxiv.org/abs/1708.07120
public struct OneCycle: LearningRateSchedule {
    public var maximum: Float, totalSteps: Int, percentStart: Float, divFactor: Float, finalDivFactor: Float
    public init(
        maximum: Float, totalSteps: Int, percentStart: Float = 0.3, divFactor: Float = 25, finalDivFactor: Float = 1e4
    ) {
        (self.maximum, self.totalSteps, self.percentStart) = (maximum, Swift.max(totalSteps, 2), percentStart)
        (self.divFactor, self.finalDivFactor) = (divFactor, finalDivFactor)
    }
    public func learningRate(at step: Int) -> Float {
        let start = maximum / divFactor, end = start / finalDivFactor
        let peak = Swift.max(Float(totalSteps - 1) * percentStart, 1)
        let s = Float(Swift.min(step, totalSteps - 1))
        func anneal(_ from: Float, _ to: Float, _ t: Float) -> Float {
            to + (from - to) * 0.5 * (1 + cos(Float.pi * t))
        }
        return s <= peak
            ? anneal(start, maximum, s / peak)
            : anneal(maximum, end, (s - peak) / Swift.max(Float(totalSteps - 1) - peak, 1))
    }
}
