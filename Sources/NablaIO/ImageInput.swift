import Foundation
import Nabla
import NablaData
import NablaNN

/// Turns encoded images into a model's input as its file says: colour mode, size, dtype and
/// scaling (shared by `nabla predict` and the server's image endpoint).
public struct ImageInput: Sendable {
    /// The model's per-example input shape `[H, W, C]` (or another shape, for models that do not take images).
    public let shape: [Int]
    public let dtype: DType
    public let preprocessing: Preprocessing?
    /// The most pixels an image may declare before it is decoded (nil: the decoders' own limit,
    /// `NABLA_MAX_IMAGE_PIXELS`); a server sets it low, since a small file can declare a huge image.
    public var maxPixels: Int?

    public init(shape: [Int], spec: InputSpec?, preprocessing: Preprocessing?, maxPixels: Int? = nil) {
        self.maxPixels = maxPixels
        self.shape = shape
        dtype = spec?.dtype == "uint8" ? .uint8 : .float32
        self.preprocessing = preprocessing ?? Preprocessing(for: shape)
    }

    /// Decodes a PNG or JPEG in the model's colour mode and size: `[H, W, C]` uint8.
    ///
    /// - Throws: `NablaError` naming `path` for a model that takes no images or data that is
    ///   not a valid image (the decoders check every size before they allocate).
    public func image(_ data: Data, path: String) throws -> Tensor {
        guard let p = preprocessing else {
            throw NablaError(
                .invalidArgument, "the model takes \(shape), not images (its file has no image preprocessing)",
                path: path)
        }
        if let maxPixels {
            let size = try ImageCodec.size(data, path: path)
            guard size.width * size.height <= maxPixels else {
                throw NablaError(
                    .resourceLimit, "the image is \(size.width)×\(size.height); at most \(maxPixels) pixels are taken",
                    path: path)
            }
        }
        let decoded = try ImageCodec.decode(data, channels: p.colorMode == .grayscale ? 1 : 3, path: path)
        return ImageCodec.resized(decoded, height: p.height, width: p.width)
    }

    /// Returns raw uint8 images `[N, H, W, C]` as the model's input: resized when their size
    /// differs, then scaled as the preprocessing says and converted to the model's dtype.
    public func prepared(_ raw: Tensor) throws -> Tensor {
        var images = raw
        let target = Array(shape.prefix(2))
        if images.rank == 4, shape.count == 3, Array(images.shape[1...2]) != target {
            images = stack(
                (0..<images.shape[0]).map { ImageCodec.resized(images[$0], height: target[0], width: target[1]) })
        }
        guard Array(images.shape.dropFirst()) == shape else {
            throw NablaError(
                .invalidArgument, "the inputs are \(Array(images.shape.dropFirst())) but the model takes \(shape)")
        }
        let scale = preprocessing?.scale ?? 1, offset = preprocessing?.offset ?? 0
        if dtype == .uint8 && scale == 1 && offset == 0 { return images }
        return images.asType(.float32) * scale + offset
    }
}
