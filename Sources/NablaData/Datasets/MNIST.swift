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
                ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
            }
        }
    }

    /// The training or the test part.
    public enum Split: String, Sendable {
        case train
        case test

        var prefix: String { self == .train ? "train" : "t10k" }
    }

    /// Loads one split from the folder that holds its IDX files (found with ``DatasetDiscovery``
    /// when `folder` is nil): images `[N, 28, 28, 1]` uint8 and labels `[N]` int64.
    ///
    /// - Throws: ``NablaError`` when the files are missing, corrupt, or their counts differ.
    public static func load(_ variant: Variant, split: Split, folder: String? = nil) throws -> InMemoryDataset {
        let imageFile = "\(split.prefix)-images-idx3-ubyte", labelFile = "\(split.prefix)-labels-idx1-ubyte"
        let root = try folder
            ?? DatasetDiscovery.locate(
                variant.rawValue, files: [imageFile, labelFile],
                howToGet: variant == .fashion
                    ? "Install it with 'apt-get install dataset-fashion-mnist', or put the four IDX files in one of these folders."
                    : "Put the four IDX files (from the MNIST site or a mirror) in one of these folders.")
        let imagePath = DatasetDiscovery.path(of: imageFile, in: root)
        let labelPath = DatasetDiscovery.path(of: labelFile, in: root)
        let images = try IDXReader.read(imagePath)
        let labels = try IDXReader.read(labelPath)
        guard images.rank == 3, images.dtype == .uint8 else {
            throw NablaError(.corruptFile, "expected uint8 images [N, H, W], found \(images.dtype) \(images.shape)", path: imagePath)
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
