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

        /// Where the four files are published.
        ///
        /// MNIST digits come from PyTorch's mirror of the original site (which often refuses
        /// downloads); the files are the same.
        public var source: URL {
            let address =
                switch self {
                case .digits: "https://ossci-datasets.s3.amazonaws.com/mnist/"
                case .fashion: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
                }
            guard let url = URL(string: address) else { misuse("MNIST: bad source address \(address)") }
            return url
        }

        /// The SHA-256 of each published file.
        var checksums: [String: String] {
            switch self {
            case .digits:
                [
                    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                ]
            case .fashion:
                [
                    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
                    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
                    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
                    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
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

    /// Whether and where a dataset found nowhere is downloaded from.
    public enum Download: Sendable {
        /// Never: a missing dataset is an error that says how to get it.
        case never
        /// From the variant's ``Variant/source``.
        case fromPublisher
        /// From a mirror holding the same four files.
        case from(URL)
    }

    /// Downloads the four files of `variant`, checking each file's SHA-256; returns the folder.
    ///
    /// Files come from `source` (its ``Variant/source`` by default) into `folder` (the first search
    /// folder by default), each written atomically.
    ///
    /// - Throws: `NablaError` for a failed transfer or a checksum that does not match.
    public static func download(
        _ variant: Variant, from source: URL? = nil, into folder: String? = nil
    ) throws
        -> String
    {
        let target = folder ?? DatasetDiscovery.searchFolders(for: variant.rawValue)[0]
        for (file, sha256) in variant.checksums.sorted(by: { $0.key < $1.key }) {
            try DatasetDownload.fetch(
                (source ?? variant.source).appendingPathComponent(file), to: "\(target)/\(file)", sha256: sha256)
        }
        return target
    }

    /// Returns the paths of one split's image and label IDX files: in `folder`, or found with
    /// ``DatasetDiscovery``, or downloaded as `download` says.
    static func files(
        _ variant: Variant, split: Split, folder: String?, download: Download
    ) throws -> (images: String, labels: String) {
        let imageFile = "\(split.prefix)-images-idx3-ubyte", labelFile = "\(split.prefix)-labels-idx1-ubyte"
        let howToGet =
            variant == .fashion
            ? "Install it with 'apt-get install dataset-fashion-mnist', or put the four IDX files in one of these folders."
            : "Run MNIST.download(.digits), or put the four IDX files in one of these folders."
        let root: String
        if let folder {
            root = folder
        } else {
            do {
                root = try DatasetDiscovery.locate(variant.rawValue, files: [imageFile, labelFile], howToGet: howToGet)
            } catch let missing as NablaError {
                let mirror: URL?
                switch download {
                case .never: throw missing
                case .fromPublisher: mirror = nil
                case .from(let url): mirror = url
                }
                do { root = try self.download(variant, from: mirror) } catch {
                    throw NablaError(.notFound, "\(missing.message) Downloading it failed too: \(error)")
                }
            }
        }
        return (DatasetDiscovery.path(of: imageFile, in: root), DatasetDiscovery.path(of: labelFile, in: root))
    }

    /// Returns `split` of `variant` as a stream read from its IDX files with constant memory (see
    /// ``StreamLoader``), found and fetched as ``load(_:split:folder:download:)`` does.
    public static func stream(
        _ variant: Variant, split: Split, folder: String? = nil, download: Download = .fromPublisher
    ) throws -> IDXStreamingDataset {
        let (imagePath, labelPath) = try files(variant, split: split, folder: folder, download: download)
        return IDXStreamingDataset(images: imagePath, labels: labelPath, classNames: variant.classNames)
    }

    /// Loads one split from the folder that holds its IDX files (found with ``DatasetDiscovery``
    /// when `folder` is nil): images `[N, 28, 28, 1]` uint8 and labels `[N]` int64.
    ///
    /// A dataset found nowhere is downloaded as `download` says (by default from its publisher,
    /// ``Variant/source``), with a checksum check.
    /// - Throws: `NablaError` when the files are missing and cannot be fetched, are corrupt, or
    ///   their counts differ.
    public static func load(
        _ variant: Variant, split: Split, folder: String? = nil, download: Download = .fromPublisher
    ) throws -> InMemoryDataset {
        let (imagePath, labelPath) = try files(variant, split: split, folder: folder, download: download)
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
