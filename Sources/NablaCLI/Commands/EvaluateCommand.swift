import ArgumentParser
import Foundation
import Nabla
import NablaData
import NablaNN

/// `nabla evaluate`: a saved model's loss, accuracy, per-class precision / recall / F1 and
/// confusion matrix on a dataset.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Report a saved model's loss, accuracy, per-class metrics and confusion matrix on a dataset.",
        discussion: ExitStatus.help)

    @Argument(help: "A .nabla or .onnx model file.")
    var model: String

    @Option(
        help:
            "fashion-mnist, mnist, or a path as nabla train takes: a folder of class folders (its test/ or validation/ folder with --split test), a CIFAR folder, a Kaggle or table .csv, .nblrec shards."
    )
    var dataset = DatasetName.fashionMNIST.rawValue

    @Option(help: "The split of a named dataset, a CIFAR folder, or a folder with train/ and test/ (or validation/).")
    var split: SplitName = .test

    @Option(name: .customLong("batch-size"), help: "Examples per batch (128, as nabla train evaluates).")
    var batchSize = 128

    @Option(help: "How to print the results.")
    var format: OutputFormat = .text

    func validate() throws {
        guard (1...65_536).contains(batchSize) else { throw ValidationError("--batch-size must be in 1...65536") }
    }

    func run() throws {
        let network = try loadModel(model)
        let input = network.inputShape ?? []
        let images = TrainingData.ImageSettings(
            height: input.count == 3 ? input[0] : 1, width: input.count == 3 ? input[1] : 1,
            channels: input.count == 3 ? input[2] : nil)
        var opened = try reportingErrors {
            try TrainingData.open(dataset, images: images, validationSplit: nil, seed: 0, split: split)
        }
        let classes = opened.classNames.count
        // One sigmoid output for two classes (trained with --binary).
        let binary = classes == 2 && network.outputShape == [1]
        if binary { opened.binaryTargets() }
        let examples = opened.train
        guard network.outputShape == [classes] || binary else {
            throw CLIError(
                message:
                    "\(model): the model has outputs \(network.outputShape ?? []) but \(dataset) has \(classes) classes"
            )
        }
        let batches = TrainingData.batches(examples, batchSize: batchSize)
        network.compile(
            optimizer: SGD(),
            loss: binary
                ? BinaryCrossEntropy() as any Loss : SparseCategoricalCrossEntropy(fromLogits: !network.endsInSoftmax),
            metrics: [.accuracy, .precision(.perClass), .recall(.perClass), .f1(.perClass)])
        let logs = try reportingErrors { try network.evaluate(batches) }
        let (truth, predicted) = try reportingErrors { try Self.labelsAndPredictions(network, batches, binary: binary) }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var support = [Int](repeating: 0, count: classes)
        for (truth, guess) in zip(truth, predicted) {
            confusion[Int(truth)][Int(guess)] += 1
            support[Int(truth)] += 1
        }
        let names = network.classNames ?? opened.classNames
        let rows = (0..<classes).map { c in
            ClassRow(
                name: names[c], precision: logs["precision_\(c)"] ?? .nan, recall: logs["recall_\(c)"] ?? .nan,
                f1: logs["f1_\(c)"] ?? .nan, support: support[c])
        }
        let report = Report(
            model: model, dataset: dataset, split: split.rawValue, examples: examples.count,
            loss: logs["loss"] ?? .nan, accuracy: logs["accuracy"] ?? .nan, classes: rows, confusion: confusion)
        if format == .json { try printJSON(report) } else { print(report.text) }
    }

    /// Every true and predicted class of one pass of `batches` (already checked against the model
    /// by `evaluate`), in order.
    static func labelsAndPredictions(
        _ network: Model, _ batches: any BatchSource, binary: Bool
    ) throws -> (truth: [Int64], predicted: [Int64]) {
        let stream = batches.makeEpoch(0)
        var (truth, predicted): ([Int64], [Int64]) = ([], [])
        while let batch = try stream.next() {
            let scores = withoutGradients { network(batch.inputs) }
            truth += batch.targets.asType(.int64).toArray(Int64.self)
            predicted +=
                binary ? scores.toArray().map { $0 > 0.5 ? 1 : 0 } : scores.argmax(axis: 1).toArray(Int64.self)
        }
        return (truth, predicted)
    }

    struct ClassRow: Encodable {
        let name: String
        let precision: Double, recall: Double, f1: Double
        let support: Int
    }

    struct Report: Encodable {
        let model: String, dataset: String, split: String
        let examples: Int
        let loss: Double, accuracy: Double
        let classes: [ClassRow]
        /// Rows: the true class; columns: the predicted one.
        let confusion: [[Int]]

        var text: String {
            let width = max(12, classes.map(\.name.count).max() ?? 0)
            func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(n - s.count, 0)) + s }
            var lines = [
                "\(model) on \(dataset) \(split) (\(examples) examples)",
                String(format: "loss %.4f - accuracy %.4f", loss, accuracy), "",
                pad("class", width) + "  precision     recall         f1    support",
            ]
            for row in classes {
                lines.append(
                    pad(row.name, width)
                        + String(format: " %10.4f %10.4f %10.4f %10d", row.precision, row.recall, row.f1, row.support))
            }
            lines += ["", "confusion matrix (rows: true class, columns: predicted class)"]
            lines.append(pad("", width) + confusion.indices.map { pad(String($0), 6) }.joined())
            for (c, row) in confusion.enumerated() {
                lines.append(pad("\(classes[c].name) \(c)", width) + row.map { pad(String($0), 6) }.joined())
            }
            return lines.joined(separator: "\n")
        }
    }
}
