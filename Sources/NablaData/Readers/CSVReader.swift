import Foundation
import Nabla

/// Reads and writes the Kaggle Digit Recognizer CSV layout.
///
/// Training files have a header `label,pixel0,…,pixel783` and one image per line; test files have
/// the pixel columns only. Images come back `[N, 28, 28, 1]` uint8 (any square size works).
public enum KaggleCSV {
    /// Reads a CSV file of images, with a label column when the header starts with `label`.
    ///
    /// - Throws: `NablaError` (`.corruptFile`) naming the file and line for a wrong number of
    ///   columns, a value that is not an integer in 0…255, or a pixel count that is not square.
    public static func read(_ path: String) throws -> (images: Tensor, labels: Tensor?) {
        try decode(String(decoding: InputFile.contents(path), as: UTF8.self), path: path)
    }

    /// Decodes CSV text; `path` names it in errors.
    public static func decode(_ text: String, path: String) throws -> (images: Tensor, labels: Tensor?) {
        // Lines end at "\n" or "\r\n" (one Character in Swift), as the streaming reader reads them;
        // a lone "\r" ends no line in either. They are taken one at a time, never all at once.
        var start = text.startIndex
        /// Returns the next non-empty line, nil at the end.
        func nextLine() -> Substring? {
            while start < text.endIndex {
                let end = text[start...].firstIndex { $0 == "\n" || $0 == "\r\n" } ?? text.endIndex
                defer { start = end < text.endIndex ? text.index(after: end) : end }
                if end > start { return text[start..<end] }
            }
            return nil
        }
        guard let header = nextLine() else { throw NablaError(.corruptFile, "empty CSV file", path: path) }
        let columns = try Columns(header: header, path: path)
        // NOTE: the pixels grow line by line as they parse: a header that declares many columns
        // over many short lines allocates only what the lines really hold.
        var bytes: [UInt8] = []
        var labels: [Int64] = []
        var count = 0
        while let line = nextLine() {
            let label = try columns.parse(line, number: count + 2, into: &bytes, path: path)
            if let label { labels.append(label) }
            count += 1
        }
        let images = Tensor(bytes, shape: [count, columns.side, columns.side, 1])
        return (images, columns.hasLabel ? Tensor(labels) : nil)
    }

    /// The layout a header line declares.
    struct Columns {
        let count: Int
        let hasLabel: Bool
        var pixels: Int { count - (hasLabel ? 1 : 0) }
        let side: Int

        init(header: Substring, path: String) throws {
            // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first column's name.
            let text = header.hasPrefix("\u{FEFF}") ? header.dropFirst() : header
            let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            (count, hasLabel) = (names.count, names.first == "label")
            side = Int(Double(names.count - (hasLabel ? 1 : 0)).squareRoot())
            guard side > 0, side * side == pixels else {
                throw NablaError(
                    .corruptFile, "\(pixels) pixel columns do not make a square image (line 1)", path: path)
            }
        }

        /// Appends the pixels of line `number` to `bytes`; returns its label, if any.
        func parse(
            _ line: Substring, number: Int, into bytes: inout [UInt8], path: String
        ) throws
            -> Int64?
        {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == count else {
                throw NablaError(
                    .corruptFile, "line \(number) has \(fields.count) columns, the header has \(count)", path: path)
            }
            var label: Int64?
            var pixels: [UInt8] = []
            pixels.reserveCapacity(self.pixels)
            for (j, field) in fields.enumerated() {
                guard let value = Int(field.trimmingCharacters(in: .whitespaces)), (0...255).contains(value) else {
                    throw NablaError(
                        .corruptFile, "line \(number), column \(j + 1): '\(field)' is not an integer in 0…255",
                        path: path)
                }
                if hasLabel && j == 0 {
                    label = Int64(value)
                } else {
                    pixels.append(UInt8(value))
                }
            }
            bytes += pixels
            return label
        }
    }

    /// Writes a Kaggle submission: `ImageId,Label` with 1-based ids and the argmax class of each
    /// row of `predictions` (`[N, classes]`), atomically.
    public static func writeSubmission(predictions: Tensor, to path: String) throws {
        try writeSubmission(labels: predictions.argmax(axis: -1).toArray(Int64.self).map { Int($0) }, to: path)
    }

    /// Writes a Kaggle submission of one predicted class per image, in order, atomically.
    public static func writeSubmission(labels: [Int], to path: String) throws {
        var text = "ImageId,Label\n"
        for (i, c) in labels.enumerated() { text += "\(i + 1),\(c)\n" }
        try AtomicFile.write(Data(text.utf8), to: path)
    }
}
