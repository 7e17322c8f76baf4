import Foundation
import Nabla

// The one training path: `fit`, `evaluate` and `predict` over any `BatchSource` (in-memory tensors,
// the data loader, the streaming loader). Loss sums and metric counts accumulate on the device
// and are read back only when logs are needed (the end of an epoch, a progress redraw, or a
// callback that asks for every batch), so a GPU is not made to wait after every batch.

extension Model {
    /// Trains the model on the batches of `data` until epoch `epochs`: Keras's `fit(dataset)`.
    ///
    /// Epoch `e` (from `initialEpoch`, 0-based) trains on `data.makeEpoch(e)`. The model's own
    /// randomness in epoch `e` (dropout, augmentation layers) comes from a generator seeded by
    /// `(seed, e)`, so a run resumed at an epoch boundary (``loadCheckpoint(from:)``, then `fit` with
    /// its `initialEpoch` and `seed`) repeats the uninterrupted run bit for bit. Without `seed`, one
    /// is drawn from the current generator. Validation data, when given, is evaluated after each
    /// epoch as `val_*`.
    ///
    /// - Throws: `NablaError` when the model was not compiled, a batch does not fit the model or
    ///   the loss (naming the batch), a batch cannot be read (naming the file and example), or a
    ///   callback or gradient hook throws.
    @discardableResult
    public func fit(
        _ data: some BatchSource, epochs: Int = 1, initialEpoch: Int = 0, validationData: (any BatchSource)? = nil,
        callbacks: [any Callback] = [], verbose: ProgressDisplay.Mode = .automatic, seed: UInt64? = nil
    ) throws -> History {
        guard let optimizer, let loss else {
            throw NablaError(.invalidArgument, "\(name): call compile(optimizer:loss:metrics:) before fit")
        }
        guard epochs >= 0, (0...max(epochs, 0)).contains(initialEpoch) else {
            throw NablaError(
                .invalidArgument,
                "fit: epochs \(epochs) and initialEpoch \(initialEpoch) must satisfy 0 ≤ initialEpoch ≤ epochs")
        }
        // Targets held in memory are checked once, before anything trains.
        let checks = TargetChecks(
            training: try checkTargets(of: data, loss),
            validation: try validationData.map { try checkTargets(of: $0, loss) } ?? false)
        let seed = seed ?? RandomGenerator.current.nextSeed()
        // A resumed run continues the history of the checkpoint it was loaded from.
        let prior = progress.flatMap { $0.seed == seed && $0.epochs == initialEpoch ? $0.history : nil }
        progress = TrainingProgress(seed: seed, epochs: initialEpoch, history: prior ?? History())
        guard let group = processGroup else {
            return try trainEpochs(
                initialEpoch..<epochs, data, validationData, checks, callbacks, verbose, optimizer, loss, seed)
        }
        return try trainEpochs(
            initialEpoch..<epochs, group.shard(data), validationData, checks, callbacks,
            group.rank == 0 ? verbose : .silent, optimizer, loss, seed)
    }

    /// Returns the loss and metrics over one pass of `data`, in inference mode.
    ///
    /// - Throws: `NablaError` when the model was not compiled or a batch does not fit it.
    public func evaluate(_ data: some BatchSource) throws -> [String: Double] {
        guard let loss else { throw NablaError(.invalidArgument, "\(name): call compile before evaluate") }
        return try evaluate(data, loss, checkingEachBatch: try checkTargets(of: data, loss))
    }

    /// Returns the model's outputs for every batch of one pass of `data`, concatenated, in
    /// inference mode (the targets are not used).
    ///
    /// - Throws: `NablaError` when a batch does not fit the model or cannot be read.
    public func predict(_ data: some BatchSource) throws -> Tensor {
        let wasTraining = isTraining
        isTraining = false
        defer { isTraining = wasTraining }
        let stream = data.makeEpoch(0)
        var parts: [Tensor] = []
        var index = 0
        try withoutGradients {
            while let batch = try stream.next() {
                try checkBatch(batch, index, "prediction")
                parts.append(try checkedCall(batch.inputs))
                index += 1
            }
        }
        guard !parts.isEmpty else { throw NablaError(.invalidArgument, "predict: the data holds no examples") }
        return parts.count == 1 ? parts[0] : concat(parts, axis: 0)
    }

    /// The classes the metrics count: the output's last dimension, two for one sigmoid output,
    /// none without metrics.
    private var countedClasses: Int {
        guard !metrics.isEmpty, let last = outputShape?.last else { return 0 }
        return last == 1 ? 2 : last
    }

