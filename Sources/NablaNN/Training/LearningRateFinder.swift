import Foundation
import Nabla

/// What a learning-rate search found: the loss after each step at each rate, and a rate to use.
public struct LearningRateSearch: Sendable, Codable, Equatable {
    /// The rate of each step, growing exponentially.
    public var rates: [Float]
    /// Each step's batch loss.
    public var losses: [Double]
    /// The losses smoothed (an exponential moving average with bias correction), as plotted.
    public var smoothed: [Double]
    /// The rate with the lowest smoothed loss.
    public var minimumRate: Float
    /// The rate where the smoothed loss falls fastest (against the logarithm of the rate), before
    /// the minimum.
    public var steepestRate: Float
    /// The suggested rate: the geometric mean of ``steepestRate`` and a tenth of ``minimumRate``
    /// (the two usual rules of thumb, the first cautious and the second bold), or the lower of
    /// them where the steepest fall comes after a tenth of the minimum.
    public var suggestion: Float
}

extension Model {
    /// Sweeps the learning rate exponentially from `start` to `end` over at most `steps` training
    /// steps (Smith's range test, as fastai's `lr_find`), then puts the weights and the
    /// optimizer back as they were.
    ///
    /// The sweep stops early once the smoothed loss exceeds four times its minimum. The model
    /// must be compiled; the data is read from its first epoch on.
    ///
    /// - Throws: `NablaError` (`.invalidArgument`) for a model that is not compiled, a range
    ///   that is not increasing and positive, or data without examples; what `fit` throws.
    public func findLearningRate(
        _ data: some BatchSource, from start: Float = 1e-7, to end: Float = 10, steps: Int = 100, seed: UInt64 = 0
    ) throws -> LearningRateSearch {
        guard let optimizer else {
            throw NablaError(.invalidArgument, "\(name): call compile(optimizer:loss:metrics:) before findLearningRate")
        }
        guard start > 0, end > start, end.isFinite, steps >= 2 else {
            throw NablaError(
                .invalidArgument,
                "findLearningRate: needs 0 < start < end and at least 2 steps, got \(start), \(end), \(steps)")
        }
        let state = optimizer.state
        let saved = (state.slots, state.iterations, state.base, state.learningRateScale)
        let savedProgress = progress
        let values = withoutGradients { parameters().map { ($0.parameter, $0.parameter.value * 1) } }
        defer {
            (state.slots, state.iterations, state.base, state.learningRateScale) = saved
            withoutGradients { for (parameter, value) in values { parameter.value.assign(value) } }
            stopTraining = false
            progress = savedProgress
        }
        state.base = .constant(start)
        state.learningRateScale = 1
        let sweep = RangeTest(start: start, end: end, steps: steps)
        let epochs = max(1, (steps + (data.batchesPerEpoch ?? steps) - 1) / max(1, data.batchesPerEpoch ?? steps))
        _ = try fit(data, epochs: epochs, callbacks: [sweep], verbose: .silent, seed: seed)
        guard let best = sweep.smoothed.indices.min(by: { sweep.smoothed[$0] < sweep.smoothed[$1] }) else {
            throw NablaError(.invalidArgument, "findLearningRate: the data gave no training step")
        }
        // The fall over a window of five steps, so one noisy batch does not decide it.
        let window = 5
        var steepest = 0
        var fastest = 0.0
        for i in stride(from: window, through: best, by: 1) {
            let fall =
                (sweep.smoothed[i] - sweep.smoothed[i - window]) / Double(log(sweep.rates[i] / sweep.rates[i - window]))
            if fall < fastest { (fastest, steepest) = (fall, i) }
        }
        let (steepestRate, bold) = (sweep.rates[steepest], sweep.rates[best] / 10)
        return LearningRateSearch(
            rates: sweep.rates, losses: sweep.losses, smoothed: sweep.smoothed, minimumRate: sweep.rates[best],
            steepestRate: steepestRate, suggestion: steepestRate < bold ? (steepestRate * bold).squareRoot() : bold)
    }
}

/// The callback behind ``Model/findLearningRate(_:from:to:steps:seed:)``: records each step's
/// loss and raises the rate for the next.
final class RangeTest: Callback {
    let start: Float, factor: Float, steps: Int
    var rates: [Float] = [], losses: [Double] = [], smoothed: [Double] = []
    private var average = 0.0

    var wantsBatchLogs: Bool { true }

    init(start: Float, end: Float, steps: Int) {
        (self.start, self.steps) = (start, steps)
        factor = Float(pow(Double(end / start), 1 / Double(steps - 1)))
    }

    func onBatchEnd(_ batch: Int, logs: [String: Double], model: Model) throws {
        guard let loss = logs["batch_loss"], let optimizer = model.optimizer else { return }
        rates.append(optimizer.learningRate)
        losses.append(loss)
        average = 0.98 * average + 0.02 * loss
        let value = average / (1 - pow(0.98, Double(losses.count)))
        smoothed.append(value)
        if losses.count >= steps || !value.isFinite || value > 4 * (smoothed.min() ?? value) {
            model.stopTraining = true
        } else {
            optimizer.learningRate = start * pow(factor, Float(losses.count))
        }
    }
}
