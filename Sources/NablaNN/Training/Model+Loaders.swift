import Nabla
import NablaData

extension Model {
    /// Trains the model on the batches of a data loader: Keras's `fit(dataset)`.
    ///
    /// Epoch `e` trains on `data.epoch(e)`, whose batches the loader reads and augments on its own
    /// threads while the model trains. The loader's seed decides the order and the augmentation;
    /// `seed` decides the model's own randomness (dropout). Labels are class indices, so the loss
    /// is a sparse one. Validation data, when given, is evaluated after each epoch as `val_*`.
    ///
    /// - Throws: ``NablaError`` when the model was not compiled, a batch does not fit the model or
    ///   the loss (naming the batch), a batch cannot be read (naming the file and example), or a
    ///   callback throws.
    @discardableResult
    public func fit(
        _ data: DataLoader, epochs: Int = 1, validationData: DataLoader? = nil, callbacks: [any Callback] = [],
        verbose: ProgressDisplay.Mode = .automatic, seed: UInt64? = nil
    ) throws -> History {
        try fit(
            batchCount: data.batchCount, epochs: epochs, validation: validationData.map { v in { v.epoch(0) } },
            callbacks: callbacks, verbose: verbose, seed: seed, makeEpoch: data.epoch)
    }

    /// Trains the model on a streaming dataset's batches, as the ``DataLoader`` variant does; the
    /// progress bar counts batches without an end, since a stream's length is known only at its end.
    @discardableResult
    public func fit(
        _ data: StreamLoader, epochs: Int = 1, validationData: DataLoader? = nil, callbacks: [any Callback] = [],
        verbose: ProgressDisplay.Mode = .automatic, seed: UInt64? = nil
    ) throws -> History {
        try fit(
            batchCount: nil, epochs: epochs, validation: validationData.map { v in { v.epoch(0) } },
            callbacks: callbacks, verbose: verbose, seed: seed, makeEpoch: data.epoch)
    }

    /// Returns the loss and metrics over one pass of `data`, in inference mode.
    ///
    /// - Throws: ``NablaError`` when the model was not compiled or a batch does not fit it.
    public func evaluate(_ data: DataLoader) throws -> [String: Double] {
        guard let loss else { throw NablaError(.invalidArgument, "\(name): call compile before evaluate") }
        return try evaluate(loss, checkedBatches(data.epoch(0), loss, "evaluation"))
    }

    private func fit(
        batchCount: Int?, epochs: Int, validation: (() -> DataLoader.Epoch)?, callbacks: [any Callback],
        verbose: ProgressDisplay.Mode, seed: UInt64?, makeEpoch: @escaping (Int) -> DataLoader.Epoch
    ) throws -> History {
        guard let loss else {
            throw NablaError(.invalidArgument, "\(name): call compile(optimizer:loss:metrics:) before fit")
        }
        let evaluation = validation.map { epoch in
            { try self.evaluate(loss, self.checkedBatches(epoch(), loss, "validation")) }
        }
        return try train(
            epochs: epochs, steps: batchCount, validation: evaluation, callbacks: callbacks, verbose: verbose,
            seed: seed
        ) { epoch in
            let next = checkedBatches(makeEpoch(epoch), loss, "training")
            return { try next().map { ($0.x, $0.y, nil) } }
        }
    }

    /// Returns a function giving `epoch`'s batches in turn, each checked against the model and the
    /// loss before it is used.
    private func checkedBatches(
        _ epoch: DataLoader.Epoch, _ loss: any Loss, _ what: String
    )
        -> () throws -> (x: Tensor, y: Tensor)?
    {
        var index = 0
        return {
            guard let batch = try epoch.nextBatch() else { return nil }
            defer { index += 1 }
            guard batch.images.dtype == .float32 else {
                throw NablaError(
                    .invalidArgument,
                    "\(what) batch \(index) holds \(batch.images.dtype) images; give the loader a transform that makes float32 (Rescale())"
                )
            }
            try self.checkInput(batch.images, "\(what) batch \(index)")
            try loss.validate(targets: batch.labels, outputShape: self.outputShape ?? [])
            return (batch.images, batch.labels)
        }
    }
}
