import Foundation
import Nabla

/// Reads and writes the Kaggle Digit Recognizer CSV layout.
///
/// Training files have a header `label,pixel0,…,pixel783` and one image per line; test files have
/// the pixel columns only. Images come back `[N, 28, 28, 1]` uint8 (any square size works).
public enum KaggleCSV {
    /// Reads a CSV file of images, with a label column when the header starts with `label`.
    ///
    /// - Throws: ``NablaError`` (`.corruptFile`) naming the file and line for a wrong number of
    ///   columns, a value that is not an integer in 0…255, or a pixel count that is not square.
    public static func read(_ path: String) throws -> (images: Tensor, labels: Tensor?) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NablaError(.notFound, "cannot read the file", path: path)
        }
        return try decode(String(decoding: data, as: UTF8.self), path: path)
    }

    /// Decodes CSV text; `path` names it in errors.
    public static func decode(_ text: String, path: String) throws -> (images: Tensor, labels: Tensor?) {
        var lines = text.split(whereSeparator: \.isNewline)
        guard let header = lines.first else { throw NablaError(.corruptFile, "empty CSV file", path: path) }
        lines.removeFirst()
        let columns = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let hasLabel = columns.first == "label"
        let pixels = columns.count - (hasLabel ? 1 : 0)
        let side = Int(Double(pixels).squareRoot())
        guard pixels > 0, side * side == pixels else {
            throw NablaError(.corruptFile, "\(pixels) pixel columns do not make a square image (line 1)", path: path)
        }
        var bytes = [UInt8](repeating: 0, count: lines.count * pixels)
        var labels: [Int64] = []
        for (i, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == columns.count else {
                throw NablaError(
                    .corruptFile, "line \(i + 2) has \(fields.count) columns, the header has \(columns.count)",
                    path: path)
            }
            for (j, field) in fields.enumerated() {
                guard let value = Int(field.trimmingCharacters(in: .whitespaces)), (0...255).contains(value) else {
                    throw NablaError(
                        .corruptFile, "line \(i + 2), column \(j + 1): '\(field)' is not an integer in 0…255",
                        path: path)
                }
                if hasLabel && j == 0 {
                    labels.append(Int64(value))
                } else {
                    bytes[i * pixels + j - (hasLabel ? 1 : 0)] = UInt8(value)
                }
            }
        }
        let images = Tensor(bytes, shape: [lines.count, side, side, 1])
        return (images, hasLabel ? Tensor(labels) : nil)
    }

    /// Writes a Kaggle submission: `ImageId,Label` with 1-based ids and the argmax class of each
    /// row of `predictions` (`[N, classes]`), atomically.
    public static func writeSubmission(predictions: Tensor, to path: String) throws {
        let classes = predictions.argmax(axis: -1).toArray(Int64.self)
        var text = "ImageId,Label\n"
        for (i, c) in classes.enumerated() { text += "\(i + 1),\(c)\n" }
        try AtomicFile.write(Data(text.utf8), to: path)
    }
}
