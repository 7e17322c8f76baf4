import Foundation
import Nabla
import NablaData
import NablaModels
import NablaNN

/// The data loader on Fashion-MNIST (it throws without it): samples per second
/// with flip + crop augmentation and normalisation on worker threads, and the training throughput
/// of mnist_cnn fed by the loader with and without that augmentation, in the same run.
enum LoaderBench {
    static func dataset() throws -> (InMemoryDataset, String) {
        (try MNIST.load(.fashion, split: .train, download: .never), "fashion-mnist")
    }

    static let augmentation: any Transform = Compose([
        Rescale(), Augment.horizontalFlip(), Augment.randomCrop(height: 28, width: 28, padding: 2),
        Normalize(mean: [0.286], standardDeviation: [0.353]),
    ])

    static func run() throws {
        let (data, source) = try dataset()
        let loader = DataLoader(data, batchSize: 128, seed: 1, transform: augmentation)
        var seconds = try Measure.median(warmup: 0, repeats: 3) {
            let epoch = loader.epoch(0)
            while try epoch.nextBatch() != nil {}
        }
        Measure.report(
            [
                "case": "loader_augmented", "data": source, "batch": 128, "workers": loader.workers,
                "samples_per_s": Double(data.count) / seconds,
            ].merging(Measure.machine) { a, _ in a })

        // The same pipeline streamed from the gzip IDX files through a 10,000-example shuffle buffer.
        do {
            let stream = try MNIST.stream(.fashion, split: .train, download: .never)
            let streamed = StreamLoader(stream, batchSize: 128, shuffleBuffer: 10_000, seed: 1, transform: augmentation)
            var count = 0
            seconds = try Measure.median(warmup: 0, repeats: 3) {
                count = 0
                let epoch = streamed.epoch(0)
                while let batch = try epoch.nextBatch() { count += batch.labels.count }
            }
            Measure.report(
                [
                    "case": "stream_loader_augmented", "data": "fashion-mnist-gzip", "batch": 128, "examples": count,
                    "shuffle_buffer": 10_000, "samples_per_s": Double(count) / seconds,
                ].merging(Measure.machine) { a, _ in a })
        }

        // One worker thread alone: the CPU cost of preparing a sample.
        let single = DataLoader(data, batchSize: 128, seed: 1, transform: augmentation, workers: 1)
        let oneWorker = try Measure.median(warmup: 0, repeats: 3) {
            let epoch = single.epoch(0)
            while try epoch.nextBatch() != nil {}
        }
        Measure.report(
            [
                "case": "loader_augmented_one_worker", "data": source, "batch": 128,
                "microseconds_per_sample": oneWorker / Double(data.count) * 1e6,
            ].merging(Measure.machine) { a, _ in a })

        // Training fed by the loader: plain scaling versus the augmentation above, alternating
        // epochs so that a change in the machine's speed hits both alike.
        let subset = data.subset(Array(0..<2560))
        let transforms: [(String, any Transform)] = [("plain", Rescale()), ("augmented", augmentation)]
        let model = Random.withSeed(1) { mnistCNN() }
        model.isTraining = true
        let optimizer = Adam()
        let loss = SparseCategoricalCrossEntropy()
        var samplesPerSecond: [String: [Double]] = [:]
        var waits: [String: Int] = [:]
        for round in 0...10 {
            for (name, transform) in transforms {
                let batches = DataLoader(subset, batchSize: 128, seed: 2, transform: transform).epoch(round)
                let start = DispatchTime.now().uptimeNanoseconds
                while let batch = try batches.nextBatch() {
                    loss(model(batch.images), batch.labels).backward()
                    try optimizer.step(model)
                }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                // Round 0 warms the caches and the allocator.
                if round > 0 {
                    samplesPerSecond[name, default: []].append(Double(subset.count) / elapsed)
                    waits[name, default: 0] += batches.waits
                }
            }
        }
        let ratios = zip(samplesPerSecond["augmented"] ?? [], samplesPerSecond["plain"] ?? []).map { $0 / $1 }
        func median(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.sorted()[values.count / 2] }
        let preparing = oneWorker / Double(data.count)
        Measure.report(
            [
                "case": "train_mnist_cnn_loader", "data": source, "rounds": ratios.count,
                "plain_samples_per_s": median(samplesPerSecond["plain"] ?? []),
                "augmented_samples_per_s": median(samplesPerSecond["augmented"] ?? []),
                "augmented_over_plain_each_round": ratios.map { ($0 * 1000).rounded() / 1000 },
                "augmented_over_plain": median(ratios), "batches_waited_for_plain": waits["plain"] ?? 0,
                "batches_waited_for_augmented": waits["augmented"] ?? 0,
                // The share of the machine that preparing augmented batches takes at this training speed.
                "augmentation_cpu_share": preparing * median(samplesPerSecond["augmented"] ?? []),
            ].merging(Measure.machine) { a, _ in a })
    }
}
