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

    func run() throws {
        let network = try loadModel(model)
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
