import ArgumentParser
import Foundation
import Nabla
import NablaData
import NablaIO
import NablaNN

/// `nabla report`: rebuilds a run folder's `report.html` from its logs, or compares runs.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Rebuild a run folder's report.html from its logs, or put several runs on the same axes.",
        discussion: """
            The report is one self-contained page: loss and accuracy curves of training and \
            validation with the over-fitting gap marked, the learning rate, the learning-rate \
            finder's curve, the confusion matrix, per-class precision / recall / F1, the \
            misclassified test images the model was surest of, the model summary, the settings \
            and the timings. nabla train writes it into its run folder after every epoch.

            \(ExitStatus.help)
            """)

    @Argument(help: "A run folder (written by nabla train --output).")
    var folder: String

    @Option(parsing: .upToNextOption, help: "Other run folders to draw on the same axes.")
    var compare: [String] = []

    @Option(help: "Where to write the page (default: RUN/report.html, or RUN/compare.html with --compare).")
    var output: String?

    func run() throws {
        let runs = try ([folder] + compare).map(RunLogs.read)
        let path = output ?? "\(folder)/\(compare.isEmpty ? "report" : "compare").html"
        try reportingErrors { try TrainingReport.write(runs, to: path) }
        print("wrote \(path)")
    }
}

/// What a run folder's files say, as the report takes it.
enum RunLogs {
    static func read(_ folder: String) throws -> ReportRun {
        let files = FileManager.default
        guard files.fileExists(atPath: "\(folder)/history.csv") else {
            throw CLIError(message: "\(folder)/history.csv: missing (not a run folder, or no epoch finished yet)")
        }
        // Every file is input: a regular file, at most 64 MiB, read only then.
        func contents(_ name: String) throws -> Data? {
            let path = "\(folder)/\(name)"
            guard files.fileExists(atPath: path) else { return nil }
            return try reportingErrors {
                guard try InputFile.checkRegular(path) <= RunLogs.maxFileBytes else {
                    throw NablaError(.resourceLimit, "more than \(RunLogs.maxFileBytes >> 20) MiB", path: path)
                }
                return try InputFile.contents(path)
            }
        }
        func text(_ name: String) throws -> String? { try contents(name).map { String(decoding: $0, as: UTF8.self) } }
        func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T? {
            guard let data = try contents(name) else { return nil }
            do { return try JSONDecoder.report.decode(T.self, from: data) } catch {
                throw CLIError(message: "\(folder)/\(name): not a valid \(name) (\(error.localizedDescription))")
            }
        }
        let timings = try decode([String: Double].self, "timings.json")
        let evaluation = try decode(ReportEvaluation.self, "evaluation.json").map { e in
            try reportingErrors {
                do { return try e.validated() } catch var error as NablaError {
                    error.message = "\(folder)/evaluation.json: " + error.message
                    throw error
                }
            }
        }
        return ReportRun(
            name: URL(fileURLWithPath: folder).lastPathComponent,
            history: try history(try text("history.csv") ?? "", folder),
            settings: try text("config.json") ?? "{}", summary: try text("summary.txt"), seconds: timings?["seconds"],
            samplesPerSecond: timings?["samples_per_second"],
            evaluation: evaluation,
            learningRateSearch: try decode(LearningRateSearch.self, "lr-find.json"))
    }

    /// The largest run-folder file read.
    static let maxFileBytes = 64 << 20
    /// The most epochs a history may hold, and columns it may have.
    static let maxEpochs = 100_000, maxColumns = 256

    /// history.csv as `CSVLogger` writes it: a header, then one row of numbers per epoch.
    static func history(_ csv: String, _ folder: String) throws -> [[String: Double]] {
        let lines = csv.split(whereSeparator: \.isNewline)
        guard let header = lines.first?.split(separator: ",").map(String.init) else { return [] }
        guard lines.count - 1 <= maxEpochs, header.count <= maxColumns else {
            throw CLIError(
                message:
                    "\(folder)/history.csv: \(lines.count - 1) rows of \(header.count) columns; a report shows at most \(maxEpochs) epochs of \(maxColumns) columns"
            )
        }
        return try lines.dropFirst().enumerated().map { i, line in
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count else {
                throw CLIError(
                    message: "\(folder)/history.csv: row \(i + 2) has \(cells.count) fields, the header \(header.count)"
                )
            }
            var row: [String: Double] = [:]
            for (key, cell) in zip(header, cells) where key != "epoch" { row[key] = Double(cell) ?? .nan }
            return row
        }
    }

    /// The held-out evaluation: confusion matrix, and the 16 misclassified images the model was
    /// surest of (for image inputs), as PNGs in the evaluation and as one tensor.
    static func evaluate(
        _ network: Model, _ batches: any BatchSource, classNames: [String], data: String
    ) throws -> (ReportEvaluation?, images: Tensor?) {
        guard let classes = network.outputShape, classes == [classNames.count], classNames.count >= 2 else {
            return (nil, nil)
        }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classNames.count), count: classNames.count)
        var wrong: [(index: Int, truth: Int, predicted: Int, probability: Double, image: Tensor?)] = []
        let stream = batches.makeEpoch(0)
        var offset = 0
        let images = (network.inputShape?.count == 3 && [1, 3].contains(network.inputShape?.last ?? 0))
        while let batch = try stream.next() {
            var scores = withoutGradients { network(batch.inputs) }
            if !network.endsInSoftmax { scores = scores.softmax(axis: -1) }
            let p = scores.toArray(Float.self), truth = batch.targets.asType(.int64).toArray(Int64.self)
            let n = classNames.count
            for (row, t) in truth.enumerated() {
                let slice = p[(row * n)..<((row + 1) * n)]
                let guess = (slice.indices.max { slice[$0] < slice[$1] } ?? 0) - row * n
                confusion[Int(t)][guess] += 1
                if guess != Int(t) {
                    wrong.append(
                        (offset + row, Int(t), guess, Double(slice[row * n + guess]), images ? batch.inputs[row] : nil))
                }
            }
            wrong.sort { $0.probability > $1.probability }
            if wrong.count > 16 { wrong.removeLast(wrong.count - 16) }
            offset += truth.count
        }
        let worst = try wrong.map { w in
            ReportEvaluation.Example(
                index: w.index, truth: w.truth, predicted: w.predicted, probability: w.probability,
                png: try w.image.map {
                    try ImageCodec.encodePNG($0.asType(.float32).clamp(min: 0, max: 255).asType(.uint8))
                        .base64EncodedString()
                } ?? "")
        }
        let pictures = wrong.compactMap(\.image)
        return (
            ReportEvaluation(data: data, classNames: classNames, confusion: confusion, worst: worst),
            pictures.isEmpty ? nil : stack(pictures)
        )
    }
}

/// Rewrites the run folder's report after every epoch, reloading itself while training runs.
final class LiveReport: Callback {
    let folder: String

    init(folder: String) { self.folder = folder }

    func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {
        // history.csv has this epoch already (CSVLogger runs first).
        try TrainingReport.write([try RunLogs.read(folder)], to: "\(folder)/report.html", refreshSeconds: 5)
    }
}

extension JSONDecoder {
    /// Reads what `JSONEncoder.report` and the command line write (NaN and infinities as strings).
    static var report: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
