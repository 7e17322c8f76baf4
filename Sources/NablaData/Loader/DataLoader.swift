import Dispatch
import Foundation
import Nabla

/// A batch of examples: images `[N, H, W, C]` and labels `[N]` int64.
public struct Batch: @unchecked Sendable {
    public var images: Tensor
    public var labels: Tensor

    public init(images: Tensor, labels: Tensor) {
        self.images = images
        self.labels = labels
    }
}

/// A labelled image dataset with random access.
public protocol Dataset: Sendable {
    /// The number of examples.
    var count: Int { get }
    /// Returns the examples at `indices` as one batch.
    ///
    /// - Throws: `NablaError` when an example cannot be read (naming the file and the example).
    func batch(at indices: [Int]) throws -> Batch
}

extension InMemoryDataset: Dataset {
    public func batch(at indices: [Int]) throws -> Batch {
        let index = Tensor(indices.map(Int64.init))
        return Batch(images: images.gathered(index), labels: labels.gathered(index))
    }
}

/// Feeds a dataset to training in shuffled mini-batches, preparing upcoming batches on worker
/// threads while the current one trains.
///
/// Epoch `e` visits the examples in a permutation drawn from `(seed, e)`, and batch `b`'s
/// transform draws its random numbers from a generator seeded by `(seed, e, b)`: the same seed
/// gives the same batches, bit for bit, with any number of workers. At most `prefetch` batches
/// are prepared ahead, so memory stays bounded.
public struct DataLoader: Sendable {
    public let dataset: any Dataset
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let seed: UInt64
    public let transform: (any Transform)?
    public let workers: Int
    public let prefetch: Int

    public init(
        _ dataset: any Dataset, batchSize: Int, shuffle: Bool = true, dropLast: Bool = false, seed: UInt64 = 0,
        transform: (any Transform)? = nil, workers: Int = ThreadPool.threadCount, prefetch: Int = 4
    ) {
        require(batchSize > 0, "DataLoader: batchSize must be positive, got \(batchSize)")
        require(workers > 0 && prefetch > 0, "DataLoader: workers \(workers) and prefetch \(prefetch) must be positive")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.transform = transform
        self.workers = workers
        self.prefetch = prefetch
    }

    /// The number of batches per epoch.
    public var batchCount: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// Returns the example order of epoch `epoch`.
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<dataset.count) }
        return RandomGenerator(seed: Self.mix(seed, UInt64(epoch), 0x5348_5546)).permutation(dataset.count)
    }

    static func mix(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 { RandomGenerator.derivedSeed(a, b, c) }

    /// Reads and transforms batch `index` of an epoch whose order is `order`.
    func makeBatch(_ index: Int, order: [Int], epoch: Int) throws -> Batch {
        let indices = Array(order[(index * batchSize)..<Swift.min(order.count, (index + 1) * batchSize)])
        return Self.transformed(try dataset.batch(at: indices), transform, seed: seed, epoch: epoch, index: index)
    }

    /// Applies `transform` to batch `index` of epoch `epoch` with that batch's own generator, so
    /// the result does not depend on which worker prepares it, or when.
    static func transformed(
        _ batch: Batch, _ transform: (any Transform)?, seed: UInt64, epoch: Int, index: Int
    ) -> Batch {
        guard let transform else { return batch }
        return transform(batch, generator: RandomGenerator(seed: mix(seed, UInt64(epoch), UInt64(index) &+ 1)))
    }

    /// Returns the batches of epoch `epoch` (0-based), prepared ahead on worker threads.
    public func epoch(_ epoch: Int) -> Epoch {
        Epoch(source: RandomAccessSource(loader: self, epoch: epoch), workers: workers, prefetch: prefetch)
    }

    /// The batches of one epoch over a random-access dataset: any batch can be read at any time.
    struct RandomAccessSource: EpochSource {
        let loader: DataLoader
        let epoch: Int
        let order: [Int]

        init(loader: DataLoader, epoch: Int) {
            (self.loader, self.epoch, self.order) = (loader, epoch, loader.order(epoch: epoch))
        }

        var batchCount: Int? { loader.batchCount }

        func batch(_ index: Int) throws -> Batch? {
            index < loader.batchCount ? try loader.makeBatch(index, order: order, epoch: epoch) : nil
        }
    }
}