    /// The metric names' top-k values.
    private var topKs: [Int] { metrics.compactMap { if case .topKAccuracy(let k) = $0 { k } else { nil } } }

    /// Checks a batch's inputs against the model (shapes only: no data is read).
    private func checkBatch(_ batch: TrainingBatch, _ index: Int, _ what: String) throws {
        guard batch.inputs.dtype == .float32 || convertsIntegerInputs else {
            throw NablaError(
                .invalidArgument,
                "\(what) batch \(index) holds \(batch.inputs.dtype) values but the model's first layer takes float32; start the model with Rescaling(scale: 1.0 / 255), which takes raw 0–255 pixels (Nabla's convention: data stays raw, the model rescales)"
            )
        }
        try checkInput(batch.inputs, "\(what) batch \(index)")
        if inputSpec == nil {
            inputSpec = InputSpec(shape: Array(batch.inputs.shape.dropFirst()), dtype: batch.inputs.dtype)
        }
    }

    /// Refuses training data already scaled to [0, 1] for a model that rescales raw 0–255 pixels
    /// itself: the double scaling that trains without error and silently loses accuracy.
    private func checkScaling(_ batch: TrainingBatch) throws {
        guard batch.inputs.dtype == .float32, let first = firstLayer as? Rescaling, first.scale > 0,
            first.scale <= 1.0 / 100
        else { return }
        let largest = withoutGradients { batch.inputs.max().item() }
        guard largest <= 1 else { return }
        throw NablaError(
            .invalidArgument,
            "training batch 0 holds values in [0, 1] (largest \(largest)), but the model's first layer '\(first.name)' multiplies by \(first.scale) itself and so expects raw 0–255 pixels; remove Rescale() from the data's transforms (Nabla's convention: data stays raw, the model rescales)"
        )
    }

    /// Whether each batch's targets must still be checked, for training and validation data.
    private struct TargetChecks {
        let training: Bool
        let validation: Bool
    }

    /// Checks the targets once when the source holds them all; returns whether each batch's
    /// targets must still be checked (streamed sources, read on the host as they arrive).
    private func checkTargets(of data: some BatchSource, _ loss: any Loss) throws -> Bool {
        guard let targets = data.allTargets else { return true }
        try loss.validate(targets: targets, outputShape: outputShape ?? [])
        return false
    }

    private func trainEpochs(
        _ epochs: Range<Int>, _ data: some BatchSource, _ validation: (any BatchSource)?, _ checks: TargetChecks,
        _ callbacks: [any Callback], _ verbose: ProgressDisplay.Mode, _ optimizer: any Optimizer, _ loss: any Loss,
        _ seed: UInt64
    ) throws -> History {
        let display = ProgressDisplay(mode: verbose, epochs: epochs.upperBound, steps: data.batchesPerEpoch ?? 0)
        let batchLogs = callbacks.contains { $0.wantsBatchLogs }
        var history = History()
        stopTraining = false
        for callback in callbacks { try callback.onTrainBegin(model: self) }
        for epoch in epochs {
            // A stop ends the loop: filtering the rest would still count through them all.
            if stopTraining { break }
            for callback in callbacks { try callback.onEpochBegin(epoch, model: self) }
            let generator = RandomGenerator(seed: RandomGenerator.derivedSeed(seed, UInt64(epoch), 0x4550_4F43))
            display.beginEpoch(epoch)
            isTraining = true
            let totals = RunningTotals(topKs: topKs)
            let stream = data.makeEpoch(epoch)
            var step = 0
            while !stopTraining, let batch = try stream.next() {
                try checkBatch(batch, step, "training")
                if checks.training { try loss.validate(targets: batch.targets, outputShape: outputShape ?? []) }
                if step == 0 && epoch == epochs.lowerBound { try checkScaling(batch) }
                let predictions = try Random.withGenerator(generator) { try checkedCall(batch.inputs) }
                var batchLoss = loss(predictions, batch.targets, sampleWeights: batch.weights)
                if let penalty = regularizationLoss { batchLoss = batchLoss + penalty }
                if let processGroup { try processGroup.backward(batchLoss) } else { batchLoss.backward() }
                try optimizer.step(self)
                totals.add(loss: batchLoss.detached(), count: batch.inputs.shape[0])
                if !metrics.isEmpty {
                    totals.counts.update(predictions: predictions.detached(), targets: batch.targets)
                }
                step += 1
                // Logs are read from the device only when something will show or use them.
                let logs = batchLogs || display.wantsUpdate(step: step) ? epochLogs(totals, batchLoss: true) : [:]
                if !logs.isEmpty { display.update(step: step, logs: logs) }
                for callback in callbacks {
                    try callback.onBatchEnd(step - 1, logs: callback.wantsBatchLogs ? logs : [:], model: self)
                }
            }
            isTraining = false
            guard step > 0 || stopTraining else {
                throw NablaError(.invalidArgument, "fit: epoch \(epoch) of the training data holds no examples")
            }
            if let processGroup {
                try totals.reduce(over: processGroup, classes: countedClasses)
                try processGroup.averageMovingStatistics(of: self)
            }
            var logs = epochLogs(totals, batchLoss: false)
            if let validation {
                for (k, v) in try evaluate(validation, loss, checkingEachBatch: checks.validation) {
                    logs["val_" + k] = v
                }
            }
            logs["learning_rate"] = Double(optimizer.learningRate)
            history.epochs.append(logs)
            progress?.history.epochs.append(logs)
            progress?.epochs = epoch + 1
            display.endEpoch(epoch, logs: logs)
            for callback in callbacks { try callback.onEpochEnd(epoch, logs: logs, model: self) }
        }
        for callback in callbacks { try callback.onTrainEnd(model: self) }
        return history
    }

