import Foundation
import Nabla

/// A layer that can be trained: `compile`, then `fit`, `evaluate` and `predict`, Keras style.
///
/// Subclass it (overriding ``Layer/build(inputShape:)`` and ``Layer/forward(_:)``) for models
/// that branch; ``Sequential`` covers a plain stack.
open class Model: Layer {
    /// The optimizer set by ``compile(optimizer:loss:metrics:)``.
    public private(set) var optimizer: Optimizer?
    /// The loss set by ``compile(optimizer:loss:metrics:)``.
    public private(set) var loss: (any Loss)?
    /// The metrics tracked besides the loss.
    public private(set) var metrics: [MetricKind] = []
    /// Set by a callback to end training.
    public var stopTraining = false

    /// Sets how the model trains.
    public func compile(optimizer: Optimizer, loss: any Loss, metrics: [MetricKind] = []) {
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
    }

    /// Checks that `x` fits the model's input, building the model for it if needed.
    func checkInput(_ x: Tensor, _ what: String) throws {
        guard x.rank >= 2 else {
            throw NablaError(.invalidArgument, "\(what) must have a batch dimension, got shape \(x.shape)")
        }
        let shape = Array(x.shape.dropFirst())
        if inputShape == nil { ensureBuilt(inputShape: shape) }
        let first = children.first ?? self
        if let inputShape, inputShape != shape {
            throw NablaError(
                .invalidArgument,
                "\(what) of shape \(x.shape) does not fit the first layer '\(first.name)', which expects [batch, \(inputShape.map(String.init).joined(separator: ", "))]"
            )
        }
    }

    /// Trains the model on `x` and `y` for `epochs` passes in mini-batches of `batchSize`.
    ///
    /// Each epoch shuffles the examples (with `seed`, the same order every run), runs the model in
    /// training mode, and ends with the metrics of the whole epoch and, when validation data is
    /// given (or split off: the last `validationSplit` of the examples, before shuffling), the same
    /// metrics on it as `val_*`. `classWeights` scale each example's loss by its class.
    ///
    /// - Throws: ``NablaError`` before training when the data does not fit the model or the loss
    ///   (shapes, counts, labels out of range), or when the model was not compiled; errors that
    ///   callbacks throw.
    @discardableResult
    public func fit(
        x: Tensor, y: Tensor, batchSize: Int = 32, epochs: Int = 1, validationData: (x: Tensor, y: Tensor)? = nil,
        validationSplit: Float = 0, shuffle: Bool = true, classWeights: [Int: Float]? = nil,
        callbacks: [any Callback] = [], verbose: ProgressDisplay.Mode = .automatic, seed: UInt64? = nil
    ) throws -> History {
        guard let optimizer, let loss else {
            throw NablaError(.invalidArgument, "\(name): call compile(optimizer:loss:metrics:) before fit")
        }
        guard batchSize > 0, epochs >= 0 else {
            throw NablaError(.invalidArgument, "fit: batchSize \(batchSize) and epochs \(epochs) must be positive")
        }
        guard x.shape.first == y.shape.first else {
            throw NablaError(.invalidArgument, "fit: \(x.shape.first ?? 0) inputs but \(y.shape.first ?? 0) targets")
        }
        var (trainX, trainY) = (x, y)
        var validation = validationData
        if validationSplit > 0 {
            guard validationSplit < 1 else {
                throw NablaError(.invalidArgument, "fit: validationSplit \(validationSplit) must be in [0, 1)")
            }
            let n = x.shape[0], held = Int(Float(n) * validationSplit)
            trainX = x.slice(axis: 0, end: n - held)
            trainY = y.slice(axis: 0, end: n - held)
            validation = (x.slice(axis: 0, start: n - held), y.slice(axis: 0, start: n - held))
        }
        (trainX, trainY) = (trainX.contiguous(), trainY.contiguous())
        try checkInput(trainX, "training input")
        let outputShape = self.outputShape ?? []
        try loss.validate(targets: trainY, outputShape: outputShape)
        if let validation {
            try checkInput(validation.x, "validation input")
            try loss.validate(targets: validation.y, outputShape: outputShape)
        }
        let shuffler = RandomGenerator(seed: seed.map { $0 &+ 0x9E37_79B9 } ?? UInt64.random(in: 0...UInt64.max))
        let weights = classWeights.map { sampleWeights(trainY, $0) }
        let n = trainX.shape[0]
        let steps = (n + batchSize - 1) / batchSize
        let evaluation = validation.map { v in { try self.evaluate(x: v.x, y: v.y, batchSize: batchSize) } }
        return try train(
            epochs: epochs, steps: steps, validation: evaluation, callbacks: callbacks, verbose: verbose, seed: seed
        ) { _ in
            let order = shuffle ? shuffler.permutation(n) : Array(0..<n)
            var step = 0
            return {
                guard step < steps else { return nil }
                defer { step += 1 }
                let indices = Tensor(order[(step * batchSize)..<Swift.min(n, (step + 1) * batchSize)].map(Int64.init))
                return (trainX.gathered(indices), trainY.gathered(indices), weights?.gathered(indices))
            }
        }
    }

