import Foundation
import Nabla
import NablaData
import NablaTestSupport
import Testing

@Suite struct StreamLoaderTests {
    /// Example i's first pixel is i (for up to 256 examples), so its position can be traced.
    static func dataset(_ n: Int) throws -> InMemoryDataset {
        let pixels = (0..<n).flatMap { i in [UInt8(i)] + [UInt8](repeating: UInt8(i % 7), count: 15) }
        return try InMemoryDataset(
            images: Tensor(pixels, shape: [n, 4, 4, 1]), labels: Tensor((0..<n).map { Int64($0 % 5) }),
            classNames: ["a", "b", "c", "d", "e"])
    }

    /// Returns the examples of one epoch in the order they came, and the batch sizes.
    static func drain(_ loader: StreamLoader, epoch: Int = 0) throws -> (ids: [Int], sizes: [Int]) {
        let batches = loader.epoch(epoch)
        var (ids, sizes) = ([Int](), [Int]())
        while let batch = try batches.nextBatch() {
            sizes.append(batch.labels.count)
            let first = batch.images.slice(axis: 1, end: 1).slice(axis: 2, end: 1).asType(.float32).toArray()
            ids += first.map { Int($0) }
            // Labels travel with their images.
            #expect(batch.labels.toArray(Int64.self) == first.map { Int64(Int($0) % 5) })
        }
        return (ids, sizes)
    }

    @Test func aBufferAsLargeAsTheDataShufflesEveryExampleOnce() throws {
        let stream = SequentialStream(try Self.dataset(50))
        let (ids, sizes) = try Self.drain(StreamLoader(stream, batchSize: 8, shuffleBuffer: 64, seed: 1))
        #expect(sizes == [8, 8, 8, 8, 8, 8, 2])
        #expect(ids.sorted() == Array(0..<50))
        #expect(ids != Array(0..<50))
        let dropped = try Self.drain(StreamLoader(stream, batchSize: 8, dropLast: true, seed: 1))
        #expect(dropped.sizes == [Int](repeating: 8, count: 6))
        let ordered = try Self.drain(StreamLoader(stream, batchSize: 8, shuffle: false))
        #expect(ordered.ids == Array(0..<50))
    }

    @Test func aSmallBufferShufflesWithinItsReach() throws {
        let stream = SequentialStream(try Self.dataset(200))
        let (ids, _) = try Self.drain(StreamLoader(stream, batchSize: 16, shuffleBuffer: 10, seed: 3))
        #expect(ids.sorted() == Array(0..<200))
        // Example i enters the buffer once i − 10 examples have left it, so it cannot leave earlier.
        for (position, id) in ids.enumerated() { #expect(position >= id - 9, "example \(id) at \(position)") }
        #expect(ids != Array(0..<200))
    }

    @Test func sameSeedSameBatchesWithAnyNumberOfWorkers() throws {
        let stream = SequentialStream(try Self.dataset(60))
        let transform = Compose([
            Rescale(), Augment.horizontalFlip(), Augment.randomCrop(height: 4, width: 4, padding: 1),
        ])
        func images(workers: Int, epoch: Int) throws -> [[Float]] {
            let batches = StreamLoader(
                stream, batchSize: 8, shuffleBuffer: 20, seed: 9, transform: transform, workers: workers, prefetch: 3
            ).epoch(epoch)
            var out: [[Float]] = []
            while let batch = try batches.nextBatch() { out.append(batch.images.toArray()) }
            return out
        }
        let one = try images(workers: 1, epoch: 0)
        #expect(try images(workers: 4, epoch: 0) == one)
        #expect(try images(workers: 2, epoch: 1) != one)
    }

    @Test func anErrorInTheStreamComesAfterTheBatchesBeforeIt() throws {
        struct Failing: StreamingDataset {
            final class Reader: ExampleStream {
                var served = 0
                func next(maxCount: Int) throws -> Batch? {
                    guard served < 40 else { throw NablaError(.corruptFile, "example 40 is unreadable", path: "/x") }
                    let n = Swift.min(maxCount, 40 - served)
                    served += n
                    return Batch(images: Tensor.zeros([n, 2, 2, 1]), labels: Tensor.zeros([n], dtype: .int64))
                }
            }
            func makeStream() throws -> any ExampleStream { Reader() }
        }
        let batches = StreamLoader(Failing(), batchSize: 8, shuffle: false).epoch(0)
        var delivered = 0
        #expect {
            while let batch = try batches.nextBatch() { delivered += batch.labels.count }
        } throws: { "\($0)".contains("example 40") }
        #expect(delivered >= 32)
        #expect(try batches.nextBatch() == nil)
    }
}

