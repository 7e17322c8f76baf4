import Foundation
import Nabla

// The prefetcher behind both loaders: an epoch's batches prepared ahead on worker threads of their
// own, handed to training in order, with at most `prefetch` waiting.

extension DataLoader {
    /// One pass over the data: batches in order, prepared ahead on the loader's own threads.
    ///
    /// ``nextBatch()`` returns them one by one and throws the error a batch raised, so a broken
    /// example is never silently skipped. The workers are threads of their own, not the kernel
    /// pool: the kernels they call run on them alone (`ThreadPool.serially(_:)`), so preparing
    /// data never waits behind training's matrix products, nor slows them by splitting the pool.
    /// Dropping the epoch before its end stops the workers.
    public final class Epoch: @unchecked Sendable {
        private let state: State

        init(source: any EpochSource, workers: Int, prefetch: Int) {
            state = State(source: source, prefetch: prefetch)
            for worker in 0..<Swift.min(workers, source.batchCount ?? workers) {
                let thread = Thread { [state] in state.work() }
                thread.name = "nabla.loader.\(worker)"
                thread.start()
            }
        }

        deinit { state.cancel() }

        /// Returns the next batch, nil at the end, or throws the error reading it raised.
        public func nextBatch() throws -> Batch? { try state.next() }

        /// How many calls to ``nextBatch()`` found their batch not ready yet and waited for it.
        ///
        /// The first call usually waits; after it, a loader that keeps up with training stays at 1.
        public var waits: Int { state.withLock { state.waits } }
    }

    /// The shared state of an epoch's workers and its consumer, under one lock.
    final class State: @unchecked Sendable {
        let source: any EpochSource
        let prefetch: Int
        /// The number of batches: known ahead for random access, found at the end of a stream.
        private var total: Int
        private let condition = NSCondition()
        private var ready: [Int: Result<Batch, any Error>] = [:]
        private var scheduled = 0
        private var delivered = 0
        private var cancelled = false
        fileprivate(set) var waits = 0

        init(source: any EpochSource, prefetch: Int) {
            (self.source, self.prefetch, self.total) = (source, prefetch, source.batchCount ?? Int.max)
        }

        func withLock<R>(_ body: () -> R) -> R {
            condition.lock()
            defer { condition.unlock() }
            return body()
        }

        /// A worker's loop: claim the next batch while fewer than `prefetch` wait to be taken.
        func work() {
            condition.lock()
            while !cancelled && scheduled < total {
                guard scheduled - delivered < prefetch else {
                    condition.wait()
                    continue
                }
                let index = scheduled
                scheduled += 1
                condition.unlock()
                let result = Result { try ThreadPool.serially { try source.batch(index) } }
                condition.lock()
                switch result {
                case .success(let batch?): ready[index] = .success(batch)
                case .success(nil): total = Swift.min(total, index)
                case .failure(let error): ready[index] = .failure(error)
                }
                condition.broadcast()
            }
            condition.unlock()
        }

        func next() throws -> Batch? {
            condition.lock()
            defer { condition.unlock() }
            guard delivered < total else { return nil }
            if ready[delivered] == nil { waits += 1 }
            while ready[delivered] == nil && delivered < total { condition.wait() }
            guard delivered < total else { return nil }
            let result = ready.removeValue(forKey: delivered) ?? .failure(NablaError(.io, "batch lost"))
            delivered += 1
            condition.broadcast()
            return try result.get()
        }

        func cancel() {
            withLock {
                cancelled = true
                ready.removeAll()
                condition.broadcast()
            }
        }
    }
}

/// Where an epoch's batches come from, for ``DataLoader/Epoch``'s workers.
protocol EpochSource: Sendable {
    /// The number of batches, when known ahead.
    var batchCount: Int? { get }
    /// Returns batch `index` ready for training, or nil past the last one.
    ///
    /// Workers call it from several threads at once, with indices claimed in increasing order.
    func batch(_ index: Int) throws -> Batch?
}
