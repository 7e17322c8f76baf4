import Foundation
import Nabla
import NablaIO

/// How a model's requests are gathered into batches (Triton's dynamic batcher).
public struct BatchingPolicy: Sendable, Equatable {
    /// The most examples one run of the model takes; 1 turns batching off.
    public var maxBatchSize: Int
    /// How long the oldest waiting request may wait for others to fill the batch, in µs.
    ///
    /// With 0, a run takes whatever is waiting when the model becomes free.
    public var maxQueueDelayMicroseconds: Int
    /// A request still waiting after this long is answered with an error instead of run.
    public var timeoutMilliseconds: Int
    /// How long the model's thread keeps polling for the next request before it sleeps, in µs.
    ///
    /// A request that arrives meanwhile starts at once, on a core that is still awake (as ONNX
    /// Runtime's spinning threads do); 0 sleeps at once.
    public var idleSpinMicroseconds: Int

    public init(
        maxBatchSize: Int = 64, maxQueueDelayMicroseconds: Int = 0, timeoutMilliseconds: Int = 10_000,
        idleSpinMicroseconds: Int = 1000
    ) {
        (self.maxBatchSize, self.maxQueueDelayMicroseconds, self.timeoutMilliseconds, self.idleSpinMicroseconds) =
            (maxBatchSize, maxQueueDelayMicroseconds, timeoutMilliseconds, idleSpinMicroseconds)
    }
}

/// What one request gets back: its rows of the output, and where its time went.
struct BatchResult: Sendable {
    var output: [Float]
    var queueNanoseconds: UInt64
    var computeNanoseconds: UInt64
}

/// Runs one model on its own thread, gathering the requests that wait into batches.
///
/// The model is only ever touched by that thread, so requests for it are serialised and the
/// server's event loops never block on a computation. The CPU backend still splits each run over
/// its thread pool.
final class Batcher: @unchecked Sendable {
    private struct Job {
        let rows: Int
        let input: [Float]
        let enqueued: UInt64
        let continuation: CheckedContinuation<BatchResult, any Error>
    }

    private let policy: BatchingPolicy
    private let exampleShape: [Int]
    private let outputValues: Int
    private let run: (Tensor) throws -> Tensor
    private let onRun: @Sendable () -> Void
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var head = 0
    private var stopping = false
    private var thread: Thread?

    /// Starts the model's thread; `run` computes the output `[n, outputValues]` for an input
    /// `[n] + exampleShape`, and `onRun` is told of each run (for the metrics).
    init(
        policy: BatchingPolicy, exampleShape: [Int], outputValues: Int, name: String,
        run: @escaping (Tensor) throws -> Tensor, onRun: @escaping @Sendable () -> Void
    ) {
        (self.policy, self.exampleShape, self.outputValues, self.run, self.onRun) =
            (policy, exampleShape, outputValues, run, onRun)
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "nabla-serve-\(name)"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Queues `rows` examples (their values, in the model's input order) and waits for the output.
    func submit(rows: Int, input: [Float]) async throws -> BatchResult {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard !stopping else {
                continuation.resume(throwing: ServeError(.unavailable, "the server is shutting down"))
                return
            }
            queue.append(Job(rows: rows, input: input, enqueued: Self.now(), continuation: continuation))
            condition.signal()
        }
    }

    /// Finishes the requests already queued, then ends the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Takes the next batch: waits for a first request, then (with a delay) for the batch to fill.
    private func nextBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        // Poll for a while before sleeping: a request that follows soon finds this thread (and its
        // core) awake instead of paying for a wake-up.
        let spinUntil = Self.now() + UInt64(policy.idleSpinMicroseconds) * 1000
        while head == queue.count && !stopping {
            if Self.now() < spinUntil {
                condition.unlock()
                sched_yield()
                condition.lock()
            } else {
                condition.wait()
            }
        }
        if head == queue.count { return nil }
        let delay = UInt64(policy.maxQueueDelayMicroseconds) * 1000
        if delay > 0 && policy.maxBatchSize > 1 {
            let deadline = queue[head].enqueued + delay
            while !stopping, waitingRows() < policy.maxBatchSize, Self.now() < deadline {
                let seconds = Double(deadline - min(deadline, Self.now())) / 1e9
                _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            }
        }
        var batch: [Job] = [queue[head]]
        var rows = queue[head].rows
        head += 1
        while head < queue.count, rows + queue[head].rows <= policy.maxBatchSize {
            rows += queue[head].rows
            batch.append(queue[head])
            head += 1
        }
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 {
            queue.removeFirst(head)
            head = 0
        }
        return batch
    }

    private func waitingRows() -> Int { queue[head...].reduce(0) { $0 + $1.rows } }

    private func loop() {
        while let jobs = nextBatch() {
            let start = Self.now()
            let timeout = UInt64(policy.timeoutMilliseconds) * 1_000_000
            var live: [Job] = []
            for job in jobs {
                if start - job.enqueued > timeout {
                    job.continuation.resume(
                        throwing: ServeError(
                            .timeout, "the request waited more than \(policy.timeoutMilliseconds) ms for the model"))
                } else {
                    live.append(job)
                }
            }
            guard !live.isEmpty else { continue }
            let rows = live.reduce(0) { $0 + $1.rows }
            var values: [Float] = []
            if live.count == 1 {
                values = live[0].input
            } else {
                values.reserveCapacity(live.reduce(0) { $0 + $1.input.count })
                for job in live { values += job.input }
            }
            do {
                let output = try withoutGradients { try run(Tensor(values, shape: [rows] + exampleShape)) }
                let flat = output.toArray(Float.self)
                guard flat.count == rows * outputValues else {
                    throw ServeError(.internalError, "the model gave \(output.shape) for \(rows) examples")
                }
                let end = Self.now()
                onRun()
                var offset = 0
                for job in live {
                    let count = job.rows * outputValues
                    job.continuation.resume(
                        returning: BatchResult(
                            output: Array(flat[offset..<(offset + count)]), queueNanoseconds: start - job.enqueued,
                            computeNanoseconds: end - start))
                    offset += count
                }
            } catch {
                for job in live { job.continuation.resume(throwing: error) }
            }
        }
    }
}
