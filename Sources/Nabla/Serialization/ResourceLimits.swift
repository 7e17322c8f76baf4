import Foundation

/// The limits readers apply to what a file asks them to allocate, with defaults that any real
/// dataset or model fits in; each is set by an environment variable and named in the error that
/// hits it.
public enum ResourceLimits {
    /// The most pixels one image may declare before it is decoded (`NABLA_MAX_IMAGE_PIXELS`,
    /// default 178,956,970, Pillow's limit: a 13,000 × 13,000 photo fits).
    public static let maxImagePixels = value("NABLA_MAX_IMAGE_PIXELS", default: 178_956_970)

    /// The most bytes a compressed file may decompress to (`NABLA_MAX_DECOMPRESSED_BYTES`,
    /// default 4 GiB).
    public static let maxDecompressedBytes = value("NABLA_MAX_DECOMPRESSED_BYTES", default: 4 << 30)

    /// The longest line a text reader accepts (`NABLA_MAX_LINE_BYTES`, default 16 MiB).
    public static let maxLineBytes = value("NABLA_MAX_LINE_BYTES", default: 16 << 20)

    /// The most values an imported model's constants may hold together, and one tensor or
    /// `.npy` array made from outside input (`NABLA_MAX_MODEL_VALUES`, default 2³⁰: 4 GiB of
    /// float32, far above VGG-19's 144 million).
    public static let maxModelValues = value("NABLA_MAX_MODEL_VALUES", default: 1 << 30)

    private static func value(_ name: String, default fallback: Int) -> Int {
        guard let text = ProcessInfo.processInfo.environment[name] else { return fallback }
        guard let number = Int(text), number > 0 else {
            FileHandle.standardError.write(
                Data("nabla: \(name)=\(text) is not a positive integer; using \(fallback)\n".utf8))
            return fallback
        }
        return number
    }
}
