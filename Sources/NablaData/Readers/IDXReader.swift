import Foundation
import Nabla

/// Reads IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed.
///
/// Layout: two zero bytes, a type byte (0x08 unsigned byte, 0x0C int32, 0x0D float32), the number
/// of dimensions, each dimension as a big-endian uint32, then the data, big-endian. The reader is
/// total: the declared size is checked against the bytes present before anything is allocated.
public enum IDXReader {
    /// Returns the tensor stored in the IDX file at `path` (uint8, int32 or float32).
    ///
    /// - Throws: `NablaError`: `.notFound`, `.io`, or `.corruptFile` naming the file for a wrong
    ///   magic number, an unsupported type, or data shorter or longer than the dimensions declare.
    public static func read(_ path: String) throws -> Tensor {
        // The same reader as the stream: the header is checked against the file, then the data
        // inflates straight into the tensor, so compressed and plain files read alike.
        try IDXFile(path).readAll()
    }

    /// Decodes the bytes of an (uncompressed) IDX file; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> Tensor {
        let (dtype, shape, headerSize) = try header(data, path: path)
        let count = shape.reduce(1, *)
        let expected = dtype.byteCount(of: shape) ?? 0
        guard data.count - headerSize == expected else {
            let what = data.count - headerSize < expected ? "truncated" : "longer than declared"
            throw NablaError(
                .corruptFile,
                "IDX data is \(what): shape \(shape) needs \(expected) bytes after the header, the file has \(data.count - headerSize)",
                path: path)
        }
        let tensor = Tensor(unsafeUninitializedShape: shape, dtype: dtype) { out in
            data.withUnsafeBytes { raw in
                guard let base = raw.baseAddress, let dst = out.baseAddress else { return }
                let src = base + headerSize
                if dtype == .uint8 {
                    dst.copyMemory(from: src, byteCount: count)
                } else {
                    // Big-endian 32-bit words.
                    let words = dst.assumingMemoryBound(to: UInt32.self)
                    for i in 0..<count {
                        words[i] = UInt32(bigEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    }
                }
            }
        }
        return tensor
    }

    /// Parses the header at the start of `data`: element type, shape, and header size in bytes.
    ///
    /// - Throws: ``NablaError`` (`.corruptFile`) for a wrong magic number, an unsupported type, a
    ///   header cut short, or a shape whose size overflows.
    static func header(_ data: Data, path: String) throws -> (dtype: DType, shape: [Int], size: Int) {
        let bytes = [UInt8](data.prefix(4))
        guard bytes.count == 4, bytes[0] == 0, bytes[1] == 0 else {
            throw NablaError(
                .corruptFile,
                "not an IDX file: wrong magic number \(bytes.map { String(format: "%02x", $0) }.joined())", path: path)
        }
        let type = bytes[2], rank = Int(bytes[3])
        let dtype: DType
        switch type {
        case 0x08: dtype = .uint8
        case 0x0C: dtype = .int32
        case 0x0D: dtype = .float32
        default:
            throw NablaError(
                .corruptFile, "IDX element type 0x\(String(type, radix: 16)) is not supported (0x08, 0x0C, 0x0D are)",
                path: path)
        }
        guard rank >= 1, data.count >= 4 + 4 * rank else {
            throw NablaError(
                .corruptFile, "truncated IDX header (\(rank) dimensions declared, \(data.count) bytes)", path: path)
        }
        let start = data.startIndex
        let shape = (0..<rank).map { d -> Int in
            let o = start + 4 + 4 * d
            return Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3])
        }
        guard dtype.byteCount(of: shape) != nil else {
            throw NablaError(.corruptFile, "IDX shape \(shape) is too large to address", path: path)
        }
        return (dtype, shape, 4 + 4 * rank)
    }
}
