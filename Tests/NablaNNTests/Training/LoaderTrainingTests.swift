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
    static func waits(transform: any Transform, data: InMemoryDataset) -> (waits: Int, batches: Int, loss: Float) {
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
            optimizer.step(model)
            (batches, last) = (batches + 1, value.item())
        }
        return (epoch.waits, batches, last)
    }

    @Test func augmentationDoesNotMakeTrainingWaitForData() throws {
        let data = try Self.images(512)
        let plain = Self.waits(transform: Rescale(), data: data)
        let augmented = Self.waits(
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
}
