import Foundation
import Nabla

/// Where a training run stands, saved in checkpoints: enough to continue it bit for bit.
///
/// The data's order and augmentation and the model's own randomness in epoch `e` depend only on
/// `(seed, e)` (see ``Model/fit(_:epochs:initialEpoch:validationData:callbacks:verbose:seed:)``),
/// so the seed and the number of epochs completed are the whole random state and loader position.
public struct TrainingProgress: Codable, Sendable, Equatable {
    /// The seed the run trains with.
    public var seed: UInt64
    /// The epochs completed.
    public var epochs: Int
    /// The logs of every epoch completed.
    public var history: History
}

/// The optimizer's side of a checkpoint: its type, step count and learning rate.
struct OptimizerCheckpoint: Codable {
    var type: String
    var iterations: Int
    var constantLearningRate: Float?
    var learningRateScale: Float
}

extension Model {
    /// The largest step or epoch count a checkpoint may hold.
    static let maxCheckpointCount = 1 << 40

    /// Saves a checkpoint to `path`, atomically: the model file (architecture and weights) plus
    /// the optimizer's state tensors, step count and learning rate, and ``progress``.
    ///
    /// - Throws: `NablaError` as ``save(to:metadata:)`` does, and `.invalidArgument` for a model
    ///   not compiled.
    public func saveCheckpoint(to path: String) throws {
        guard let optimizer else { throw NablaError(.invalidArgument, "\(name): compile before saving a checkpoint") }
        var tensors = parameters().map { (name: $0.name, tensor: $0.parameter.value) }
        for (name, parameter) in parameters() {
            for (slot, value) in optimizer.slots(for: parameter).enumerated() {
                tensors.append(("\(ModelFile.optimizerPrefix)\(slot)/\(name)", value))
            }
        }
        var meta = try fileMetadata([:])
        meta["optimizer"] = try ModelFile.json(OptimizerCheckpoint(optimizer))
        if let progress { meta["checkpoint"] = try ModelFile.json(progress) }
        try Safetensors.write(tensors, metadata: meta, to: path)
    }

    /// Restores a checkpoint saved by ``saveCheckpoint(to:)`` into this built, compiled model.
    ///
    /// It sets the weights, the optimizer's state, and ``progress``. Continue with `fit(…, initialEpoch:
    /// progress.epochs, seed: progress.seed)` and the same data.
    ///
    /// - Throws: `NablaError` (naming the file) when the model is not built or compiled, the
    ///   file is not a checkpoint, or its parameters, optimizer type or state do not fit.
    @discardableResult
    public func loadCheckpoint(from path: String) throws -> TrainingProgress {
        guard let optimizer else {
            throw NablaError(.invalidArgument, "\(name): compile before loading a checkpoint", path: path)
        }
        guard outputShape != nil else {
            throw NablaError(.invalidArgument, "\(name) is not built yet; give it an input shape first", path: path)
        }
        let (tensors, metadata) = try Safetensors.read(path)
        return try NablaError.at(path) {
            try ModelFile.checkFormat(metadata, path: path)
            guard let saved = try ModelFile.decode(OptimizerCheckpoint.self, "optimizer", from: metadata),
                let progress = try ModelFile.decode(TrainingProgress.self, "checkpoint", from: metadata)
            else { throw NablaError(.corruptFile, "not a checkpoint: it has no optimizer state or progress") }
            let expected = String(describing: type(of: optimizer))
            guard saved.type == expected else {
                throw NablaError(
                    .invalidArgument, "the checkpoint's optimizer is \(saved.type.prefix(64)), the model's \(expected)")
            }
            // Counters from a file: bounded, so that counting on from them cannot overflow.
            guard (0...Self.maxCheckpointCount).contains(saved.iterations),
                (0...Self.maxCheckpointCount).contains(progress.epochs)
            else {
                throw NablaError(
                    .corruptFile,
                    "its counters (\(saved.iterations) steps, \(progress.epochs) epochs) are outside 0...2^40")
            }
            var slots: [(Parameter, [Tensor])] = []
            for (name, parameter) in parameters() where parameter.isTrainable {
                let values = (0..<optimizer.slotCount).compactMap {
                    tensors["\(ModelFile.optimizerPrefix)\($0)/\(name)"]
                }
                guard values.isEmpty || values.count == optimizer.slotCount,
                    values.allSatisfy({ $0.shape == parameter.value.shape && $0.dtype == parameter.value.dtype })
                else { throw NablaError(.corruptFile, "the optimizer state of '\(name)' does not fit the parameter") }
                slots.append((parameter, values))
            }
            try assign(tensors, path: path, exact: true)
            for (parameter, values) in slots where !values.isEmpty {
                optimizer.restore(slots: values.map { $0.contiguous() * 1 }, for: parameter)
            }
            optimizer.state.restore(saved)
            self.progress = progress
            return progress
        }
    }
}

extension OptimizerCheckpoint {
    init(_ optimizer: any Optimizer) {
        type = String(describing: Swift.type(of: optimizer))
        iterations = optimizer.iterations
        if case .constant(let rate) = optimizer.state.base { constantLearningRate = rate }
        learningRateScale = optimizer.state.learningRateScale
    }
}

extension OptimizerState {
    /// Restores the step count and learning rate saved in a checkpoint.
    func restore(_ saved: OptimizerCheckpoint) {
        iterations = saved.iterations
        if let rate = saved.constantLearningRate, rate.isFinite, rate >= 0 { base = .constant(rate) }
        if saved.learningRateScale.isFinite, saved.learningRateScale >= 0 {
            learningRateScale = saved.learningRateScale
        }
    }
}
