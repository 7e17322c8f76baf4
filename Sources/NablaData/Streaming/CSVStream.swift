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
    /// - Throws: ``NablaError``: `.notFound`; `.corruptFile` naming the file for an empty file, a
    ///   header without a label column, or pixel columns that do not make a square image.
    public func makeStream() throws -> any ExampleStream {
        guard let file = fopen(path, "r") else { throw NablaError(.notFound, "cannot open the file", path: path) }
        let reader = Reader(file: file, path: path, classCount: classNames.count)
        guard let header = reader.line() else { throw NablaError(.corruptFile, "empty CSV file", path: path) }
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
        private var buffer: UnsafeMutablePointer<CChar>?
        private var capacity = 0

        init(file: UnsafeMutablePointer<FILE>, path: String, classCount: Int) {
            (self.file, self.path, self.classCount) = (file, path, classCount)
        }

        deinit {
            free(buffer)
            fclose(file)
        }

        /// Returns the next line without its line break, nil at the end of the file.
        func line() -> String? {
            let length = getline(&buffer, &capacity, file)
            guard length >= 0, let buffer else { return nil }
            lineNumber += 1
            var text = String(cString: buffer)
            while text.last?.isNewline == true { text.removeLast() }
            return text
        }

        func next(maxCount: Int) throws -> Batch? {
            guard let columns else { return nil }
            var bytes = [UInt8](repeating: 0, count: maxCount * columns.pixels)
            var labels: [Int64] = []
            while labels.count < maxCount, let text = line() {
                if text.isEmpty { continue }
                let label =
                    try columns.parse(
                        text[...], number: lineNumber, into: &bytes, at: labels.count * columns.pixels, path: path) ?? 0
                guard label < classCount else {
                    throw NablaError(
                        .corruptFile, "line \(lineNumber): label \(label) is outside 0..<\(classCount)", path: path)
                }
                labels.append(label)
            }
            guard !labels.isEmpty else { return nil }
            let images = Tensor(
                Array(bytes.prefix(labels.count * columns.pixels)),
                shape: [labels.count, columns.side, columns.side, 1])
            return Batch(images: images, labels: Tensor(labels))
        }
    }
}
