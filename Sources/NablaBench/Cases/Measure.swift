import Foundation
import Nabla

/// Timing and reporting helpers shared by the cases.
enum Measure {
    /// Returns the median wall time in seconds of `repeats` runs of `body`, after `warmup` runs.
    ///
    /// An error thrown by `body` ends the measurement: it is never timed as a speed.
    static func median(warmup: Int = 1, repeats: Int, _ body: () throws -> Void) throws -> Double {
        try withoutActuallyEscaping(body) { try alternating(warmup: warmup, repeats: repeats, [$0])[0] }
    }

    /// Returns the median wall times of `bodies`, run in turn `repeats` times after `warmup` rounds:
    /// each round times every body once, so a slow phase of a shared machine falls on all of them.
    static func alternating(warmup: Int = 1, repeats: Int, _ bodies: [() throws -> Void]) throws -> [Double] {
        for _ in 0..<warmup { for body in bodies { try body() } }
        var times = [[Double]](repeating: [], count: bodies.count)
        for _ in 0..<repeats {
            for (i, body) in bodies.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                times[i].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        return times.map { $0.sorted()[$0.count / 2] }
    }

    /// Prints one JSON object on a line, keys sorted.
    static func report(_ fields: [String: Any]) {
        var rounded: [String: Any] = [:]
        for (k, v) in fields { rounded[k] = (v as? Double).map { ($0 * 1000).rounded() / 1000 } ?? v }
        do {
            let data = try JSONSerialization.data(withJSONObject: rounded, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } catch {
            // Only a value JSON cannot hold (a non-finite number) gets here: a case's bug, not a result.
            fatalError("nabla-bench: a report that is not JSON: \(rounded) (\(error))")
        }
    }

    static var machine: [String: Any] {
        ["threads": ThreadPool.threadCount, "isa": GEMM.builtinISA]
    }
}
