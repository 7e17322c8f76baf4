import CZlib
import Foundation
import Nabla

/// gzip and zlib decompression through the system zlib, bounded in size.
public enum Gzip {
    /// Returns whether `data` starts with the gzip magic number.
    public static func isCompressed(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B
    }

    /// Returns the decompressed bytes of a gzip (or zlib) stream.
    ///
    /// - Throws: ``NablaError``: `.corruptFile` naming `path` for a damaged or truncated stream,
    ///   `.resourceLimit` when the output would exceed `limit` bytes.
    public static func decompress(_ data: Data, limit: Int = 4 << 30, path: String) throws -> Data {
        var stream = z_stream()
        // 15 window bits + 32: detect gzip or zlib headers automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw NablaError(.io, "zlib could not start", path: path)
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
            stream.avail_in = uInt(input.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else {
                        let reason =
                            status == Z_BUF_ERROR ? "the stream is truncated" : "the stream is damaged (zlib \(status))"
                        throw NablaError(.corruptFile, "cannot decompress: \(reason)", path: path)
                    }
                    let produced = buffer.count - Int(stream.avail_out)
                    guard output.count + produced <= limit else {
                        throw NablaError(.resourceLimit, "decompresses to more than \(limit) bytes", path: path)
                    }
                    if let base = buffer.baseAddress { output.append(base, count: produced) }
                }
                if status != Z_STREAM_END && stream.avail_in == 0 && stream.avail_out != 0 {
                    throw NablaError(.corruptFile, "cannot decompress: the stream is truncated", path: path)
                }
            } while status != Z_STREAM_END
        }
        return output
    }
}
