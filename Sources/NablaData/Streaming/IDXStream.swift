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
    /// - Throws: ``NablaError``: `.notFound`; `.corruptFile` naming the file for a wrong magic
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
            return Batch(images: batch, labels: Tensor(bytes.map(Int64.init)))
        }
    }
}

/// An IDX file opened through zlib, which reads gzip-compressed and plain files alike.
final class IDXFile {
    let path: String
    let dtype: DType
    let shape: [Int]
    private let file: gzFile

    init(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw NablaError(.notFound, "no such file", path: path)
        }
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
        do {
            (dtype, shape, _) = try IDXReader.header(header, path: path)
        } catch {
            gzclose(file)
            throw error
        }
    }

    deinit { gzclose(file) }

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
}