    /// One training batch: inputs, targets and optional per-example loss weights.
    typealias TrainingBatch = (x: Tensor, y: Tensor, weights: Tensor?)

    /// The loop shared by every `fit`: `batches(epoch)` returns a function giving that epoch's
    /// batches in turn (nil after the last).
    func train(
        epochs: Int, steps: Int?, validation: (() throws -> [String: Double])?, callbacks: [any Callback],
        verbose: ProgressDisplay.Mode, seed: UInt64?, batches: (Int) throws -> () throws -> TrainingBatch?
    ) throws -> History {
        guard let optimizer, let loss else {
            throw NablaError(.invalidArgument, "\(name): call compile(optimizer:loss:metrics:) before fit")
        }
        guard let seed else {
            return try trainEpochs(epochs, steps, validation, callbacks, verbose, optimizer, loss, batches)
        }
        return try Random.withSeed(seed) {
            try trainEpochs(epochs, steps, validation, callbacks, verbose, optimizer, loss, batches)
        }
    }

    private func trainEpochs(
        _ epochs: Int, _ steps: Int?, _ validation: (() throws -> [String: Double])?, _ callbacks: [any Callback],
        _ verbose: ProgressDisplay.Mode, _ optimizer: Optimizer, _ loss: any Loss,
        _ batches: (Int) throws -> () throws -> TrainingBatch?
    ) throws -> History {
        let display = ProgressDisplay(mode: verbose, epochs: epochs, steps: steps ?? 0)
        var history = History()
        stopTraining = false
        for callback in callbacks { try callback.onTrainBegin(model: self) }
        for epoch in 0..<epochs where !stopTraining {
            for callback in callbacks { try callback.onEpochBegin(epoch, model: self) }
            display.beginEpoch(epoch)
            isTraining = true
            let counts = ClassificationCounts(topKs: topKs)
            var lossSum = 0.0
            var seen = 0
            let next = try batches(epoch)
            var step = 0
            while !stopTraining, let (xb, yb, weights) = try next() {
                let predictions = self(xb)
                let batchLoss = loss(predictions, yb, sampleWeights: weights)
                batchLoss.backward()
                optimizer.step(self)
                let value = Double(batchLoss.item())
                lossSum += value * Double(xb.shape[0])
                seen += xb.shape[0]
                if !metrics.isEmpty { counts.update(predictions: predictions.detached(), targets: yb) }
                var logs = ["loss": lossSum / Double(seen)]
                for metric in metrics { for (k, v) in metric.values(counts) { logs[k] = v } }
                logs["batch_loss"] = value
                display.update(step: step + 1, logs: logs)
                for callback in callbacks { try callback.onBatchEnd(step, logs: logs, model: self) }
                step += 1
            }
            isTraining = false
            var logs = ["loss": lossSum / Double(Swift.max(seen, 1))]
            for metric in metrics { for (k, v) in metric.values(counts) { logs[k] = v } }
            if let validation { for (k, v) in try validation() { logs["val_" + k] = v } }
            logs["learning_rate"] = Double(optimizer.currentLearningRate)
            history.epochs.append(logs)
            display.endEpoch(epoch, logs: logs)
            for callback in callbacks { try callback.onEpochEnd(epoch, logs: logs, model: self) }
        }
        for callback in callbacks { try callback.onTrainEnd(model: self) }
        return history
    }

