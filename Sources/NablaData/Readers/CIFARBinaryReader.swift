import Foundation
import Nabla

/// Reads the binary versions of CIFAR-10 and CIFAR-100.
///
/// Each record is the label byte(s) — one for CIFAR-10, two (coarse, fine) for CIFAR-100 — then
/// 3,072 bytes of a 32×32 image stored channel by channel (1,024 red, then green, then blue).
/// Images come back NHWC uint8 `[N, 32, 32, 3]`.
public enum CIFARBinaryReader {
    /// Which layout the records have.
    public enum Variant: Sendable {
        case cifar10
        /// CIFAR-100 with its fine (100-class) or coarse (20-superclass) labels.
        case cifar100(fine: Bool)

        var labelBytes: Int { if case .cifar10 = self { 1 } else { 2 } }
        var classes: Int {
            switch self {
            case .cifar10: 10
            case .cifar100(let fine): fine ? 100 : 20
            }
        }
    }

    /// The CIFAR-10 class names, by label.
    public static let cifar10Classes = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]

    /// Decodes the records in `data`; `path` names the file in errors.
    ///
    /// - Throws: `NablaError` (`.corruptFile`) naming the file for a size that is not a whole
    ///   number of records, or the record whose label is out of range.
    public static func decode(_ data: Data, variant: Variant, path: String) throws -> (images: Tensor, labels: Tensor) {
        let recordSize = variant.labelBytes + 3072
        guard !data.isEmpty, data.count % recordSize == 0 else {
            throw NablaError(
                .corruptFile,
                "\(data.count) bytes is not a whole number of \(recordSize)-byte CIFAR records (truncated or not CIFAR binary)",
                path: path)
        }
        let n = data.count / recordSize
        var labels = [Int64](repeating: 0, count: n)
        let bytes = [UInt8](data)
        for r in 0..<n {
            let label = Int64(bytes[r * recordSize + (variant.labelBytes - 1)])
            let coarse = Int64(bytes[r * recordSize])
            let value: Int64
            if case .cifar100(let fine) = variant, !fine { value = coarse } else { value = label }
            guard value < variant.classes else {
                throw NablaError(
                    .corruptFile, "record \(r) has label \(value), outside 0..<\(variant.classes)", path: path)
            }
            labels[r] = value
        }
        let images = Tensor(unsafeUninitializedShape: [n, 32, 32, 3], dtype: .uint8) { out in
            let dst = out.bindMemory(to: UInt8.self)
            for r in 0..<n {
                let base = r * recordSize + variant.labelBytes
                for p in 0..<1024 {
                    for c in 0..<3 { dst[(r * 1024 + p) * 3 + c] = bytes[base + c * 1024 + p] }
                }
            }
        }
        return (images, Tensor(labels))
    }

    /// Reads and concatenates the record files at `paths`.
    public static func read(_ paths: [String], variant: Variant) throws -> (images: Tensor, labels: Tensor) {
        var parts: [(Tensor, Tensor)] = []
        for path in paths {
            parts.append(try decode(InputFile.contents(path), variant: variant, path: path))
        }
        guard parts.count > 1 else {
            return parts.first ?? (Tensor.zeros([0, 32, 32, 3], dtype: .uint8), Tensor.zeros([0], dtype: .int64))
        }
        return (concat(parts.map(\.0), axis: 0), concat(parts.map(\.1), axis: 0))
    }
}
