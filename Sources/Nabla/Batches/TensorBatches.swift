/// Mini-batches of tensors held in memory: Keras's `fit(x, y)`.
///
/// Each epoch visits the examples in a fresh permutation when `shuffle` is set, or in order, as
/// views, when it is not. Epoch `e`'s permutation depends only on `e` and a seed taken from
/// `generator` when the batches are made, so a seeded generator gives the same order every run and
/// a resumed run sees the orders of the epochs it did not train yet.
public struct TensorBatches: BatchSource, @unchecked Sendable {
    public let inputs: Tensor
    public let targets: Tensor
    public let weights: Tensor?
    public let batchSize: Int
    public let shuffle: Bool
    private let seed: UInt64

    /// - Precondition: `inputs`, `targets` and `weights` have the same number of examples;
    ///   `batchSize` is positive.
    public init(
        inputs: Tensor, targets: Tensor, weights: Tensor? = nil, batchSize: Int, shuffle: Bool = false,
        generator: RandomGenerator = .current
    ) {
        require(batchSize > 0, "TensorBatches: batch size \(batchSize) must be positive")
        require(
            inputs.rank >= 1 && targets.shape.first == inputs.shape.first
                && (weights.map { $0.shape == [inputs.shape[0]] } ?? true),
            "TensorBatches: \(inputs.shape.first ?? 0) inputs, \(targets.shape.first ?? 0) targets and weights \(weights?.shape ?? []) differ"
        )
        (self.inputs, self.targets, self.weights) = (inputs, targets, weights)
        (self.batchSize, self.shuffle) = (batchSize, shuffle)
        seed = shuffle ? generator.nextSeed() : 0
    }

    /// The number of examples.
    public var count: Int { inputs.shape[0] }

    public var batchesPerEpoch: Int? { (count + batchSize - 1) / batchSize }

    public var allTargets: Tensor? { targets }

    public func makeEpoch(_ epoch: Int) -> any BatchStream {
        let order =
            shuffle
            ? RandomGenerator(seed: RandomGenerator.derivedSeed(seed, UInt64(epoch), 0x5348_5546)).permutation(count)
            : nil
        return Stream(source: self, order: order)
    }

    private final class Stream: BatchStream {
        let source: TensorBatches
        let order: [Int]?
        var start = 0

        init(source: TensorBatches, order: [Int]?) { (self.source, self.order) = (source, order) }

        func next() throws -> TrainingBatch? {
            let n = source.count
            guard start < n else { return nil }
            let end = Swift.min(n, start + source.batchSize)
            defer { start = end }
            guard let order else {
                return TrainingBatch(
                    inputs: source.inputs.slice(axis: 0, start: start, end: end),
                    targets: source.targets.slice(axis: 0, start: start, end: end),
                    weights: source.weights?.slice(axis: 0, start: start, end: end))
            }
            let indices = Tensor(order[start..<end].map(Int64.init), shape: [end - start], device: source.inputs.device)
            return TrainingBatch(
                inputs: source.inputs.gathered(indices), targets: source.targets.gathered(indices),
                weights: source.weights?.gathered(indices))
        }
    }
}
