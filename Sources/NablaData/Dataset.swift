import Nabla

/// A labelled set of images held in memory: `images` is `[N, H, W, C]` (uint8 or float32, NHWC) and
/// `labels` is `[N]` int64 class indices.
public struct InMemoryDataset: Sendable {
    /// The images, `[N, H, W, C]`.
    public var images: Tensor
    /// The class index of each image, `[N]` int64.
    public var labels: Tensor
    /// The name of each class, by index.
    public var classNames: [String]

    /// Creates a dataset, checking that images and labels agree.
    ///
    /// - Throws: `NablaError` (`.invalidArgument`) when the counts differ, images are not rank 4,
    ///   or a label lies outside `0..<classNames.count`.
    public init(images: Tensor, labels: Tensor, classNames: [String], source: String = "dataset") throws {
        guard images.rank == 4 else {
            throw NablaError(.invalidArgument, "images must be [N, H, W, C], got shape \(images.shape)", path: source)
        }
        guard labels.rank == 1, labels.shape[0] == images.shape[0] else {
            throw NablaError(
                .invalidArgument, "\(images.shape[0]) images but labels of shape \(labels.shape)", path: source)
        }
        guard [.int32, .int64, .uint8].contains(labels.dtype) else {
            // A float label (NaN, 2.5) has no class: converting it would silently pick one.
            throw NablaError(.invalidArgument, "labels must be integers, got \(labels.dtype)", path: source)
        }
        let values = labels.asType(.int64).toArray(Int64.self)
        if let bad = values.firstIndex(where: { $0 < 0 || $0 >= classNames.count }) {
            throw NablaError(
                .invalidArgument, "label \(values[bad]) of example \(bad) is outside 0..<\(classNames.count)",
                path: source)
        }
        self.images = images
        self.labels = labels.asType(.int64)
        self.classNames = classNames
    }

    /// The number of examples.
    public var count: Int { images.shape[0] }

    /// The number of examples of each class, by class index.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classNames.count)
        for label in labels.toArray(Int64.self) { counts[Int(label)] += 1 }
        return counts
    }

    /// Returns the examples at `indices` (a copy).
    public func subset(_ indices: [Int]) -> InMemoryDataset {
        let index = Tensor(indices.map(Int64.init))
        // The checks in init already hold for any subset.
        var copy = self
        copy.images = images.gathered(index)
        copy.labels = labels.gathered(index)
        return copy
    }
}
