import Foundation
import Nabla
import NablaModels
import NablaNN

/// Inference of the zoo's mnist_cnn: batch-1 latency (median and 99th percentile of single
/// calls) and batch-256 throughput, through `Model.predict`'s path (no gradients recorded).
enum InferBench {
    static func run() throws {
        Random.seed(1)
        let model = mnistCNN()
        model.isTraining = false
        let one = Tensor.uniform([1, 28, 28, 1], low: 0, high: 255)
        let batch = Tensor.uniform([256, 28, 28, 1], low: 0, high: 255)
        var latencies: [Double] = []
        withoutGradients {
            for _ in 0..<200 { _ = model(one) }
            for _ in 0..<2000 {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = model(one).contiguous()
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
        }
        latencies.sort()
        let seconds = try withoutGradients {
            try Measure.median(warmup: 2, repeats: 10) { _ = model(batch).contiguous() }
        }
        Measure.report(
            [
                "case": "infer_mnist_cnn", "batch1_p50_ms": latencies[latencies.count / 2],
                "batch1_p99_ms": latencies[latencies.count * 99 / 100], "batch256_images_per_s": 256 / seconds,
            ].merging(Measure.machine) { a, _ in a })
    }
}
