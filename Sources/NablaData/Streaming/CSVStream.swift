import Foundation
import Nabla

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A labelled CSV file in the Kaggle Digit Recognizer layout (`label,pixel0,…`) read line by line,
/// holding only the examples asked for in memory.
public struct CSVStreamingDataset: StreamingDataset {
    public let path: String
    public let classNames: [String]

    public init(path: String, classNames: [String] = (0..<10).map(String.init)) {
        (self.path, self.classNames) = (path, classNames)
    }

    /// Opens the file and reads its header.
    ///
    /// - Throws: `NablaError`: `.notFound`; `.corruptFile` naming the file for an empty file, a
    ///   header without a label column, or pixel columns that do not make a square image.
    public func makeStream() throws -> any ExampleStream {
        try InputFile.checkRegular(path)
        guard let file = fopen(path, "r") else { throw NablaError(.notFound, "cannot open the file", path: path) }
        let reader = Reader(file: file, path: path, classCount: classNames.count)
        guard let header = try reader.line() else { throw NablaError(.corruptFile, "empty CSV file", path: path) }
        reader.columns = try KaggleCSV.Columns(header: header[...], path: path)
        guard reader.columns?.hasLabel == true else {
            throw NablaError(
                .corruptFile, "the header has no label column; read unlabelled files with KaggleCSV.read", path: path)
        }
        return reader
    }

    final class Reader: ExampleStream {
        let file: UnsafeMutablePointer<FILE>
        let path: String
        let classCount: Int
        var columns: KaggleCSV.Columns?
        var lineNumber = 0

        init(file: UnsafeMutablePointer<FILE>, path: String, classCount: Int) {
            (self.file, self.path, self.classCount) = (file, path, classCount)
        }

        deinit { fclose(file) }

        /// Returns the next line without its line break, nil at the end of the file.
        ///
        /// - Throws: ``NablaError`` (`.resourceLimit`) for a line longer than
        ///   ``ResourceLimits/maxLineBytes`` (`/dev/zero` linked as a CSV never ends a line).
        func line() throws -> String? {
            var bytes: [UInt8] = []
            var chunk = [CChar](repeating: 0, count: 1 << 16)
            while true {
                let got = chunk.withUnsafeMutableBufferPointer { fgets($0.baseAddress, Int32($0.count), file) != nil }
                guard got else { break }
                let length = chunk.firstIndex(of: 0) ?? chunk.count
                bytes += chunk[..<length].map { UInt8(bitPattern: $0) }
                if bytes.last == UInt8(ascii: "\n") { break }
                guard bytes.count <= ResourceLimits.maxLineBytes else {
                    throw NablaError(
                        .resourceLimit,
                        "line \(lineNumber + 1) is longer than \(ResourceLimits.maxLineBytes) bytes (NABLA_MAX_LINE_BYTES)",
                        path: path)
                }
            }
            guard !bytes.isEmpty else { return nil }
            lineNumber += 1
            var text = String(decoding: bytes, as: UTF8.self)
            while text.last?.isNewline == true { text.removeLast() }
            return text
        }

        func next(maxCount: Int) throws -> Batch? {
            guard let columns else { return nil }
            var bytes: [UInt8] = []
            var labels: [Int64] = []
            while labels.count < maxCount, let text = try line() {
                if text.isEmpty { continue }
                let label = try columns.parse(text[...], number: lineNumber, into: &bytes, path: path) ?? 0
                guard label < classCount else {
                    throw NablaError(
                        .corruptFile, "line \(lineNumber): label \(label) is outside 0..<\(classCount)", path: path)
                }
                labels.append(label)
            }
            guard !labels.isEmpty else { return nil }
            let images = Tensor(bytes, shape: [labels.count, columns.side, columns.side, 1])
            return Batch(images: images, labels: Tensor(labels))
        }
    }
}
