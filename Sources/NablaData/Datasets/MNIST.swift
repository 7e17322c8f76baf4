import Foundation
import Nabla

/// MNIST digits and Fashion-MNIST clothing: 28×28 grey images in 10 classes, 60,000 for training
/// and 10,000 for testing, stored as IDX files.
public enum MNIST {
    /// Which of the two datasets.
    public enum Variant: String, Sendable, CaseIterable {
        case digits = "mnist"
        case fashion = "fashion-mnist"

        /// The class names, by label.
        public var classNames: [String] {
            switch self {
            case .digits: (0..<10).map(String.init)
            case .fashion:
                [
                    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                    "Ankle boot",
                ]
            }
        }
    }

    /// The training or the test part.
    public enum Split: String, Sendable {
        case train
        case test

        var prefix: String { self == .train ? "train" : "t10k" }
    }

    /// Where Fashion-MNIST is published, and the SHA-256 of each of its files.
    public static let fashionSource = URL(string: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")
    static let fashionChecksums = [
        "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    ]

    /// Downloads Fashion-MNIST's four files from `source` into `folder` (the first search folder by
    /// default), checking each file's SHA-256; returns the folder.
    public static func downloadFashion(from source: URL? = fashionSource, into folder: String? = nil) throws -> String {
        guard let source else { throw NablaError(.invalidArgument, "no download source for fashion-mnist") }
        let target = folder ?? DatasetDiscovery.searchFolders(for: Variant.fashion.rawValue)[0]
        for (file, sha256) in fashionChecksums.sorted(by: { $0.key < $1.key }) {
            try DatasetDownload.fetch(source.appendingPathComponent(file), to: "\(target)/\(file)", sha256: sha256)
        }
        return target
    }

    /// Returns the paths of one split's image and label IDX files: in `folder`, or found with
    /// ``DatasetDiscovery``, or (Fashion-MNIST) downloaded.
    static func files(
        _ variant: Variant, split: Split, folder: String?, downloadSource: URL?
    ) throws -> (images: String, labels: String) {
        let imageFile = "\(split.prefix)-images-idx3-ubyte", labelFile = "\(split.prefix)-labels-idx1-ubyte"
        let howToGet =
            variant == .fashion
            ? "Install it with 'apt-get install dataset-fashion-mnist', or put the four IDX files in one of these folders."
            : "Put the four IDX files (from the MNIST site or a mirror) in one of these folders."
        let root: String
        if let folder {
            root = folder
        } else {
            do {
                root = try DatasetDiscovery.locate(variant.rawValue, files: [imageFile, labelFile], howToGet: howToGet)
            } catch let missing as NablaError where variant == .fashion && downloadSource != nil {
                do { root = try downloadFashion(from: downloadSource) } catch {
                    throw NablaError(.notFound, "\(missing.message) Downloading it failed too: \(error)")
                }
            }
        }
        return (DatasetDiscovery.path(of: imageFile, in: root), DatasetDiscovery.path(of: labelFile, in: root))
    }

    /// Returns `split` of `variant` as a stream read from its IDX files with constant memory (see
    /// ``StreamLoader``), found and fetched as ``load(_:split:folder:downloadSource:)`` does.
    public static func stream(
        _ variant: Variant, split: Split, folder: String? = nil, downloadSource: URL? = fashionSource
    ) throws -> IDXStreamingDataset {
        let (imagePath, labelPath) = try files(variant, split: split, folder: folder, downloadSource: downloadSource)
        return IDXStreamingDataset(images: imagePath, labels: labelPath, classNames: variant.classNames)
    }

    /// Loads one split from the folder that holds its IDX files (found with ``DatasetDiscovery``
    /// when `folder` is nil): images `[N, 28, 28, 1]` uint8 and labels `[N]` int64.
    ///
    /// Fashion-MNIST found nowhere is downloaded from `downloadSource` (its canonical site by
    /// default; nil never downloads) with a checksum check.
    /// - Throws: ``NablaError`` when the files are missing and cannot be fetched, are corrupt, or
    ///   their counts differ.
    public static func load(
        _ variant: Variant, split: Split, folder: String? = nil, downloadSource: URL? = fashionSource
    ) throws -> InMemoryDataset {
        let (imagePath, labelPath) = try files(variant, split: split, folder: folder, downloadSource: downloadSource)
        let images = try IDXReader.read(imagePath)
        let labels = try IDXReader.read(labelPath)
        guard images.rank == 3, images.dtype == .uint8 else {
            throw NablaError(
                .corruptFile, "expected uint8 images [N, H, W], found \(images.dtype) \(images.shape)", path: imagePath)
        }
        guard labels.rank == 1, labels.shape[0] == images.shape[0] else {
            throw NablaError(
                .corruptFile, "\(labels.shape.first ?? 0) labels for \(images.shape[0]) images in \(imagePath)",
                path: labelPath)
        }
        return try InMemoryDataset(
            images: images.reshaped(images.shape + [1]), labels: labels.asType(.int64),
            classNames: variant.classNames, source: labelPath)
    }
}
