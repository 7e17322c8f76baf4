import Nabla

/// Processes that train one model together, data-parallel: each trains on its share of every
/// batch and the gradients are averaged before each update (set on a model by a strategy such as
/// NablaDistributed's `DataParallel`).
///
/// With a group set, `fit` gives this process its share of each batch, shows progress only on
/// rank 0, and sums the epoch's loss and metric counts over the group, so every rank logs the
/// same, global history. `evaluate` (and `fit`'s validation) also runs each rank on its share
/// and sums the totals, so every rank must call it; `predict` stays local.
public protocol ProcessGroup: AnyObject {
    /// This process's index, from 0.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// Sums `values` over every process, in place; every process calls it with the same count.
    func sum(_ values: inout [Double]) throws
    /// Tells the group how many examples this process's next batch holds (its weight in the
    /// gradient average).
    func willTrain(examples: Int)
    /// Runs `loss.backward()`; a group may start exchanging gradients while it runs.
    func backward(_ loss: Tensor) throws
    /// Stops every process after `error` where it cannot be thrown (inside backward).
    func fail(_ error: any Error) -> Never
}

extension ProcessGroup {
    /// The rows of an `n`-row batch this process takes: `[r·n/size, (r+1)·n/size)`, so the
    /// ranks together take each row once.
    public func rows(of n: Int) -> Range<Int> { rank * n / size..<(rank + 1) * n / size }

    /// This process's rows of `batch` (``rows(of:)``), their count given to
    /// ``willTrain(examples:)``.
    ///
    /// A rank whose share would be empty (a last batch smaller than the group) gets the first row
    /// with weight zero, so that it still takes part in every collective step.
    public func share(of batch: TrainingBatch) -> TrainingBatch {
        let rows = rows(of: batch.inputs.shape[0])
        willTrain(examples: rows.count)
        return batch.rows(rows.isEmpty ? 0..<1 : rows)
    }

    /// This process's share of each batch of `source` (``share(of:)``), for a custom training
    /// loop; `fit` shards by itself.
    public func shard(_ source: some BatchSource) -> any BatchSource { ShardedBatches(base: source, group: self) }

    /// Averages the moving statistics of `model`'s unsynchronised batch-norm layers over the
    /// processes (each gathered them from its own share), so that every process holds the same
    /// model; `fit` calls it after each epoch's training.
    public func averageMovingStatistics(of model: Layer) throws {
        let moving = model.layers(of: BatchNormalization.self).filter { !$0.synchronized }
            .flatMap { [$0.movingMean, $0.movingVariance].compactMap { $0 } }
        guard size > 1, !moving.isEmpty else { return }
        var values = moving.flatMap { $0.value.toArray(Float.self).map(Double.init) }
        try sum(&values)
        var offset = 0
        withoutGradients {
            for p in moving {
                let count = p.value.count
                p.value.assign(
                    Tensor(values[offset..<offset + count].map { Float($0 / Double(size)) }, shape: p.value.shape))
                offset += count
            }
        }
    }
}

/// Each batch of `base`, cut to one process's share.
struct ShardedBatches: BatchSource {
    let base: any BatchSource
    let group: any ProcessGroup

    var batchesPerEpoch: Int? { base.batchesPerEpoch }

    func makeEpoch(_ epoch: Int) -> any BatchStream { Stream(base.makeEpoch(epoch), group) }

    private final class Stream: BatchStream {
        let base: any BatchStream
        let group: any ProcessGroup
        init(_ base: any BatchStream, _ group: any ProcessGroup) { (self.base, self.group) = (base, group) }

        func next() throws -> TrainingBatch? { try base.next().map { group.share(of: $0) } }
    }
}

extension RunningTotals {
    /// Sums the loss, the example count and the classification counts (of `classes` classes:
    /// a rank that saw no batch has none of its own) over `group`.
    func reduce(over group: any ProcessGroup, classes: Int) throws {
        flush()
        var values = [lossSum, Double(seen)] + counts.summable(classes: classes)
        try group.sum(&values)
        replace(lossSum: values[0], seen: Int(values[1]))
        counts.replace(with: values[2...], classes: classes)
    }
}

extension ClassificationCounts {
    /// The counts as numbers to add up across processes: the total, the top-k hits in order of
    /// `topKs`, then the confusion matrix row by row.
    func summable(classes: Int) -> [Double] {
        let matrix =
            self.matrix.isEmpty ? Array(repeating: Array(repeating: 0, count: classes), count: classes) : self.matrix
        return [Double(total)] + topKs.map { Double(topKHits(for: $0)) } + matrix.flatMap { $0.map(Double.init) }
    }

    /// Sets the counts from ``summable(classes:)``'s layout.
    func replace(with values: ArraySlice<Double>, classes: Int) {
        let values = Array(values)
        let offset = 1 + topKs.count
        setTotals(
            total: Int(values[0]),
            hits: Dictionary(uniqueKeysWithValues: topKs.enumerated().map { ($1, Int(values[1 + $0])) }),
            matrix: (0..<classes).map { i in (0..<classes).map { Int(values[offset + i * classes + $0]) } })
    }
}

extension TrainingBatch {
    /// The rows `range` of the batch.
    func rows(_ range: Range<Int>) -> TrainingBatch {
        TrainingBatch(
            inputs: inputs.slice(axis: 0, start: range.lowerBound, end: range.upperBound),
            targets: targets.slice(axis: 0, start: range.lowerBound, end: range.upperBound),
            weights: weights?.slice(axis: 0, start: range.lowerBound, end: range.upperBound))
    }
}
