import Foundation
import Nabla

/// Timing and reporting helpers shared by the cases.
enum Measure {
    /// Returns the median wall time in seconds of `repeats` runs of `body`, after `warmup` runs.
    static func median(warmup: Int = 1, repeats: Int, _ body: () -> Void) -> Double {
        withoutActuallyEscaping(body) { alternating(warmup: warmup, repeats: repeats, [$0])[0] }
    }

    /// Returns the median wall times of `bodies`, run in turn `repeats` times after `warmup` rounds:
    /// each round times every body once, so a slow phase of a shared machine falls on all of them.
    static func alternating(warmup: Int = 1, repeats: Int, _ bodies: [() -> Void]) -> [Double] {
        for _ in 0..<warmup { for body in bodies { body() } }
        var times = [[Double]](repeating: [], count: bodies.count)
        for _ in 0..<repeats {
            for (i, body) in bodies.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                body()
                times[i].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        return times.map { $0.sorted()[$0.count / 2] }
    }

    /// Prints one JSON object on a line, keys sorted.
    static func report(_ fields: [String: Any]) {
        var rounded: [String: Any] = [:]
        for (k, v) in fields { rounded[k] = (v as? Double).map { ($0 * 1000).rounded() / 1000 } ?? v }
        if let data = try? JSONSerialization.data(withJSONObject: rounded, options: [.sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    static var machine: [String: Any] {
        ["threads": ThreadPool.threadCount, "isa": GEMM.builtinISA]
    }
}
