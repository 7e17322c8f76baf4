import Nabla

// The loaders feed `fit`, `evaluate` and `predict` through the core's one batch path.

extension DataLoader: BatchSource {
    public var batchesPerEpoch: Int? { batchCount }

    /// The labels of an in-memory dataset (transforms keep labels as they are), checked once by
    /// training instead of batch by batch.
    public var allTargets: Tensor? { (dataset as? InMemoryDataset)?.labels }

    public func makeEpoch(_ epoch: Int) -> any BatchStream { self.epoch(epoch) }
}

extension StreamLoader: BatchSource {
    public var batchesPerEpoch: Int? { nil }

    public func makeEpoch(_ epoch: Int) -> any BatchStream { self.epoch(epoch) }
}

extension DataLoader.Epoch: BatchStream {
    public func next() throws -> TrainingBatch? {
        try nextBatch().map { TrainingBatch(inputs: $0.images, targets: $0.labels) }
    }
}