@Suite struct StreamingReaderTests {
    static func writeIDX(
        _ folder: String, count: Int, labelCount: Int? = nil, compressed: Bool
    ) throws -> (String, String, [UInt8], [UInt8]) {
        let pixels = (0..<(count * 6)).map { UInt8($0 * 7 % 256) }
        let labels = (0..<(labelCount ?? count)).map { UInt8($0 % 3) }
        var imageData = IDXFixture.idx(shape: [count, 2, 3], bytes: pixels)
        var labelData = IDXFixture.idx(shape: [labels.count], bytes: labels)
        if compressed { (imageData, labelData) = (IDXFixture.gzip(imageData), IDXFixture.gzip(labelData)) }
        let (imagePath, labelPath) = ("\(folder)/images", "\(folder)/labels")
        try imageData.write(to: URL(fileURLWithPath: imagePath))
        try labelData.write(to: URL(fileURLWithPath: labelPath))
        return (imagePath, labelPath, pixels, labels)
    }

    static func readAll(_ stream: any ExampleStream, chunk: Int = 7) throws -> (images: [UInt8], labels: [Int64]) {
        var (images, labels) = ([UInt8](), [Int64]())
        while let batch = try stream.next(maxCount: chunk) {
            images += batch.images.toArray(UInt8.self)
            labels += batch.labels.toArray(Int64.self)
        }
        return (images, labels)
    }

    @Test(arguments: [false, true])
    func idxStreamReadsWhatTheFileHolds(compressed: Bool) throws {
        let folder = IDXFixture.temporaryFolder()
        let (imagePath, labelPath, pixels, labels) = try Self.writeIDX(folder, count: 40, compressed: compressed)
        let dataset = IDXStreamingDataset(images: imagePath, labels: labelPath, classNames: ["a", "b", "c"])
        let stream = try dataset.makeStream()
        let first = try #require(try stream.next(maxCount: 5))
        #expect(first.images.shape == [5, 2, 3, 1])
        let rest = try Self.readAll(stream)
        #expect(first.images.toArray(UInt8.self) + rest.images == pixels)
        #expect(first.labels.toArray(Int64.self) + rest.labels == labels.map(Int64.init))
    }

    @Test func idxStreamErrorsNameTheFileAndExample() throws {
        let folder = IDXFixture.temporaryFolder()
        let (imagePath, labelPath, _, _) = try Self.writeIDX(folder, count: 40, labelCount: 39, compressed: true)
        let mismatched = IDXStreamingDataset(images: imagePath, labels: labelPath, classNames: ["a", "b", "c"])
        #expect { try mismatched.makeStream() } throws: { "\($0)".contains("39 labels for 40 images") }

        // A gzip stream cut short: the examples before the cut read, then an error names the file.
        let whole = IDXFixture.gzip(IDXFixture.idx(shape: [400, 2, 3], bytes: (0..<2400).map { UInt8($0 * 31 % 251) }))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: imagePath))
        try IDXFixture.idx(shape: [400], bytes: [UInt8](repeating: 1, count: 400)).write(
            to: URL(fileURLWithPath: labelPath))
        let cut = try IDXStreamingDataset(images: imagePath, labels: labelPath, classNames: ["a", "b"]).makeStream()
        var read = 0
        #expect {
            while let batch = try cut.next(maxCount: 10) { read += batch.labels.count }
        } throws: { "\($0)".contains(imagePath) && "\($0)".contains("is cut off") }
        #expect(read > 0 && read < 400)

        try Data([1, 2, 3, 4, 5, 6, 7, 8]).write(to: URL(fileURLWithPath: imagePath))
        let wrong = IDXStreamingDataset(images: imagePath, labels: labelPath, classNames: ["a"])
        #expect { try wrong.makeStream() } throws: { "\($0)".contains("wrong magic number") }
        let missing = IDXStreamingDataset(images: folder + "/none", labels: labelPath, classNames: ["a"])
        #expect { try missing.makeStream() } throws: { "\($0)".contains("none") }
    }

    @Test func csvStreamReadsWhatKaggleCSVReads() throws {
        let folder = IDXFixture.temporaryFolder()
        let path = folder + "/train.csv"
        var text = "label," + (0..<4).map { "pixel\($0)" }.joined(separator: ",") + "\r\n"
        for i in 0..<23 { text += "\(i % 10),\(i),\(2 * i),\(255 - i),0\r\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let expected = try KaggleCSV.read(path)
        let streamed = try Self.readAll(try CSVStreamingDataset(path: path).makeStream(), chunk: 5)
        #expect(streamed.images == expected.images.toArray(UInt8.self))
        #expect(streamed.labels == expected.labels?.toArray(Int64.self))

        try (text + "3,1,2,x,4\n").write(toFile: path, atomically: true, encoding: .utf8)
        let broken = try CSVStreamingDataset(path: path).makeStream()
        var read = 0
        #expect {
            while let batch = try broken.next(maxCount: 5) { read += batch.labels.count }
        } throws: { "\($0)".contains("line 25, column 4") && "\($0)".contains(path) }
        #expect(read == 20)
        try "pixel0,pixel1,pixel2,pixel3\n1,2,3,4\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try CSVStreamingDataset(path: path).makeStream() } throws: { "\($0)".contains("no label column") }
    }
}
