import Foundation
import Nabla

/// A layer that can be trained: `compile`, then `fit`, `evaluate` and `predict`, Keras style.
///
/// Subclass it (overriding ``Layer/build(inputShape:)`` and ``Layer/forward(_:)``) for models
/// that branch; ``Sequential`` covers a plain stack.
open class Model: Layer, @unchecked Sendable {
    /// The optimizer set by ``compile(optimizer:loss:metrics:)``.
    public private(set) var optimizer: (any Optimizer)?
    /// The loss set by ``compile(optimizer:loss:metrics:)``.
    public private(set) var loss: (any Loss)?
    /// The metrics tracked besides the loss.
    public private(set) var metrics: [MetricKind] = []
    /// Set by a callback to end training.
    public var stopTraining = false
    /// The names of the output classes, saved with the model (predictions print them).
    public var classNames: [String]?
    /// What the model takes: set by the first training batch when not given, saved with the model.
    public var inputSpec: InputSpec?
    /// How a raw image becomes the model's input, saved with the model; when nil, a model with an
    /// image input of 1 or 3 channels takes raw 0–255 pixels (Nabla's convention).
    public var preprocessing: Preprocessing?
    /// Where training stands: the seed, the epochs completed and their history (set by `fit`,
    /// saved in checkpoints, restored by ``loadCheckpoint(from:)``).
    public internal(set) var progress: TrainingProgress?
    /// The processes this model trains with, data-parallel (nil: it trains alone).
    public var processGroup: (any ProcessGroup)? {
        didSet { for layer in layers(of: BatchNormalization.self) { layer.processGroup = processGroup } }
    }

    /// The first layer that has no sublayers (the one that meets the data).
    var firstLayer: Layer {
        var layer: Layer = self
        while let child = layer.children.first { layer = child }
        return layer
    }

    /// Sets how the model trains.
    public func compile(optimizer: any Optimizer, loss: any Loss, metrics: [MetricKind] = []) {
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
        if inputShape == nil { try buildChecked(inputShape: shape) }
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
    /// metrics on it as `val_*`. `classWeights` scale each example's loss by its class. A run
    /// resumed from a checkpoint passes the checkpoint's `initialEpoch` and `seed`.
    ///
    /// - Throws: `NablaError` before training when the data does not fit the model or the loss
    ///   (shapes, counts, labels out of range), or when the model was not compiled; errors that
    ///   callbacks throw.
    @discardableResult
    public func fit(
        x: Tensor, y: Tensor, batchSize: Int = 32, epochs: Int = 1, validationData: (x: Tensor, y: Tensor)? = nil,
        validationSplit: Float = 0, shuffle: Bool = true, classWeights: [Int: Float]? = nil,
        callbacks: [any Callback] = [], verbose: ProgressDisplay.Mode = .automatic, seed: UInt64? = nil,
        initialEpoch: Int = 0
    ) throws -> History {
        guard optimizer != nil, loss != nil else {
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
        // Shapes are checked here, where they are known whole; the targets, once, by fit(_:).
        try checkInput(trainX, "training input")
        if let validation { try checkInput(validation.x, "validation input") }
        let seed = seed ?? RandomGenerator.current.nextSeed()
        let shuffler = RandomGenerator(seed: seed &+ 0x9E37_79B9)
        let data = TensorBatches(
            inputs: trainX, targets: trainY, weights: classWeights.map { sampleWeights(trainY, $0) },
            batchSize: batchSize, shuffle: shuffle, generator: shuffler)
        let validationBatches = validation.map { TensorBatches(inputs: $0.x, targets: $0.y, batchSize: batchSize) }
        return try fit(
            data, epochs: epochs, initialEpoch: initialEpoch, validationData: validationBatches, callbacks: callbacks,
            verbose: verbose, seed: seed)
    }

    /// Returns the loss and metrics of the model on `x` and `y`, in inference mode.
    ///
    /// - Throws: `NablaError` when the data does not fit the model or the loss.
    public func evaluate(x: Tensor, y: Tensor, batchSize: Int = 32) throws -> [String: Double] {
        guard loss != nil else { throw NablaError(.invalidArgument, "\(name): call compile before evaluate") }
        try checkInput(x, "evaluation input")
        return try evaluate(TensorBatches(inputs: x, targets: y, batchSize: batchSize))
    }

    /// Returns the model's outputs for `x`, computed in batches in inference mode.
    ///
    /// - Throws: `NablaError` when `x` does not fit the model.
    public func predict(_ x: Tensor, batchSize: Int = 32) throws -> Tensor {
        try checkInput(x, "prediction input")
        let none = Tensor.zeros([x.shape[0]], device: x.device)
        return try predict(TensorBatches(inputs: x, targets: none, batchSize: batchSize))
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

extension Model {
    /// Whether the last layer ends in a softmax (outputs are probabilities, not logits).
    public var endsInSoftmax: Bool {
        var layer: Layer = self
        while let last = layer.children.last { layer = last }
        if let dense = layer as? Dense { return dense.activation == .softmax }
        if let conv = layer as? Conv2D { return conv.activation == .softmax }
        if let activation = layer as? ActivationLayer { return activation.activation == .softmax }
        return false
    }
}
