import Foundation
import Nabla

/// One pass over a ``StreamingDataset``, front to back.
public protocol ExampleStream: AnyObject {
    /// Returns up to `maxCount` next examples (images `[n, H, W, C]`, labels `[n]` int64), or nil
    /// at the end.
    ///
    /// - Throws: `NablaError` naming the file and example when the data is broken; the examples
    ///   before it have been returned.
    func next(maxCount: Int) throws -> Batch?
}

/// A labelled image dataset read in order.
///
/// For data larger than memory, or a source that cannot seek (a gzip stream, a CSV file).
/// ``StreamLoader`` shuffles it through a bounded buffer.
public protocol StreamingDataset: Sendable {
    /// Opens a new pass from the first example.
    ///
    /// - Throws: `NablaError` when the source cannot be opened or its header is wrong.
    func makeStream() throws -> any ExampleStream
}

/// Any random-access dataset read in order, as a stream.
public struct SequentialStream: StreamingDataset {
    public let dataset: any Dataset
    public init(_ dataset: any Dataset) { self.dataset = dataset }

    public func makeStream() throws -> any ExampleStream { Reader(dataset: dataset) }

    final class Reader: ExampleStream {
        let dataset: any Dataset
        var position = 0
        init(dataset: any Dataset) { self.dataset = dataset }

        func next(maxCount: Int) throws -> Batch? {
            guard position < dataset.count else { return nil }
            let end = Swift.min(dataset.count, position + maxCount)
            defer { position = end }
            return try dataset.batch(at: Array(position..<end))
        }
    }
}

/// Feeds a streaming dataset to training in mini-batches, shuffled through a buffer.
///
/// Examples flow from the stream into a buffer of `shuffleBuffer` examples; each batch takes
/// examples from random places in the buffer, and each taken place is refilled with the next
/// example of the stream (the buffer of `tf.data`'s shuffle). A buffer as large as the dataset
/// gives a uniform shuffle; `shuffle: false` keeps the stream's order. Memory holds the buffer and
/// `prefetch` batches, whatever the size of the data.
///
/// Reading is sequential; transforms run on `workers` threads, as in ``DataLoader``, with the
/// same guarantee: the same seed gives the same batches, bit for bit, with any number of workers.
public struct StreamLoader: Sendable {
    public let dataset: any StreamingDataset
    public let batchSize: Int
    public let shuffleBuffer: Int
    public let dropLast: Bool
    public let seed: UInt64
    public let transform: (any Transform)?
    public let workers: Int
    public let prefetch: Int

    public init(
        _ dataset: any StreamingDataset, batchSize: Int, shuffle: Bool = true, shuffleBuffer: Int = 10_000,
        dropLast: Bool = false, seed: UInt64 = 0, transform: (any Transform)? = nil,
        workers: Int = ThreadPool.threadCount, prefetch: Int = 4
    ) {
        require(batchSize > 0, "StreamLoader: batchSize must be positive, got \(batchSize)")
        require(shuffleBuffer > 0, "StreamLoader: shuffleBuffer must be positive, got \(shuffleBuffer)")
        require(
            workers > 0 && prefetch > 0, "StreamLoader: workers \(workers) and prefetch \(prefetch) must be positive")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffleBuffer = shuffle ? shuffleBuffer : 1
        self.dropLast = dropLast
        self.seed = seed
        self.transform = transform
        self.workers = workers
        self.prefetch = prefetch
    }

    /// Returns the batches of epoch `epoch` (0-based), read and prepared ahead on worker threads.
    ///
    /// An error opening or reading the stream comes from ``DataLoader/Epoch/nextBatch()`` after
    /// the batches before it.
    public func epoch(_ epoch: Int) -> DataLoader.Epoch {
        DataLoader.Epoch(source: Source(loader: self, epoch: epoch), workers: workers, prefetch: prefetch)
    }

    /// Reads batches in order under its own lock, then transforms them outside it.
    final class Source: EpochSource, @unchecked Sendable {
        let loader: StreamLoader
        let epoch: Int
        private let condition = NSCondition()
        private var nextIndex = 0
        private var stream: (any ExampleStream)?
        private var buffer: ShuffleBuffer
        private var finished = false

        init(loader: StreamLoader, epoch: Int) {
            self.loader = loader
            self.epoch = epoch
            buffer = ShuffleBuffer(
                capacity: loader.shuffleBuffer,
                generator: RandomGenerator(seed: DataLoader.mix(loader.seed, UInt64(epoch), 0x5354_524D)))
        }

        var batchCount: Int? { nil }

        func batch(_ index: Int) throws -> Batch? {
            guard let raw = try read(index) else { return nil }
            return DataLoader.transformed(raw, loader.transform, seed: loader.seed, epoch: epoch, index: index)
        }

