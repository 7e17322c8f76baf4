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
        guard let seed else {
            return try train(
                trainX, trainY, validation, optimizer, loss, batchSize, epochs, shuffle, classWeights, callbacks,
                verbose, nil)
        }
        return try Random.withSeed(seed) {
            try train(
                trainX, trainY, validation, optimizer, loss, batchSize, epochs, shuffle, classWeights, callbacks,
                verbose, seed)
        }
    }

    private func train(
        _ trainX: Tensor, _ trainY: Tensor, _ validation: (x: Tensor, y: Tensor)?, _ optimizer: Optimizer,
        _ loss: any Loss,
        _ batchSize: Int, _ epochs: Int, _ shuffle: Bool, _ classWeights: [Int: Float]?, _ callbacks: [any Callback],
        _ verbose: ProgressDisplay.Mode, _ seed: UInt64?
    ) throws -> History {
        let shuffler = RandomGenerator(seed: seed.map { $0 &+ 0x9E37_79B9 } ?? UInt64.random(in: 0...UInt64.max))
        let weights = classWeights.map { sampleWeights(trainY, $0) }
        let n = trainX.shape[0]
        let steps = (n + batchSize - 1) / batchSize
        let display = ProgressDisplay(mode: verbose, epochs: epochs, steps: steps)
        var history = History()
        stopTraining = false
        for callback in callbacks { try callback.onTrainBegin(model: self) }
        for epoch in 0..<epochs where !stopTraining {
            for callback in callbacks { try callback.onEpochBegin(epoch, model: self) }
            display.beginEpoch(epoch)
            isTraining = true
            let order = shuffle ? shuffler.permutation(n) : Array(0..<n)
            let counts = ClassificationCounts(topKs: topKs)
            var lossSum = 0.0
            var seen = 0
            for step in 0..<steps where !stopTraining {
                let indices = Tensor(order[(step * batchSize)..<Swift.min(n, (step + 1) * batchSize)].map(Int64.init))
                let (xb, yb) = (trainX.gathered(indices), trainY.gathered(indices))
                let predictions = self(xb)
                let batchLoss = loss(predictions, yb, sampleWeights: weights?.gathered(indices))
                batchLoss.backward()
                optimizer.step(self)
                let value = Double(batchLoss.item())
                lossSum += value * Double(indices.count)
                seen += indices.count
                if !metrics.isEmpty { counts.update(predictions: predictions.detached(), targets: yb) }
                var logs = ["loss": lossSum / Double(seen)]
                for metric in metrics { for (k, v) in metric.values(counts) { logs[k] = v } }
                logs["batch_loss"] = value
                display.update(step: step + 1, logs: logs)
                for callback in callbacks { try callback.onBatchEnd(step, logs: logs, model: self) }
            }
            isTraining = false
            var logs = ["loss": lossSum / Double(Swift.max(seen, 1))]
            for metric in metrics { for (k, v) in metric.values(counts) { logs[k] = v } }
            if let validation {
                for (k, v) in try evaluate(x: validation.x, y: validation.y, batchSize: batchSize) {
                    logs["val_" + k] = v
                }
            }
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
        let counts = ClassificationCounts(topKs: topKs)
        var lossSum = 0.0
        let n = x.shape[0]
        let wasTraining = isTraining
        isTraining = false
        defer { isTraining = wasTraining }
        withoutGradients {
            for start in stride(from: 0, to: n, by: batchSize) {
                let end = Swift.min(n, start + batchSize)
                let (xb, yb) = (x.slice(axis: 0, start: start, end: end), y.slice(axis: 0, start: start, end: end))
                let predictions = self(xb)
                lossSum += Double(loss.perExample(predictions, yb).sum().item())
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
