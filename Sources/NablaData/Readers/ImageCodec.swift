import CNablaImage
import Foundation
import Nabla

/// Decodes and encodes JPEG and PNG images with the system's libjpeg-turbo and libpng.
public enum ImageCodec {
    /// Decodes a JPEG or PNG file's bytes into an `[H, W, channels]` uint8 tensor (1 grey, 3 RGB).
    ///
    /// - Throws: `NablaError` naming `path`: `.corruptFile` with the codec's reason for an
    ///   unknown format, a damaged or truncated file (libjpeg's warnings included), or a side
    ///   above 32,768 pixels; `.resourceLimit` above `ResourceLimits.maxImagePixels`.
    public static func decode(_ data: Data, channels: Int = 3, path: String) throws -> Tensor {
        require(channels == 1 || channels == 3, "ImageCodec.decode: channels must be 1 or 3, got \(channels)")
        let (width, height, _) = try header(data, path: path)
        var error = [CChar](repeating: 0, count: 256)
        // Checked before any pixel is allocated: a few hundred bytes can declare gigapixels.
        guard Int(width) * Int(height) <= ResourceLimits.maxImagePixels else {
            throw NablaError(
                .resourceLimit,
                "image of \(width)×\(height) pixels is above the \(ResourceLimits.maxImagePixels)-pixel limit (NABLA_MAX_IMAGE_PIXELS)",
                path: path)
        }
        var failure: String?
        let image = Tensor(unsafeUninitializedShape: [Int(height), Int(width), channels], dtype: .uint8) { out in
            let code = data.withUnsafeBytes { bytes in
                nbl_image_decode(
                    bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, Int32(channels),
                    out.bindMemory(to: UInt8.self).baseAddress, out.count, &error, error.count)
            }
            if code != 0 { failure = String(cBuffer: error) }
        }
        if let failure { throw NablaError(.corruptFile, "cannot decode the image: \(failure)", path: path) }
        return image
    }

    /// Returns the number of colour channels an image file stores, as decoding would use them: 1
    /// for grey (with or without alpha), 3 for colour.
    ///
    /// - Throws: `NablaError` (`.corruptFile`) naming `path` for a file that is not a PNG or JPEG.
    public static func storedChannels(_ data: Data, path: String) throws -> Int {
        try header(data, path: path).channels <= 2 ? 1 : 3
    }

    /// Returns an image file's width and height from its header, without decoding pixels.
    ///
    /// - Throws: `NablaError` (`.corruptFile`) naming `path` for a file that is not a PNG or JPEG.
    public static func size(_ data: Data, path: String) throws -> (width: Int, height: Int) {
        let h = try header(data, path: path)
        return (Int(h.width), Int(h.height))
    }

    /// Reads an image file's header: its size and the channels it stores (grey, grey and alpha,
    /// colour, colour and alpha), without decoding pixels.
    private static func header(_ data: Data, path: String) throws -> (width: Int32, height: Int32, channels: Int32) {
        var error = [CChar](repeating: 0, count: 256)
        var (width, height, native): (Int32, Int32, Int32) = (0, 0, 0)
        let status = data.withUnsafeBytes { bytes in
            nbl_image_info(
                bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &width, &height, &native, &error, error.count
            )
        }
        guard status == 0, width > 0, height > 0 else {
            throw NablaError(.corruptFile, "cannot decode the image: \(String(cBuffer: error))", path: path)
        }
        return (width, height, native)
    }

    /// Returns an `[H, W, C]` uint8 image resized bilinearly to `height`×`width` (rounded to the nearest byte).
    public static func resized(_ image: Tensor, height: Int, width: Int) -> Tensor {
        guard image.shape[0] != height || image.shape[1] != width else { return image }
        // Sampled from the uint8 pixels: only the resized image is ever float32.
        let scaled = resizeBilinear(image.unsqueezed(axis: 0), size: (height, width))
        return (scaled + 0.5).clamp(min: 0, max: 255).asType(.uint8).squeezed(axes: [0])
    }

    /// Encodes an `[H, W, C]` uint8 image (C 1 or 3) as PNG.
    public static func encodePNG(_ image: Tensor) throws -> Data { try encode(image, quality: nil) }

    /// Encodes an `[H, W, C]` uint8 image (C 1 or 3) as JPEG at `quality` (1–100).
    public static func encodeJPEG(_ image: Tensor, quality: Int = 90) throws -> Data {
        try encode(image, quality: quality)
    }

    private static func encode(_ image: Tensor, quality: Int?) throws -> Data {
        require(
            image.rank == 3 && image.dtype == .uint8 && (image.shape[2] == 1 || image.shape[2] == 3),
            "ImageCodec.encode: expected uint8 [H, W, 1 or 3], got \(image.dtype) \(image.shape)")
        var error = [CChar](repeating: 0, count: 256)
        var buffer: UnsafeMutablePointer<UInt8>?
        var size = 0
        let (h, w, c) = (Int32(image.shape[0]), Int32(image.shape[1]), Int32(image.shape[2]))
        let status = image.withUnsafeBytes { pixels in
            let p = pixels.bindMemory(to: UInt8.self).baseAddress
            return quality.map { nbl_jpeg_encode(p, w, h, c, Int32($0), &buffer, &size, &error, error.count) }
                ?? nbl_png_encode(p, w, h, c, &buffer, &size, &error, error.count)
        }
        guard status == 0, let buffer else {
            throw NablaError(.io, "cannot encode the image: \(String(cBuffer: error))")
        }
        defer { nbl_image_free(buffer) }
        return Data(bytes: buffer, count: size)
    }
}
