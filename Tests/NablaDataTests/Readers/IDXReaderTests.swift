import CZlib
import Foundation
import Nabla
import NablaData
import NablaTestSupport
import Testing

/// Writes IDX files in the real format (optionally gzip-compressed with the system zlib).
enum IDXFixture {
    static func idx(shape: [Int], bytes: [UInt8], type: UInt8 = 0x08) -> Data {
        var data = Data([0, 0, type, UInt8(shape.count)])
        for d in shape {
            data.append(contentsOf: [
                UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF),
            ])
        }
        data.append(contentsOf: bytes)
        return data
    }

    static func gzip(_ data: Data) -> Data {
        var stream = z_stream()
        // 15 window bits + 16: write a gzip header.
        deflateInit2_(
            &stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        var input = [UInt8](data)
        var output = [UInt8](repeating: 0, count: data.count + 1024)
        let produced = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = inp.baseAddress
                stream.avail_in = uInt(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                deflate(&stream, Z_FINISH)
                return out.count - Int(stream.avail_out)
            }
        }
        deflateEnd(&stream)
        return Data(output.prefix(produced))
    }

    static func temporaryFolder() -> String {
        let path = NSTemporaryDirectory() + "nabla-test-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

@Suite struct IDXReaderTests {
    @Test(arguments: [false, true])
    func readsImagesPlainAndGzipped(compressed: Bool) throws {
        let folder = IDXFixture.temporaryFolder()
        let pixels = (0..<(3 * 4 * 5)).map { UInt8($0 * 4 % 256) }
        var data = IDXFixture.idx(shape: [3, 4, 5], bytes: pixels)
        if compressed { data = IDXFixture.gzip(data) }
        let path = "\(folder)/images\(compressed ? ".gz" : "")"
        try data.write(to: URL(fileURLWithPath: path))
        let tensor = try IDXReader.read(path)
        #expect(tensor.shape == [3, 4, 5] && tensor.dtype == .uint8)
        #expect(tensor.toArray(UInt8.self) == pixels)
    }

    @Test func readsBigEndianInt32() throws {
        let data = IDXFixture.idx(shape: [2], bytes: [0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE], type: 0x0C)
        #expect(try IDXReader.decode(data, path: "x").toArray(Int32.self) == [258, -2])
    }

    @Test func wrongMagicNumberNamesTheFile() {
        #expect {
            try IDXReader.decode(Data([0x50, 0x4B, 3, 4, 0, 0, 0, 0]), path: "/data/bad.idx")
        } throws: { error in
            let e = error as? NablaError
            return e?.code == .corruptFile && "\(error)".contains("/data/bad.idx") && "\(error)".contains("magic")
        }
    }

    @Test func truncatedDataIsAnError() {
        let data = IDXFixture.idx(shape: [10, 28, 28], bytes: [UInt8](repeating: 1, count: 100))
        #expect {
            try IDXReader.decode(data, path: "short.idx")
        } throws: { error in "\(error)".contains("truncated") && "\(error)".contains("short.idx") }
    }

    @Test func hugeDeclaredSizeDoesNotAllocate() {
        let data = IDXFixture.idx(shape: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], bytes: [1, 2, 3])
        #expect(throws: NablaError.self) { try IDXReader.decode(data, path: "hostile.idx") }
    }

    @Test func truncatedGzipIsAnError() throws {
        let folder = IDXFixture.temporaryFolder()
        let gz = IDXFixture.gzip(IDXFixture.idx(shape: [100], bytes: [UInt8](repeating: 7, count: 100)))
        let path = "\(folder)/cut.gz"
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: path))
        #expect {
            try IDXReader.read(path)
        } throws: { error in (error as? NablaError)?.code == .corruptFile && "\(error)".contains(path) }
    }

    @Test func imageAndLabelCountsThatDifferAreAnError() throws {
        let folder = IDXFixture.temporaryFolder()
        try IDXFixture.idx(shape: [3, 2, 2], bytes: [UInt8](repeating: 0, count: 12))
            .write(to: URL(fileURLWithPath: "\(folder)/train-images-idx3-ubyte"))
        try IDXFixture.idx(shape: [2], bytes: [1, 2]).write(
            to: URL(fileURLWithPath: "\(folder)/train-labels-idx1-ubyte"))
        #expect {
            try MNIST.load(.digits, split: .train, folder: folder)
        } throws: { error in "\(error)".contains("2 labels for 3 images") }
    }
}