        /// Waits for batch `index`'s turn, then takes it from the buffer.
        private func read(_ index: Int) throws -> Batch? {
            condition.lock()
            defer {
                nextIndex += 1
                condition.broadcast()
                condition.unlock()
            }
            while nextIndex != index { condition.wait() }
            guard !finished else { return nil }
            do {
                if stream == nil { stream = try loader.dataset.makeStream() }
                guard let stream, let batch = try buffer.take(loader.batchSize, from: stream),
                    !loader.dropLast || batch.labels.count == loader.batchSize
                else {
                    finished = true
                    return nil
                }
                return batch
            } catch {
                finished = true
                throw error
            }
        }
    }
}

/// A fixed number of examples, refilled from a stream as examples are taken at random.
final class ShuffleBuffer {
    let capacity: Int
    let generator: RandomGenerator
    private var slots: [UInt8] = []
    private var labels: [Int64] = []
    private var filled = 0
    private var exampleShape: [Int] = []
    private var dtype = DType.uint8
    private var exampleBytes = 0
    /// Examples read from the stream and not yet in the buffer, and the next one to move.
    private var pending: (bytes: [UInt8], labels: [Int64], next: Int) = ([], [], 0)
    private var streamEnded = false
    private var examplesRead = 0

    init(capacity: Int, generator: RandomGenerator) {
        self.capacity = capacity
        self.generator = generator
    }

    /// Returns up to `count` examples, nil when the stream and the buffer are both empty.
    func take(_ count: Int, from stream: any ExampleStream) throws -> Batch? {
        try fill(from: stream)
        guard filled > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: count * exampleBytes)
        var outLabels: [Int64] = []
        let draws = capacity > 1 ? Tensor.uniform([count], generator: generator).toArray() : []
        while outLabels.count < count && filled > 0 {
            let j = capacity > 1 ? Swift.min(Int(draws[outLabels.count] * Float(filled)), filled - 1) : 0
            move(from: slots, at: j, to: &out, at: outLabels.count)
            outLabels.append(labels[j])
            if pendingCount == 0 { try refill(from: stream) }
            if pendingCount > 0 {
                move(from: pending.bytes, at: pending.next, to: &slots, at: j)
                labels[j] = pending.labels[pending.next]
                pending.next += 1
            } else {
                // The stream is over: close the gap with the last example.
                filled -= 1
                if j != filled {
                    slots.withUnsafeMutableBytes { t in
                        guard let base = t.baseAddress else { return }
                        (base + j * exampleBytes).copyMemory(
                            from: base + filled * exampleBytes, byteCount: exampleBytes)
                    }
                }
                labels[j] = labels[filled]
            }
        }
        let shape = [outLabels.count] + exampleShape
        let images = out.withUnsafeBytes { bytes in
            Tensor(unsafeUninitializedShape: shape, dtype: dtype) {
                $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix($0.count)))
            }
        }
        return Batch(images: images, labels: Tensor(outLabels))
    }

    private var pendingCount: Int { pending.labels.count - pending.next }

    private func move(from source: [UInt8], at i: Int, to target: inout [UInt8], at j: Int) {
        guard exampleBytes > 0 else { return }
        source.withUnsafeBytes { s in
            target.withUnsafeMutableBytes { t in
                guard let from = s.baseAddress, let to = t.baseAddress else { return }
                (to + j * exampleBytes).copyMemory(from: from + i * exampleBytes, byteCount: exampleBytes)
            }
        }
    }

    /// Moves pending examples into empty slots until the buffer is full or the stream ends.
    private func fill(from stream: any ExampleStream) throws {
        while filled < capacity {
            if pendingCount == 0 { try refill(from: stream) }
            guard pendingCount > 0 else { return }
            if slots.count < (filled + 1) * exampleBytes {
                slots += [UInt8](repeating: 0, count: Swift.min(capacity - filled, 1024) * exampleBytes)
                labels += [Int64](repeating: 0, count: Swift.min(capacity - filled, 1024))
            }
            move(from: pending.bytes, at: pending.next, to: &slots, at: filled)
            labels[filled] = pending.labels[pending.next]
            pending.next += 1
            filled += 1
        }
    }

    /// Reads the next chunk of the stream into `pending`.
    private func refill(from stream: any ExampleStream) throws {
        guard !streamEnded else { return }
        guard let chunk = try stream.next(maxCount: 256), chunk.labels.count > 0 else {
            streamEnded = true
            return
        }
        let shape = Array(chunk.images.shape.dropFirst())
        if examplesRead == 0 {
            (exampleShape, dtype) = (shape, chunk.images.dtype)
            exampleBytes = shape.reduce(1, *) * dtype.byteSize
        } else if shape != exampleShape || chunk.images.dtype != dtype {
            throw NablaError(
                .invalidArgument,
                "example \(examplesRead) of the stream is \(chunk.images.dtype) \(shape); the first was \(dtype) \(exampleShape)"
            )
        }
        examplesRead += chunk.labels.count
        pending = (chunk.images.withUnsafeBytes { Array($0) }, chunk.labels.asType(.int64).toArray(Int64.self), 0)
    }
}
