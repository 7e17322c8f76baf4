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
    /// The most examples waiting or running at once; a request beyond it is answered 503.
    public var maxRowsInFlight: Int

    public init(
        maxBatchSize: Int = 64, maxQueueDelayMicroseconds: Int = 0, timeoutMilliseconds: Int = 10_000,
        idleSpinMicroseconds: Int = 1000, maxRowsInFlight: Int = 65536
    ) {
        (self.maxBatchSize, self.maxQueueDelayMicroseconds, self.timeoutMilliseconds, self.idleSpinMicroseconds) =
            (maxBatchSize, maxQueueDelayMicroseconds, timeoutMilliseconds, idleSpinMicroseconds)
        self.maxRowsInFlight = maxRowsInFlight
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
    /// One request: waiting, then running, then answered (by the model or by its deadline).
    private final class Job: @unchecked Sendable {
        enum State { case waiting, running, answered }
        let rows: Int
        let input: [Float]
        let enqueued: UInt64
        let continuation: CheckedContinuation<BatchResult, any Error>
        var state = State.waiting
        init(rows: Int, input: [Float], enqueued: UInt64, continuation: CheckedContinuation<BatchResult, any Error>) {
            (self.rows, self.input, self.enqueued, self.continuation) = (rows, input, enqueued, continuation)
        }
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
    /// The examples of requests waiting or running (bounded by the policy).
    private var rowsInFlight = 0
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
            guard rowsInFlight + rows <= policy.maxRowsInFlight else {
                continuation.resume(
                    throwing: ServeError(
                        .unavailable,
                        "\(rowsInFlight) examples are waiting or running and this request adds \(rows); the limit is \(policy.maxRowsInFlight) (--max-rows-in-flight): retry later"
                    ))
                return
            }
            let job = Job(rows: rows, input: input, enqueued: Self.now(), continuation: continuation)
            rowsInFlight += rows
            queue.append(job)
            condition.signal()
            // The deadline holds while the request waits, not only when it reaches the model.
            let timeout = DispatchTime.now() + .milliseconds(policy.timeoutMilliseconds)
            DispatchQueue.global().asyncAfter(deadline: timeout) { [weak self] in self?.expire(job) }
        }
    }

    /// Answers `job` with a timeout if it is still waiting.
    private func expire(_ job: Job) {
        condition.lock()
        defer { condition.unlock() }
        guard job.state == .waiting else { return }
        finish(job)
        job.continuation.resume(
            throwing: ServeError(
                .timeout, "the request waited more than \(policy.timeoutMilliseconds) ms for the model"))
    }

    /// Marks `job` answered and releases its rows; the caller holds the lock and resumes it.
    private func finish(_ job: Job) {
        job.state = .answered
        rowsInFlight -= job.rows
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
        // Requests whose deadline answered them while they waited are passed over.
        while head < queue.count && queue[head].state == .answered { head += 1 }
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
            return stopping ? nil : []
        }
        let delay = UInt64(policy.maxQueueDelayMicroseconds) * 1000
        if delay > 0 && policy.maxBatchSize > 1 {
            let deadline = queue[head].enqueued + delay
            while !stopping, waitingRows() < policy.maxBatchSize, Self.now() < deadline {
                let seconds = Double(deadline - min(deadline, Self.now())) / 1e9
                _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            }
        }
        while head < queue.count && queue[head].state == .answered { head += 1 }
        var batch: [Job] = []
        var rows = 0
        while head < queue.count, batch.isEmpty || rows + queue[head].rows <= policy.maxBatchSize {
            let job = queue[head]
            head += 1
            guard job.state == .waiting else { continue }
            job.state = .running
            rows += job.rows
            batch.append(job)
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

    private func waitingRows() -> Int { queue[head...].reduce(0) { $0 + ($1.state == .waiting ? $1.rows : 0) } }

    private func loop() {
        while let jobs = nextBatch() {
            guard !jobs.isEmpty else { continue }
            let start = Self.now()
            let timeout = UInt64(policy.timeoutMilliseconds) * 1_000_000
            var live: [Job] = []
            for job in jobs {
                if start - job.enqueued > timeout {
                    release([job])
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
            // Once answered (or failed), the requests' rows are released for others.
            defer { release(live) }
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

    /// Marks `jobs` answered and releases their rows.
    private func release(_ jobs: [Job]) {
        condition.lock()
        for job in jobs { finish(job) }
        condition.unlock()
    }
}
