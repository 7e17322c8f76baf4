import Foundation
import Nabla
import NablaData
import NablaTestSupport
import Testing

@Suite struct DataLoaderTests {
    static func dataset(_ n: Int = 50) throws -> InMemoryDataset {
        let images = Tensor((0..<(n * 16)).map { UInt8($0 % 251) }, shape: [n, 4, 4, 1])
        return try InMemoryDataset(
            images: images, labels: Tensor((0..<n).map { Int64($0 % 5) }), classNames: ["a", "b", "c", "d", "e"])
    }

    static func collect(_ loader: DataLoader, epoch: Int) throws -> [[Float]] {
        let batches = loader.epoch(epoch)
        var out: [[Float]] = []
        while let batch = try batches.nextBatch() {
            out.append(batch.images.asType(.float32).toArray() + batch.labels.asType(.float32).toArray())
        }
        return out
    }

    @Test func sameSeedSameBatchesWithAnyNumberOfWorkers() throws {
        let transform = Compose([
            Rescale(), Augment.horizontalFlip(), Augment.randomCrop(height: 4, width: 4, padding: 1),
        ])
        let data = try Self.dataset()
        let one = try Self.collect(
            DataLoader(data, batchSize: 8, seed: 7, transform: transform, workers: 1, prefetch: 1), epoch: 0)
        let four = try Self.collect(
            DataLoader(data, batchSize: 8, seed: 7, transform: transform, workers: 4, prefetch: 6), epoch: 0)
        #expect(one == four)
        let nextEpoch = try Self.collect(
            DataLoader(data, batchSize: 8, seed: 7, transform: transform, workers: 2), epoch: 1)
        #expect(one != nextEpoch)
    }

    @Test func batchesCoverEveryExampleOnceAndKeepOrDropTheLastPartialBatch() throws {
        let data = try Self.dataset(50)
        let keep = DataLoader(data, batchSize: 8, seed: 1)
        #expect(keep.batchCount == 7)
        let epoch = keep.epoch(0)
        var seen: [Int64] = []
        var sizes: [Int] = []
        while let batch = try epoch.nextBatch() {
            sizes.append(batch.images.shape[0])
            // The first pixel of example i is 16·i mod 251: recover i.
            seen += batch.images.slice(axis: 1, end: 1).slice(axis: 2, end: 1).asType(.float32).toArray().map {
                Int64($0)
            }
        }
        #expect(sizes == [8, 8, 8, 8, 8, 8, 2])
        #expect(Set(seen).count == 50)
        let drop = DataLoader(data, batchSize: 8, dropLast: true, seed: 1)
        #expect(drop.batchCount == 6)
        #expect(try Self.collect(drop, epoch: 0).count == 6)
        let ordered = DataLoader(data, batchSize: 50, shuffle: false)
        #expect(ordered.order(epoch: 3) == Array(0..<50))
    }

    @Test func aBatchThatFailsIsAnErrorNotASkip() throws {
        struct Broken: Dataset {
            var count: Int { 10 }
            func batch(at indices: [Int]) throws -> Batch {
                if indices.contains(7) {
                    throw NablaError(.corruptFile, "example 7 is unreadable", path: "/data/7.png")
                }
                return Batch(
                    images: Tensor.zeros([indices.count, 1, 1, 1]), labels: Tensor.zeros([indices.count], dtype: .int64)
                )
            }
        }
        let epoch = DataLoader(Broken(), batchSize: 2, shuffle: false).epoch(0)
        #expect(try epoch.nextBatch() != nil)
        #expect { while try epoch.nextBatch() != nil {} } throws: { "\($0)".contains("/data/7.png") }
    }
}
