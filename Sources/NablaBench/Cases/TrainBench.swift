import Foundation
import Nabla
import NablaData
import NablaModels
import NablaNN

/// Training throughput of the zoo's mnist_cnn (or the Keras mnist_mlp, 784-512-512-10) through
/// `Model.fit` (Adam 1e-3, batch 128), on the first 6,400 Fashion-MNIST training images, and the
/// process's peak memory.
///
/// Without Fashion-MNIST it throws: random images would be another benchmark.
enum TrainBench {
    static func run(model name: String = "mnist_cnn") throws {
        let subset = try MNIST.load(.fashion, split: .train, download: .never).subset(Array(0..<6400))
        let (images, labels, source) = (subset.images, subset.labels, "fashion-mnist")
        Random.seed(1)
        let model = name == "mlp" ? mlp() : mnistCNN()
        model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
        // Warm-up: one short epoch (allocator caches, thread pool, packing buffers).
        _ = try model.fit(
            x: images.slice(axis: 0, end: 640), y: labels.slice(axis: 0, end: 640), batchSize: 128, epochs: 1,
            verbose: .silent, seed: 1)
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try model.fit(x: images, y: labels, batchSize: 128, epochs: 1, verbose: .silent, seed: 2)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        Measure.report(
            [
                "case": "train_\(name)_fit", "batch": 128, "examples": images.shape[0], "data": source,
                "samples_per_s": Double(images.shape[0]) / seconds, "peak_rss_mb": Double(usage.ru_maxrss) / 1024,
            ].merging(Measure.machine) { a, _ in a })
    }
}
