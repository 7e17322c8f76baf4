import Foundation
import Nabla
import NablaData
import NablaModels
import NablaNN

/// The data loader on Fashion-MNIST (random images when it is not installed): samples per second
/// with flip + crop augmentation and normalisation on worker threads, and the training throughput
/// of mnist_cnn fed by the loader with and without that augmentation, in the same run.
enum LoaderBench {
    static func dataset() -> (InMemoryDataset, String) {
        if let train = try? MNIST.load(.fashion, split: .train, downloadSource: nil) { return (train, "fashion-mnist") }
        let images = Tensor.uniform([60_000, 28, 28, 1], low: 0, high: 255).asType(.uint8)
        let labels = Tensor((0..<60_000).map { Int64($0 % 10) })
        do {
            return (
                try InMemoryDataset(images: images, labels: labels, classNames: (0..<10).map(String.init)), "random"
            )
        } catch {
            fatalError("unreachable: labels 0..<10 are valid for 10 classes (\(error))")
        }
    }

    static let augmentation: any Transform = Compose([
        Rescale(), Augment.horizontalFlip(), Augment.randomCrop(height: 28, width: 28, padding: 2),
        Normalize(mean: [0.286], standardDeviation: [0.353]),
    ])

    static func run() {
        let (data, source) = dataset()
        let loader = DataLoader(data, batchSize: 128, seed: 1, transform: augmentation)
        var seconds = Measure.median(warmup: 0, repeats: 3) {
            let epoch = loader.epoch(0)
            while (try? epoch.nextBatch()) != nil {}
        }
        Measure.report(
            [
                "case": "loader_augmented", "data": source, "batch": 128, "workers": loader.workers,
                "samples_per_s": Double(data.count) / seconds,
            ].merging(Measure.machine) { a, _ in a })

        // Training fed by the loader: plain scaling versus the augmentation above.
        let subset = data.subset(Array(0..<5120))
        var throughput: [String: Double] = [:]
        for (name, transform) in [("plain", Rescale() as any Transform), ("augmented", augmentation)] {
            let model = Random.withSeed(1) { mnistCNN() }
            model.isTraining = true
            let optimizer = Adam()
            let loss = SparseCategoricalCrossEntropy()
            let feed = DataLoader(subset, batchSize: 128, seed: 2, transform: transform)
            func epoch(_ e: Int) {
                let batches = feed.epoch(e)
                while let batch = try? batches.nextBatch() {
                    loss(model(batch.images), batch.labels).backward()
                    optimizer.step(model)
                }
            }
            epoch(0)
            seconds = Measure.median(warmup: 0, repeats: 1) { epoch(1) }
            throughput[name] = Double(subset.count) / seconds
        }
        Measure.report(
            [
                "case": "train_mnist_cnn_loader", "data": source, "plain_samples_per_s": throughput["plain"] ?? 0,
                "augmented_samples_per_s": throughput["augmented"] ?? 0,
                "augmented_over_plain": (throughput["augmented"] ?? 0) / max(throughput["plain"] ?? 1, 1e-9),
            ].merging(Measure.machine) { a, _ in a })
    }
}
