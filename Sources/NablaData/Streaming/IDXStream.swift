import CZlib
import Foundation
import Nabla

/// An image IDX file and its label IDX file (the MNIST layout) read front to back, plain or
/// gzip-compressed, holding only the examples asked for in memory.
public struct IDXStreamingDataset: StreamingDataset {
    public let imagePath: String
    public let labelPath: String
    public let classNames: [String]

    public init(images imagePath: String, labels labelPath: String, classNames: [String]) {
        (self.imagePath, self.labelPath, self.classNames) = (imagePath, labelPath, classNames)
    }

    /// Opens both files and checks their headers.
    ///
    /// - Throws: `NablaError`: `.notFound`; `.corruptFile` naming the file for a wrong magic
    ///   number, images that are not uint8 `[N, H, W]` or `[N, H, W, C]`, labels that are not uint8
    ///   `[N]`, or image and label counts that differ.
    public func makeStream() throws -> any ExampleStream {
        let images = try IDXFile(imagePath), labels = try IDXFile(labelPath)
        guard images.dtype == .uint8, images.shape.count == 3 || images.shape.count == 4 else {
            throw NablaError(
                .corruptFile, "expected uint8 images [N, H, W], found \(images.dtype) \(images.shape)",
                path: imagePath)
        }
        guard labels.dtype == .uint8, labels.shape.count == 1 else {
            throw NablaError(
                .corruptFile, "expected uint8 labels [N], found \(labels.dtype) \(labels.shape)", path: labelPath)
        }
        guard labels.shape[0] == images.shape[0] else {
            throw NablaError(
                .corruptFile, "\(labels.shape[0]) labels for \(images.shape[0]) images in \(imagePath)",
                path: labelPath)
        }
        return Reader(images: images, labels: labels, classCount: classNames.count)
    }

    final class Reader: ExampleStream {
        let images: IDXFile, labels: IDXFile
        let classCount: Int
        let exampleShape: [Int]
        var position = 0

        init(images: IDXFile, labels: IDXFile, classCount: Int) {
            (self.images, self.labels, self.classCount) = (images, labels, classCount)
            let shape = Array(images.shape.dropFirst())
            exampleShape = shape.count == 2 ? shape + [1] : shape
        }

        func next(maxCount: Int) throws -> Batch? {
            let n = Swift.min(maxCount, images.shape[0] - position)
            guard n > 0 else { return nil }
            let batch = try Tensor(unsafeUninitializedShape: [n] + exampleShape, dtype: .uint8) { out in
                try images.read(into: out, firstExample: position)
            }
            var bytes = [UInt8](repeating: 0, count: n)
            try bytes.withUnsafeMutableBytes { try labels.read(into: $0, firstExample: position) }
            if let bad = bytes.firstIndex(where: { Int($0) >= classCount }) {
                throw NablaError(
                    .corruptFile, "label \(bytes[bad]) of example \(position + bad) is outside 0..<\(classCount)",
                    path: labels.path)
            }
            position += n
            if position == images.shape[0] {
                try images.expectEnd()
                try labels.expectEnd()
            }
            return Batch(images: batch, labels: Tensor(bytes.map(Int64.init)))
        }
    }
}

/// An IDX file opened through zlib, which reads gzip-compressed and plain files alike.
///
/// The header is checked against the file before anything is allocated: a plain file must hold
/// exactly the bytes its dimensions declare, and a compressed one can declare at most what deflate
/// can expand its bytes to (1032:1) and at most ``ResourceLimits/maxDecompressedBytes``.
final class IDXFile {
    let path: String
    let dtype: DType
    let shape: [Int]
    private let file: gzFile

