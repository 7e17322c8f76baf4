import CNablaKernels
import Dispatch
import Foundation

/// The shared worker threads that kernels split their work over.
///
/// Work is cut into chunks whose boundaries depend only on the problem size and the thread count,
/// and every output element is produced by exactly one chunk, so results never depend on
/// scheduling. `NABLA_NUM_THREADS` caps the number of threads (default: all cores).
public enum ThreadPool {
    /// The number of threads parallel kernels use.
    public static let threadCount: Int = {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if let text = ProcessInfo.processInfo.environment["NABLA_NUM_THREADS"], let n = Int(text), n > 0 {
            return min(n, max(cores, 1) * 4)
        }
        return max(cores, 1)
    }()

    /// Whether kernels called on this thread run on it alone (see ``serially(_:)``).
    @TaskLocal static var isSerial = false

    /// Runs `body` with every kernel it calls kept on the calling thread.
    ///
    /// For work that is already spread over threads of its own (the data loader's workers), so it
    /// does not compete with training for the pool. Results are the same either way.
    public static func serially<Result>(_ body: () throws -> Result) rethrows -> Result {
        try $isSerial.withValue(true, operation: body)
    }

    /// Runs `body(start, end)` over `[0, count)` cut into at most `threadCount` ranges of at least
    /// `grain` elements each; small problems run inline on the calling thread.
    static func parallelFor(_ count: Int, grain: Int, _ body: (Int, Int) -> Void) {
        guard count > 0 else { return }
        let chunks = isSerial ? 1 : min(threadCount, max(1, count / max(grain, 1)))
        if chunks <= 1 {
            body(0, count)
            return
        }
        let per = (count + chunks - 1) / chunks
        run(chunks) { c in
            let start = c * per
            let end = min(count, start + per)
            if start < end { body(start, end) }
        }
    }

    /// Runs `body(task)` for each task in `0..<tasks` on the pool.
    static func forEachTask(_ tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 0 else { return }
        if tasks == 1 || threadCount == 1 || isSerial {
            for t in 0..<tasks { body(t) }
            return
        }
        run(tasks, body)
    }

    /// Whether the spinning workers are there (`threadCount - 1` of them, started on first use).
    private static let hasWorkers: Bool = nbl_pool_start(Int32(clamping: threadCount - 1)) > 0

    /// Runs `body(task)` for every task on the spinning workers and this thread, or, when they are
    /// busy with another caller's work (or this is one of their tasks), on Dispatch's threads.
    private static func run(_ tasks: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var job = body
            let ran =
                hasWorkers
                && withUnsafeMutablePointer(to: &job) { pointer in
                    nbl_pool_run(
                        tasks,
                        { context, task in
                            context?.assumingMemoryBound(to: ((Int) -> Void).self).pointee(task)
                        }, pointer) != 0
                }
            if ran { return }
            let box = UnsafeSendable(body)
            let workers = min(threadCount, tasks)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for t in stride(from: w, to: tasks, by: workers) { box.value(t) }
            }
        }
    }
}

/// Carries a value the caller knows is safe to share across the pool's threads.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
