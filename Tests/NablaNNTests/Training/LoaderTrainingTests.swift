import Foundation
import Nabla
import NablaData
import NablaNN
import NablaTestSupport
import Testing

/// Training fed by the data loader, as in a hand-written loop: the loader prepares batches on its
/// own threads, so switching augmentation on must not make the training loop wait for data.
@Suite struct LoaderTrainingTests {
    static func images(_ n: Int) throws -> InMemoryDataset {
        let pixels = Tensor.uniform([n, 28, 28, 1], high: 255, generator: RandomGenerator(seed: 4)).asType(.uint8)
        return try InMemoryDataset(
            images: pixels, labels: Tensor((0..<n).map { Int64($0 % 10) }), classNames: (0..<10).map(String.init))
    }

    /// Trains one epoch and returns how often the loop found its next batch not ready.
    static func waits(transform: any Transform, data: InMemoryDataset) throws -> (waits: Int, batches: Int, loss: Float)
    {
        let model: Sequential = Random.withSeed(1) {
            Sequential(inputShape: [28, 28, 1]) {
                Conv2D(filters: 8, kernelSize: 3, activation: .relu)
                MaxPool2D()
                Flatten()
                Dense(units: 10, activation: .softmax)
            }
        }
        model.isTraining = true
        let optimizer = Adam()
        let loss = SparseCategoricalCrossEntropy()
        let epoch = DataLoader(data, batchSize: 32, seed: 3, transform: transform, workers: 2, prefetch: 4).epoch(0)
        var (batches, last) = (0, Float.nan)
        while let batch = try? epoch.nextBatch() {
            let value = loss(model(batch.images), batch.labels)
            value.backward()
            try optimizer.step(model)
            (batches, last) = (batches + 1, value.item())
        }
        return (epoch.waits, batches, last)
    }

    @Test func augmentationDoesNotMakeTrainingWaitForData() throws {
        let data = try Self.images(512)
        let plain = try Self.waits(transform: Rescale(), data: data)
        let augmented = try Self.waits(
            transform: Compose([
                Rescale(), Augment.horizontalFlip(), Augment.randomCrop(height: 28, width: 28, padding: 2),
                Normalize(mean: [0.5], standardDeviation: [0.29]),
            ]), data: data)
        #expect(plain.batches == 16 && augmented.batches == 16)
        #expect(plain.loss.isFinite && augmented.loss.isFinite)
        // Only the very first batch may be waited for: every later one was ready when asked for.
        #expect(plain.waits <= 1, "plain: waited for \(plain.waits) of 16 batches")
        #expect(augmented.waits <= 1, "augmented: waited for \(augmented.waits) of 16 batches")
    }

    static func toy() throws -> InMemoryDataset {
        let (x, y) = Toy.data()
        return try InMemoryDataset(images: x, labels: y, classNames: ["left", "middle", "right"])
    }

    static func compiled() -> Sequential {
        let model: Sequential = Random.withSeed(5) { Toy.model() }
        model.compile(optimizer: Adam(learningRate: 0.05), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
        return model
    }

    @Test func fitOnALoaderLearnsAndRepeatsUnderASeed() throws {
        let data = try Self.toy()
        func run() throws -> History {
            try Self.compiled().fit(
                DataLoader(data, batchSize: 16, seed: 2), epochs: 4,
                validationData: DataLoader(data, batchSize: 32, shuffle: false), verbose: .silent, seed: 3)
        }
        let history = try run()
        #expect(history.epochs.count == 4)
        let first = try #require(history.epochs.first?["loss"]), last = try #require(history.epochs.last?["loss"])
        #expect(last < first)
        #expect((history.epochs.last?["val_accuracy"] ?? 0) > 0.9)
        #expect(try run().epochs == history.epochs)
    }

    @Test func fitOnAStreamAndEvaluateOnALoader() throws {
        let data = try Self.toy()
        let model = Self.compiled()
        let history = try model.fit(
            StreamLoader(SequentialStream(data), batchSize: 16, shuffleBuffer: 32, seed: 4), epochs: 3,
            verbose: .silent, seed: 1)
        #expect(history.epochs.count == 3)
        let (x, y) = Toy.data()
        let fromTensors = try model.evaluate(x: x, y: y, batchSize: 32)
        let fromLoader = try model.evaluate(DataLoader(data, batchSize: 32, shuffle: false))
        #expect(fromLoader.keys.sorted() == fromTensors.keys.sorted())
        for (key, value) in fromTensors {
            #expect(abs((fromLoader[key] ?? .nan) - value) < 1e-6, "\(key)")
        }
    }

    @Test func bytesWithoutRescaleAreAClearError() throws {
        let pixels = Tensor.uniform([8, 8, 8, 1], high: 255).asType(.uint8)
        let data = try InMemoryDataset(
            images: pixels, labels: Tensor((0..<8).map { Int64($0 % 3) }), classNames: ["a", "b", "c"])
        #expect {
            try Self.compiled().fit(DataLoader(data, batchSize: 4), verbose: .silent)
        } throws: {
            "\($0)".contains("training batch 0 holds uint8") && "\($0)".contains("Rescaling(scale: 1.0 / 255)")
        }
    }
}
