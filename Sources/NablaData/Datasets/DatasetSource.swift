import Foundation
import Nabla

/// Opens a dataset from what a user types on the command line.
public enum DatasetSource {
    /// A dataset with its class names.
    public struct Opened: Sendable {
        public var dataset: any Dataset
        public var classNames: [String]
        public var labels: [Int64]
        public var description: String
    }

    /// Opens a dataset by name or path.
    ///
    /// `path` is `mnist` / `fashion-mnist` (the training split, found or fetched), a folder of
    /// class sub-folders of images, a CIFAR binary file (`.bin`), a Kaggle CSV (`.csv`), or packed
    /// record shards (`.nblrec`, comma-separated). Image folders are resized to `size`.
    ///
    /// - Throws: `NablaError` when the path is none of these, cannot be read, or holds no examples.
    public static func open(_ path: String, size: (Int, Int) = (64, 64)) throws -> Opened {
        let opened = try openAny(path, size: size)
        guard opened.dataset.count > 0 else {
            throw NablaError(.invalidArgument, "the dataset holds no examples", path: path)
        }
        return opened
    }

    private static func openAny(_ path: String, size: (Int, Int)) throws -> Opened {
        if let variant = MNIST.Variant(rawValue: path) {
            let d = try MNIST.load(variant, split: .train)
            return Opened(
                dataset: d, classNames: d.classNames, labels: d.labels.toArray(Int64.self),
                description: "\(path) (training split)")
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            let folder = try ImageFolder(root: path, size: size)
            return Opened(
                dataset: folder, classNames: folder.classNames, labels: folder.labels.map(Int64.init),
                description: "image folder \(path)")
        }
        switch (path as NSString).pathExtension.lowercased() {
        case "bin":
            let (images, labels) = try CIFARBinaryReader.read([path], variant: .cifar10)
            let d = try InMemoryDataset(
                images: images, labels: labels, classNames: CIFARBinaryReader.cifar10Classes, source: path)
            return Opened(
                dataset: d, classNames: d.classNames, labels: labels.toArray(Int64.self),
                description: "CIFAR-10 binary \(path)")
        case "csv":
            let (images, labels) = try KaggleCSV.read(path)
            let values = labels?.toArray(Int64.self) ?? Array(repeating: 0, count: images.shape[0])
            let classes = (Int(values.max() ?? 0) + 1)
            let d = try InMemoryDataset(
                images: images, labels: Tensor(values), classNames: (0..<classes).map(String.init), source: path)
            return Opened(dataset: d, classNames: d.classNames, labels: values, description: "Kaggle CSV \(path)")
        case "nblrec":
            let paths = path.split(separator: ",").map(String.init)
            let d = try RecordDataset(paths: paths)
            let labels = (0..<d.count).map { d.label($0) }
            return Opened(
                dataset: d, classNames: (0..<d.classCount).map(String.init), labels: labels,
                description: "record shards \(path)")
        default:
            throw NablaError(
                .invalidArgument,
                "not a dataset: expected mnist, fashion-mnist, an image folder, a CIFAR .bin, a Kaggle .csv or .nblrec shards",
                path: path)
        }
    }

    /// The most classes a contact sheet shows, one row each.
    public static let maxSheetClasses = 100

    /// Returns a PNG contact sheet: up to `perClass` images of each class in a row, one row per class.
    public static func contactSheet(_ opened: Opened, perClass: Int = 8) throws -> Data {
        // At most `maxSheetClasses` rows of thumbnails at most 64 pixels on a side, whatever size
        // the records and however many classes a file declares.
        var rows: [[Int]] = Array(repeating: [], count: Swift.min(opened.classNames.count, maxSheetClasses))
        for (i, label) in opened.labels.enumerated() where Int(label) < rows.count && rows[Int(label)].count < perClass
        {
            rows[Int(label)].append(i)
        }
        let sample = try opened.dataset.batch(at: [rows.first { !$0.isEmpty }?.first ?? 0]).images
        let (fullH, fullW, c) = (sample.shape[1], sample.shape[2], sample.shape[3])
        let side = 64, longest = Swift.max(fullH, fullW, 1)
        let (h, w) =
            longest > side
            ? (Swift.max(1, fullH * side / longest), Swift.max(1, fullW * side / longest)) : (fullH, fullW)
        let gap = 2
        let width = perClass * (w + gap)
        var pixels = [UInt8](repeating: 0, count: rows.count * (h + gap) * width * c)
        for (r, indices) in rows.enumerated() where !indices.isEmpty {
            for (k, index) in indices.enumerated() {
                var image = try opened.dataset.batch(at: [index]).images[0].asType(.uint8)
                guard image.rank == 3, image.shape[2] == c else {
                    throw NablaError(
                        .corruptFile, "example \(index) has shape \(image.shape); the first one has \(c) channels")
                }
                if image.shape[0] != h || image.shape[1] != w {
                    image = ImageCodec.resized(image, height: h, width: w).asType(.uint8)
                }
                let values = image.contiguous().toArray(UInt8.self)
                for y in 0..<h {
                    for x in 0..<w {
                        for ch in 0..<c {
                            pixels[((r * (h + gap) + y) * width + k * (w + gap) + x) * c + ch] =
                                values[(y * w + x) * c + ch]
                        }
                    }
                }
            }
        }
        let image = Tensor(pixels, shape: [rows.count * (h + gap), width, c])
        return try ImageCodec.encodePNG(c == 1 || c == 3 ? image : image.slice(axis: 2, end: 1))
    }
}