    private var topKs: [Int] { metrics.compactMap { if case .topKAccuracy(let k) = $0 { k } else { nil } } }

    /// Returns the loss and metrics of the model on `x` and `y`, in inference mode.
    ///
    /// - Throws: ``NablaError`` when the data does not fit the model or the loss.
    public func evaluate(x: Tensor, y: Tensor, batchSize: Int = 32) throws -> [String: Double] {
        guard let loss else { throw NablaError(.invalidArgument, "\(name): call compile before evaluate") }
        try checkInput(x, "evaluation input")
        try loss.validate(targets: y, outputShape: outputShape ?? [])
        var start = 0
        return try evaluate(loss) {
            guard start < x.shape[0] else { return nil }
            let end = Swift.min(x.shape[0], start + batchSize)
            defer { start = end }
            return (x.slice(axis: 0, start: start, end: end), y.slice(axis: 0, start: start, end: end))
        }
    }

    /// Returns the loss and metrics over the batches `next` gives, in inference mode.
    func evaluate(_ loss: any Loss, _ next: () throws -> (x: Tensor, y: Tensor)?) throws -> [String: Double] {
        let counts = ClassificationCounts(topKs: topKs)
        var lossSum = 0.0
        var n = 0
        let wasTraining = isTraining
        isTraining = false
        defer { isTraining = wasTraining }
        try withoutGradients {
            while let (xb, yb) = try next() {
                let predictions = self(xb)
                lossSum += Double(loss.perExample(predictions, yb).sum().item())
                n += xb.shape[0]
                if !metrics.isEmpty { counts.update(predictions: predictions, targets: yb) }
            }
        }
        var logs = ["loss": lossSum / Double(Swift.max(n, 1))]
        for metric in metrics { for (k, v) in metric.values(counts) { logs[k] = v } }
        return logs
    }

    /// Returns the model's outputs for `x`, computed in batches in inference mode.
    ///
    /// - Throws: ``NablaError`` when `x` does not fit the model.
    public func predict(_ x: Tensor, batchSize: Int = 32) throws -> Tensor {
        try checkInput(x, "prediction input")
        let wasTraining = isTraining
        isTraining = false
        defer { isTraining = wasTraining }
        return withoutGradients {
            let parts = stride(from: 0, to: x.shape[0], by: batchSize).map { start in
                self(x.slice(axis: 0, start: start, end: Swift.min(x.shape[0], start + batchSize)))
            }
            return parts.count == 1 ? parts[0] : concat(parts, axis: 0)
        }
    }

    /// Returns the weight of each example from its class (sparse labels or one-hot rows).
    private func sampleWeights(_ y: Tensor, _ classWeights: [Int: Float]) -> Tensor {
        let classes: [Int64] =
            y.dtype == .float32 && y.rank == 2
            ? y.argmax(axis: 1).toArray(Int64.self) : y.asType(.int64).toArray(Int64.self)
        return Tensor(classes.map { classWeights[Int($0)] ?? 1 })
    }

    /// Returns copies of every parameter's value, by name (for restoring the best weights).
    public func weightsSnapshot() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, p) in parameters() { out[name] = withoutGradients { p.value.detached() * 1 } }
        return out
    }

    /// Restores parameter values from a snapshot taken with ``weightsSnapshot()``.
    public func restore(_ snapshot: [String: Tensor]) {
        for (name, p) in parameters() { if let value = snapshot[name] { p.value.assign(value) } }
    }
}