    /// Reads the running totals back: the mean loss, the metrics, and (during an epoch) the last
    /// batch's loss as `batch_loss`.
    private func epochLogs(_ totals: RunningTotals, batchLoss: Bool) -> [String: Double] {
        totals.flush()
        var logs = ["loss": totals.lossSum / Double(Swift.max(totals.seen, 1))]
        for metric in metrics { for (k, v) in metric.values(totals.counts) { logs[k] = v } }
        if batchLoss, let last = totals.lastLoss { logs["batch_loss"] = last }
        return logs
    }

    /// Returns the loss and metrics over one pass of `data`, in inference mode.
    private func evaluate(
        _ data: some BatchSource, _ loss: any Loss, checkingEachBatch checksTargets: Bool
    ) throws
        -> [String: Double]
    {
        let totals = RunningTotals(topKs: topKs)
        let wasTraining = isTraining
        isTraining = false
        defer { isTraining = wasTraining }
        let stream = data.makeEpoch(0)
        var index = 0
        try withoutGradients {
            while var batch = try stream.next() {
                // Data-parallel: each rank evaluates its share; the totals are summed below.
                if let processGroup {
                    let rows = processGroup.rows(of: batch.inputs.shape[0])
                    guard !rows.isEmpty else { continue }
                    batch = batch.rows(rows)
                }
                try checkBatch(batch, index, "evaluation")
                if checksTargets { try loss.validate(targets: batch.targets, outputShape: outputShape ?? []) }
                let predictions = try checkedCall(batch.inputs)
                var lossSum = loss.perExample(predictions, batch.targets).sum()
                if let penalty = regularizationLoss { lossSum = lossSum + penalty * Float(batch.inputs.shape[0]) }
                totals.add(lossSum: lossSum, count: batch.inputs.shape[0])
                if !metrics.isEmpty { totals.counts.update(predictions: predictions, targets: batch.targets) }
                index += 1
            }
        }
        if let processGroup { try totals.reduce(over: processGroup, classes: countedClasses) }
        return epochLogs(totals, batchLoss: false)
    }
}

/// Loss sums kept on the device until read: the batch values are gathered and read in one go by
/// ``flush()``, and summed in double, in order.
final class RunningTotals {
    let counts: ClassificationCounts
    private(set) var lossSum = 0.0
    private(set) var seen = 0
    private(set) var lastLoss: Double?
    /// Per-batch values not read yet: a mean loss (weighted by the batch size) or a loss sum.
    private var pending: [(value: Tensor, weight: Double)] = []

    init(topKs: [Int]) { counts = ClassificationCounts(topKs: topKs) }

    /// Adds a batch's mean loss.
    func add(loss: Tensor, count: Int) {
        pending.append((loss, Double(count)))
        seen += count
    }

    /// Adds a batch's summed loss.
    func add(lossSum: Tensor, count: Int) {
        pending.append((lossSum, 1))
        seen += count
    }

    /// Replaces the totals (the sums over processes of data-parallel training).
    func replace(lossSum: Double, seen: Int) { (self.lossSum, self.seen) = (lossSum, seen) }

    /// Reads the pending values back and adds them up.
    func flush() {
        guard !pending.isEmpty else { return }
        let values = pending.count == 1 ? pending[0].value.toArray() : stack(pending.map(\.value)).toArray()
        for (value, (_, weight)) in zip(values, pending) { lossSum += Double(value) * weight }
        if let last = values.last { lastLoss = Double(last) }
        pending.removeAll(keepingCapacity: true)
    }
}
