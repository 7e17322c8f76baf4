import ArgumentParser
import Foundation
import Nabla
import NablaNN

/// `nabla summary`: what a model file holds.
struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Print a saved model's layers, shapes, parameter counts, input, preprocessing and classes.",
        discussion: ExitStatus.help)

    @Argument(help: "A .nabla or .onnx model file.")
    var model: String

    @Option(help: "How to print the summary.")
    var format: OutputFormat = .text

    /// The summary as `--format json` prints it.
    struct Report: Encodable {
        var name: String
        var layers: [LayerSummary]
        var trainableParameters: Int, nonTrainableParameters: Int
        var input: InputSpec?
        var preprocessing: Preprocessing?
        var classNames: [String]?
        enum CodingKeys: String, CodingKey {
            case name, layers, input, preprocessing
            case trainableParameters = "trainable_parameters", nonTrainableParameters = "non_trainable_parameters"
            case classNames = "class_names"
        }
    }

    func run() throws {
        let network = try loadModel(model)
        if format == .json {
            let counts = network.parameterCounts
            return try printJSON(
                Report(
                    name: network.name, layers: network.layerSummaries, trainableParameters: counts.trainable,
                    nonTrainableParameters: counts.nonTrainable, input: network.inputSpec,
                    preprocessing: network.preprocessing, classNames: network.classNames))
        }
        print(network.summary())
        if let input = network.inputSpec {
            print(
                "Input: [batch, \(input.shape.map(String.init).joined(separator: ", "))] \(input.dtype) \(input.layout)"
            )
        }
        if let p = network.preprocessing {
            let values = p.scale == 1 && p.offset == 0 ? "raw 0–255 values" : "values · \(p.scale) + \(p.offset)"
            print("Preprocessing: \(p.colorMode.rawValue) \(p.height)×\(p.width), \(values)")
        }
        if let names = network.classNames {
            print("Classes (\(names.count)): \(names.joined(separator: ", "))")
        }
    }
}
