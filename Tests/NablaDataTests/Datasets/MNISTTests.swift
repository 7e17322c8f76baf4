import Foundation
import Nabla
import NablaData
import Testing

/// The real Fashion-MNIST, where Debian's dataset-fashion-mnist package installed it (CI does).
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist")))
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
