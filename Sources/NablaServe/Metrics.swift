import Foundation

/// One model's counters, named as Triton names them, and a request-latency histogram, written
/// in Prometheus's text format.
final class ModelMetrics: @unchecked Sendable {
    let name: String, version: String
    private let lock = NSLock()
    private var success = 0, failure = 0, inferences = 0, executions = 0, pending = 0
    private var requestMicroseconds: UInt64 = 0, queueMicroseconds: UInt64 = 0, computeMicroseconds: UInt64 = 0
    /// Upper bounds of the latency histogram's buckets, in microseconds.
    static let bounds: [UInt64] = [
        100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
    ]
    private var buckets = [Int](repeating: 0, count: bounds.count)

    init(name: String, version: String) { (self.name, self.version) = (name, version) }

    /// Records a finished request: its whole time, and for a success its time queued and computing.
    func recordRequest(
        ok: Bool, examples: Int, totalNanoseconds: UInt64, queueNanoseconds: UInt64 = 0, computeNanoseconds: UInt64 = 0
    ) {
        let total = totalNanoseconds / 1000
        lock.lock()
        defer { lock.unlock() }
        if ok {
            success += 1
            inferences += examples
            queueMicroseconds += queueNanoseconds / 1000
            computeMicroseconds += computeNanoseconds / 1000
        } else {
            failure += 1
        }
        requestMicroseconds += total
        if let i = Self.bounds.firstIndex(where: { total <= $0 }) { buckets[i] += 1 }
    }

    /// Counts a request handed to the model (`by: 1`) or answered by it (`by: -1`).
    func changePending(by change: Int) {
        lock.lock()
        pending += change
        lock.unlock()
    }

    /// Records one run of the model over a batch.
    func recordExecution() {
        lock.lock()
        executions += 1
        lock.unlock()
    }

    /// The counters as Prometheus samples, by metric name.
    func samples() -> [(metric: String, line: String)] {
        lock.lock()
        defer { lock.unlock() }
        let labels = "model=\"\(name)\",version=\"\(version)\""
        var lines: [(String, String)] = [
            ("nv_inference_request_success", "nv_inference_request_success{\(labels)} \(success)"),
            ("nv_inference_request_failure", "nv_inference_request_failure{\(labels)} \(failure)"),
            ("nv_inference_count", "nv_inference_count{\(labels)} \(inferences)"),
            ("nv_inference_pending_request_count", "nv_inference_pending_request_count{\(labels)} \(pending)"),
            ("nv_inference_exec_count", "nv_inference_exec_count{\(labels)} \(executions)"),
            ("nv_inference_request_duration_us", "nv_inference_request_duration_us{\(labels)} \(requestMicroseconds)"),
            ("nv_inference_queue_duration_us", "nv_inference_queue_duration_us{\(labels)} \(queueMicroseconds)"),
            (
                "nv_inference_compute_infer_duration_us",
                "nv_inference_compute_infer_duration_us{\(labels)} \(computeMicroseconds)"
            ),
        ]
        var cumulative = 0
        for (bound, count) in zip(Self.bounds, buckets) {
            cumulative += count
            lines.append(
                (
                    "nabla_inference_request_latency_us",
                    "nabla_inference_request_latency_us_bucket{\(labels),le=\"\(bound)\"} \(cumulative)"
                ))
        }
        let total = success + failure
        lines.append(
            (
                "nabla_inference_request_latency_us",
                "nabla_inference_request_latency_us_bucket{\(labels),le=\"+Inf\"} \(total)"
            ))
        lines.append(
            (
                "nabla_inference_request_latency_us",
                "nabla_inference_request_latency_us_sum{\(labels)} \(requestMicroseconds)"
            ))
        lines.append(
            ("nabla_inference_request_latency_us", "nabla_inference_request_latency_us_count{\(labels)} \(total)"))
        return lines
    }

    /// Help and type of each metric, in the order they are written.
    static let descriptions: [(String, String, String)] = [
        ("nv_inference_request_success", "counter", "Number of successful inference requests"),
        ("nv_inference_request_failure", "counter", "Number of failed inference requests"),
        ("nv_inference_count", "counter", "Number of inferences performed (each example of a batch counts)"),
        ("nv_inference_pending_request_count", "gauge", "Requests handed to the model and not yet answered"),
        ("nv_inference_exec_count", "counter", "Number of model executions (batches run)"),
        ("nv_inference_request_duration_us", "counter", "Cumulative inference request duration in microseconds"),
        ("nv_inference_queue_duration_us", "counter", "Cumulative time requests waited for the model, in microseconds"),
        ("nv_inference_compute_infer_duration_us", "counter", "Cumulative compute time of the model, in microseconds"),
        ("nabla_inference_request_latency_us", "histogram", "Inference request latency in microseconds"),
    ]

    /// All models' metrics as one Prometheus text page.
    static func page(_ models: [ModelMetrics]) -> String {
        let samples = models.map { $0.samples() }
        var text = ""
        for (metric, type, help) in descriptions {
            text += "# HELP \(metric) \(help)\n# TYPE \(metric) \(type)\n"
            for model in samples { for s in model where s.metric == metric { text += s.line + "\n" } }
        }
        return text
    }
}
