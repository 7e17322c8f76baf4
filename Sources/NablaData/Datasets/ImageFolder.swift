import Foundation
import Nabla

/// A folder of images with one sub-folder per class (`cats/…`, `dogs/…`), like Keras's
/// `image_dataset_from_directory` and torchvision's `ImageFolder`.
///
/// Classes are the sub-folder names, sorted; files ending `.jpg`, `.jpeg` or `.png` (any case) are
/// the examples. Images decode when a batch asks for them (on the loader's worker threads) and are
/// resized bilinearly to `size`, so sets larger than memory work.
public struct ImageFolder: Dataset {
    /// The image files, in class then name order.
    public let files: [String]
    /// The class index of each file.
    public let labels: [Int]
    /// The class names (sub-folder names), sorted.
    public let classNames: [String]
    /// The height and width every image is resized to.
    public let size: (height: Int, width: Int)
    /// 3 for RGB, 1 for grey.
    public let channels: Int
    /// The files left out as unreadable, with the reason (only when `skipUnreadable`).
    public let skipped: [(path: String, reason: String)]

    static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Lists the images under `root`.
    ///
    /// With `skipUnreadable`, every file's header is checked now and unreadable ones are left out
    /// with a warning on standard error; otherwise a bad file raises an error naming it when its
    /// batch is read.
    /// - Throws: `NablaError` (`.notFound`) when `root` is missing or holds no class folders with images.
    public init(root: String, size: (height: Int, width: Int), channels: Int = 3, skipUnreadable: Bool = false) throws {
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        guard manager.fileExists(atPath: root, isDirectory: &isFolder), isFolder.boolValue else {
            throw NablaError(.notFound, "no such folder", path: root)
        }
        let classes = try manager.contentsOfDirectory(atPath: root).filter { name in
            var folder: ObjCBool = false
            return !name.hasPrefix(".") && manager.fileExists(atPath: "\(root)/\(name)", isDirectory: &folder)
                && folder.boolValue
        }.sorted()
        var files: [String] = [], labels: [Int] = [], skipped: [(String, String)] = []
        for (label, name) in classes.enumerated() {
            let entries = try manager.contentsOfDirectory(atPath: "\(root)/\(name)").sorted()
            for entry in entries where Self.extensions.contains((entry as NSString).pathExtension.lowercased()) {
                let path = "\(root)/\(name)/\(entry)"
                if skipUnreadable {
                    do {
                        _ = try Self.load(path, channels: channels, size: nil)
                    } catch {
                        skipped.append((path, "\(error)"))
                        FileHandle.standardError.write(Data("warning: skipping unreadable image: \(error)\n".utf8))
                        continue
                    }
                }
                files.append(path)
                labels.append(label)
            }
        }
        guard !files.isEmpty else {
            throw NablaError(.notFound, "no class sub-folders with .jpg, .jpeg or .png images", path: root)
        }
        self.files = files
        self.labels = labels
        self.classNames = classes
        self.size = size
        self.channels = channels
        self.skipped = skipped
    }

    public var count: Int { files.count }

    /// Decodes one file (resized to `size` when given) as an `[H, W, C]` uint8 tensor.
    static func load(_ path: String, channels: Int, size: (height: Int, width: Int)?) throws -> Tensor {
        let image = try ImageCodec.decode(InputFile.contents(path), channels: channels, path: path)
        guard let size else { return image }
        return ImageCodec.resized(image, height: size.height, width: size.width)
    }

    public func batch(at indices: [Int]) throws -> Batch {
        let images = try indices.map { try Self.load(files[$0], channels: channels, size: size) }
        return Batch(images: stack(images), labels: Tensor(indices.map { Int64(labels[$0]) }))
    }
}
