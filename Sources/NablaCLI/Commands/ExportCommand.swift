import ArgumentParser
import Foundation
import NablaIO
import NablaNN

/// `nabla export`: a saved model as ONNX.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a saved model as an ONNX file that ONNX Runtime and other frameworks run.",
        discussion: ExitStatus.help)

    @Argument(help: "A .nabla (or .onnx) model file.")
    var model: String

    @Option(help: "The ONNX file to write.")
    var onnx: String

    @Option(help: "The ONNX opset (\(ONNXExport.opsets.lowerBound)…\(ONNXExport.opsets.upperBound)).")
    var opset = ONNXExport.defaultOpset

    func validate() throws {
        guard ONNXExport.opsets.contains(opset) else {
            throw ValidationError(
                "--opset must be in \(ONNXExport.opsets.lowerBound)...\(ONNXExport.opsets.upperBound)")
        }
    }

    func run() throws {
        let network = try loadModel(model)
        try reportingErrors { try ONNXExport.write(network, to: onnx, opset: opset) }
        print(
            "wrote \(onnx) (opset \(opset), input [batch, \((network.inputShape ?? []).map(String.init).joined(separator: ", "))])"
        )
    }
}

/// `nabla import`: an ONNX model as a `.nabla` file.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract:
            "Read an ONNX model (from PyTorch, TensorFlow, Paddle…) and save it as a .nabla file that trains and serves.",
        discussion: """
            The graph is checked (names, order, opsets, every operator: one error lists all the \
            unsupported ones) and run once on a batch of one. `predict`, `evaluate` and `export` \
            also read .onnx files directly.

            \(ExitStatus.help)
            """)

    @Argument(help: "The .onnx file.")
    var model: String

    @Option(help: "The .nabla file to write.")
    var output: String

    @Flag(
        name: .customLong("channels-last"),
        help: "Take images as NHWC (Nabla's layout, what its data readers give) instead of the file's NCHW.")
    var channelsLast = false

    @Option(
        name: .customLong("input-shape"),
        help: "The per-example input shape, comma-separated (only when the file leaves a dimension open).")
    var inputShape: String?

    @Option(name: .customLong("class-names"), help: "The class names, comma-separated, saved with the model.")
    var classNames: String?

    @Option(
        name: .customLong("input-scale"),
        help: ArgumentHelp(
            "Multiply every input by this before the graph, so the model takes raw 0–255 pixels (0.00392156862745098 for a graph trained on [0, 1]; 1 for one that takes raw pixels itself).",
            valueName: "factor"))
    var inputScale: Float?

    @Option(name: .customLong("input-offset"), help: "Add this to every input after --input-scale.")
    var inputOffset: Float = 0

    func run() throws {
        let shape = try inputShape.map { text in
            try text.split(separator: ",").map { part -> Int in
                guard let d = Int(part.trimmingCharacters(in: .whitespaces)), d > 0 else {
                    throw ValidationError("--input-shape must be positive integers separated by commas")
                }
                return d
            }
        }
        let start = Date()
        let scaling = inputScale.map { (scale: $0, offset: inputOffset) }
        let network = try reportingErrors {
            try ONNXImport.load(model, inputShape: shape, channelsLast: channelsLast, inputScaling: scaling)
        }
        let seconds = Date().timeIntervalSince(start)
        if let classNames { network.classNames = classNames.split(separator: ",").map(String.init) }
        try reportingErrors { try network.save(to: output) }
        let counts = network.parameterCounts
        let description = (network as? ONNXModel)?.summaryLine ?? ""
        print(
            "imported \(model) in \(String(format: "%.2f", seconds)) s: \(description)\(counts.trainable) trainable and \(counts.nonTrainable) frozen values, input [batch, \((network.inputShape ?? []).map(String.init).joined(separator: ", "))], output [batch, \((network.outputShape ?? []).map(String.init).joined(separator: ", "))]; wrote \(output)"
        )
    }
}