    init(_ path: String) throws {
        let fileSize = try InputFile.checkRegular(path)
        guard let file = gzopen(path, "rb") else { throw NablaError(.io, "cannot open the file", path: path) }
        self.path = path
        self.file = file
        var prefix = [UInt8](repeating: 0, count: 4)
        let got = prefix.withUnsafeMutableBytes { gzread(file, $0.baseAddress, 4) }
        var header = Data(prefix.prefix(Int(Swift.max(got, 0))))
        let rank = got == 4 ? Int(prefix[3]) : 0
        if rank > 0 {
            var dims = [UInt8](repeating: 0, count: 4 * rank)
            let more = dims.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(4 * rank)) }
            header += dims.prefix(Int(Swift.max(more, 0)))
        }
        // NOTE: the stored properties are set only after every check: once they all are, a throw
        // would run deinit, which closes the file a second time.
        let parsed: (dtype: DType, shape: [Int], size: Int)
        do {
            parsed = try IDXReader.header(header, path: path)
            try Self.checkDeclaredSize(
                parsed.shape.reduce(parsed.dtype.byteSize, *), headerSize: parsed.size, fileSize: fileSize, path: path)
        } catch {
            gzclose(file)
            throw error
        }
        (dtype, shape) = (parsed.dtype, parsed.shape)
    }

    deinit { gzclose(file) }

    /// Checks `dataBytes` (which does not overflow: the header parser checked) against the file.
    private static func checkDeclaredSize(_ dataBytes: Int, headerSize: Int, fileSize: Int, path: String) throws {
        let compressed = try InputFile.startsWithGzipMagic(path)
        if !compressed {
            guard dataBytes == fileSize - headerSize else {
                let what = fileSize - headerSize < dataBytes ? "truncated" : "longer than declared"
                throw NablaError(
                    .corruptFile,
                    "IDX data is \(what): the dimensions need \(dataBytes) bytes after the header, the file has \(fileSize - headerSize)",
                    path: path)
            }
            return
        }
        let (bound, overflow) = fileSize.multipliedReportingOverflow(by: 1032)
        guard overflow || dataBytes <= bound else {
            throw NablaError(
                .corruptFile,
                "IDX header declares \(dataBytes) bytes, more than the \(fileSize) compressed bytes can hold",
                path: path)
        }
        guard headerSize + dataBytes <= ResourceLimits.maxDecompressedBytes else {
            throw NablaError(
                .resourceLimit,
                "IDX header declares \(dataBytes) bytes, above the \(ResourceLimits.maxDecompressedBytes)-byte limit (NABLA_MAX_DECOMPRESSED_BYTES)",
                path: path)
        }
    }

    /// Fills `buffer` with the examples from `firstExample` on (for the error message).
    ///
    /// - Throws: ``NablaError`` (`.corruptFile`) naming the file and the first example missing when
    ///   the data ends early or does not decompress.
    func read(into buffer: UnsafeMutableRawBufferPointer, firstExample: Int) throws {
        var done = 0
        while done < buffer.count {
            let want = UInt32(Swift.min(buffer.count - done, 1 << 30))
            let got = gzread(file, buffer.baseAddress.map { $0 + done }, want)
            guard got > 0 else {
                let exampleBytes = shape.dropFirst().reduce(dtype.byteSize, *)
                let missing = firstExample + done / Swift.max(exampleBytes, 1)
                var code: Int32 = 0
                let reason = got < 0 ? String(cString: gzerror(file, &code)) : "the file ends"
                throw NablaError(
                    .corruptFile, "example \(missing) of \(shape[0]) is cut off: \(reason)", path: path)
            }
            done += Int(got)
        }
    }

    /// Throws unless the data ended with the last declared example.
    ///
    /// - Throws: ``NablaError`` (`.corruptFile`) for bytes after the declared data.
    func expectEnd() throws {
        var byte: UInt8 = 0
        guard gzread(file, &byte, 1) == 0 else {
            throw NablaError(
                .corruptFile, "IDX data is longer than declared: bytes follow the last example", path: path)
        }
    }

    /// Reads the whole file into one tensor of its declared shape and type (big-endian words
    /// converted), inflating straight into the tensor.
    func readAll() throws -> Tensor {
        let count = shape.reduce(1, *)
        let tensor = try Tensor(unsafeUninitializedShape: shape, dtype: dtype) { out in
            try read(into: out, firstExample: 0)
            if dtype != .uint8 {
                let words = out.bindMemory(to: UInt32.self)
                for i in 0..<count { words[i] = UInt32(bigEndian: words[i]) }
            }
        }
        try expectEnd()
        return tensor
    }
}
