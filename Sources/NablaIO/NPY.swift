import Foundation
import Nabla

/// Reads and writes NumPy's `.npy` files (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
/// raw arrays to compare with any other framework.
///
/// Reads little-endian float32, float64 (as float32), int64, int32, uint8 and bool arrays in C
/// order; writes float32, int64, int32, uint8 and bool.
public enum NPY {
    /// The largest header a file may have.
    static let maxHeader = 1 << 16

    /// Reads the array in the `.npy` file at `path`.
    ///
    /// - Throws: `NablaError`: `.corruptFile` for a file that is not a valid `.npy` or whose
    ///   data is shorter than its shape says, `.unsupportedOperator` for an element type or
    ///   Fortran order Nabla does not read, `.resourceLimit` for a shape beyond the limits.
    public static func read(_ path: String) throws -> Tensor {
        try NablaError.at(path) { try decode(try InputFile.contents(path)) }
    }

    /// Decodes the bytes of a `.npy` file; see ``read(_:)``.
    public static func decode(_ data: Data) throws -> Tensor {
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw NablaError(.corruptFile, "not a .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NablaError(.corruptFile, "truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        default: throw NablaError(.unsupportedVersion, ".npy format version \(major) is not read")
        }
        guard headerLength <= maxHeader, data.count - start >= headerLength else {
            throw NablaError(
                .corruptFile, "the .npy header claims \(headerLength) bytes; the file has \(data.count - start)")
        }
        let base = data.startIndex + start
        let header = String(decoding: data[base..<(base + headerLength)], as: UTF8.self)
        func field(_ key: String) throws -> String {
            guard let k = header.range(of: "'\(key)'"), let colon = header[k.upperBound...].firstIndex(of: ":") else {
                throw NablaError(.corruptFile, "the .npy header lacks '\(key)'")
            }
            return String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
        let descrText = try field("descr")
        guard descrText.hasPrefix("'"), let end = descrText.dropFirst().firstIndex(of: "'") else {
            throw NablaError(.corruptFile, "the .npy header's descr is not a string")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<end])
        guard try field("fortran_order").hasPrefix("False") else {
            throw NablaError(.unsupportedOperator, "Fortran-order arrays are not read; save with np.ascontiguousarray")
        }
        let shapeText = try field("shape")
        guard shapeText.hasPrefix("("), let close = shapeText.firstIndex(of: ")") else {
            throw NablaError(.corruptFile, "the .npy header's shape is not a tuple")
        }
        let parts = shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        guard parts.count <= 8 else { throw NablaError(.corruptFile, "the .npy shape has more than 8 dimensions") }
        let shape = try parts.map { p -> Int in
            guard let d = Int(p), d >= 0 else { throw NablaError(.corruptFile, "the .npy shape holds '\(p)'") }
            return d
        }
        let size: Int
        switch descr {
        case "<f4", "<i4": size = 4
        case "<f8", "<i8": size = 8
        case "|u1", "|b1", "<u1", "|i1": size = 1
        default:
            throw NablaError(
                .unsupportedOperator,
                "element type '\(descr)' is not read (little-endian float32/64, int32/64, uint8, bool are)")
        }
        var count = 1
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o, p <= ResourceLimits.maxModelValues else {
                throw NablaError(.resourceLimit, "the .npy shape \(shape) is too large (NABLA_MAX_MODEL_VALUES)")
            }
            count = p
        }
        let body = data[(base + headerLength)...]
        guard body.count >= count * size else {
            throw NablaError(
                .corruptFile,
                "the .npy data holds \(body.count) bytes; shape \(shape) of '\(descr)' needs \(count * size)")
        }
        return body.withUnsafeBytes { raw -> Tensor in
            func load<T>(_ type: T.Type) -> [T] {
                (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self) }
            }
            switch descr {
            case "<f4":
                return Tensor(load(UInt32.self).map { Float(bitPattern: UInt32(littleEndian: $0)) }, shape: shape)
            case "<f8":
                return Tensor(
                    load(UInt64.self).map { Float(Double(bitPattern: UInt64(littleEndian: $0))) }, shape: shape)
            case "<i8": return Tensor(load(Int64.self).map { Int64(littleEndian: $0) }, shape: shape)
            case "<i4": return Tensor(load(Int32.self).map { Int32(littleEndian: $0) }, shape: shape)
            case "|b1": return Tensor(load(UInt8.self).map { $0 != 0 }, shape: shape)
            case "|i1": return Tensor(load(Int8.self).map { Int32($0) }, shape: shape)
            default: return Tensor(load(UInt8.self), shape: shape)
            }
        }
    }

    /// Returns `tensor` as the bytes of a version 1.0 `.npy` file.
    public static func encode(_ tensor: Tensor) -> Data {
        let descr: String =
            switch tensor.dtype {
            case .float32: "<f4"
            case .int32: "<i4"
            case .int64: "<i8"
            case .uint8: "|u1"
            case .bool: "|b1"
            }
        let shape =
            tensor.shape.count == 1
            ? "(\(tensor.shape[0]),)" : "(\(tensor.shape.map(String.init).joined(separator: ", ")))"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        // The header is padded with spaces so the data starts on a 64-byte boundary.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        out.append(UInt8(header.utf8.count & 0xFF))
        out.append(UInt8(header.utf8.count >> 8))
        out.append(Data(header.utf8))
        tensor.contiguous().withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }

    /// Writes `tensor` to `path` as `.npy`, atomically.
    public static func write(_ tensor: Tensor, to path: String) throws {
        try AtomicFile.write(encode(tensor), to: path)
    }
}
