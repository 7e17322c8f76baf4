// The one batch path: `fit`, `evaluate` and `predict` consume a `BatchSource`, which in-memory
// tensors (`TensorBatches`), the data loader and the streaming loader adopt.
//
// NOTE: it sits in the core, not in NablaNN or NablaData, so that the training code needs no data
// module (and so does not link zlib, libjpeg or libpng: an inference-only program or the server
// does not pay for codecs), while the loaders adopt it without depending on the training code.

/// One mini-batch: inputs `[batch, …]`, targets `[batch, …]`, and optional per-example loss weights `[batch]`.
public struct TrainingBatch: @unchecked Sendable {
    public var inputs: Tensor
    public var targets: Tensor
    public var weights: Tensor?

    public init(inputs: Tensor, targets: Tensor, weights: Tensor? = nil) {
        self.inputs = inputs
        self.targets = targets
        self.weights = weights
    }
}

/// A source of mini-batches, epoch after epoch: what `fit`, `evaluate` and `predict` consume.
public protocol BatchSource {
    /// The number of batches per epoch, when known before the epoch ends (nil for a stream).
    var batchesPerEpoch: Int? { get }

    /// Every target at once, when the source holds them in memory; training then checks the
    /// targets once instead of batch by batch.
    var allTargets: Tensor? { get }

    /// Returns the batches of epoch `epoch` (0-based), in turn.
    ///
    /// The order (and any augmentation) may depend on the epoch; callers ask for epochs in order.
    func makeEpoch(_ epoch: Int) -> any BatchStream
}

extension BatchSource {
    public var allTargets: Tensor? { nil }
}

/// The batches of one epoch.
public protocol BatchStream: AnyObject {
    /// Returns the next batch, nil after the last.
    ///
    /// - Throws: ``NablaError`` when a batch cannot be read or prepared (naming the file and example).
    func next() throws -> TrainingBatch?
}
