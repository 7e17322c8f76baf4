import Foundation
import Nabla
import NablaData
import NablaTestSupport
import Testing

/// The real Fashion-MNIST, where Debian's dataset-fashion-mnist package installed it (CI does).
@Suite(.requires(.fashionMNIST))
struct FashionMNISTTests {
    @Test func trainingSplitHas60000ImagesSixThousandPerClass() throws {
        let train = try MNIST.load(.fashion, split: .train, folder: "/usr/share/datasets/fashion-mnist")
        #expect(train.images.shape == [60_000, 28, 28, 1])
        #expect(train.classCounts == [Int](repeating: 6_000, count: 10))
    }

    @Test func testSplitHas10000ImagesOneThousandPerClass() throws {
        let test = try MNIST.load(.fashion, split: .test, folder: "/usr/share/datasets/fashion-mnist")
        #expect(test.images.shape == [10_000, 28, 28, 1])
        #expect(test.classCounts == [Int](repeating: 1_000, count: 10))
        #expect(test.classNames[9] == "Ankle boot")
    }

    @Test func discoveryFindsTheSystemCopy() throws {
        let folder = try DatasetDiscovery.locate(
            "fashion-mnist", files: ["t10k-labels-idx1-ubyte"], howToGet: "")
        #expect(FileManager.default.fileExists(atPath: DatasetDiscovery.path(of: "t10k-labels-idx1-ubyte", in: folder)))
    }
}

@Suite struct DiscoveryTests {
    @Test func missingDatasetSaysWhereItLookedAndHowToGetIt() {
        #expect {
            try DatasetDiscovery.locate("no-such-set", files: ["a"], howToGet: "Install it somehow.")
        } throws: { error in
            let text = "\(error)"
            return text.contains("/usr/share/datasets/no-such-set") && text.contains("Install it somehow.")
        }
    }
}

/// The real Fashion-MNIST streamed from its gzip files with a bounded shuffle buffer.
@Suite(.requires(.fashionMNIST))
struct FashionMNISTStreamTests {
    @Test func streamingTheTrainingSplitGivesEveryImageOnce() throws {
        let stream = try MNIST.stream(.fashion, split: .train, folder: "/usr/share/datasets/fashion-mnist")
        let loader = StreamLoader(stream, batchSize: 1000, shuffleBuffer: 5000, seed: 1)
        let epoch = loader.epoch(0)
        var (count, classes, imageSums) = (0, [Int](repeating: 0, count: 10), [Float]())
        while let batch = try epoch.nextBatch() {
            #expect(batch.images.shape.dropFirst() == [28, 28, 1])
            count += batch.labels.count
            for label in batch.labels.toArray(Int64.self) { classes[Int(label)] += 1 }
            imageSums += batch.images.asType(.float32).sum(axes: [1, 2, 3]).toArray()
        }
        #expect(count == 60_000)
        #expect(classes == [Int](repeating: 6_000, count: 10))
        // The same images as the whole file read at once (each image's pixel sum, exact in float32),
        // in another order.
        let all = try MNIST.load(.fashion, split: .train, folder: "/usr/share/datasets/fashion-mnist")
        let expected = all.images.asType(.float32).sum(axes: [1, 2, 3]).toArray()
        #expect(imageSums.sorted() == expected.sorted())
        #expect(imageSums.prefix(100) != expected.prefix(100))
    }
}
