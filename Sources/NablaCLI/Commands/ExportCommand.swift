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

    @Argument(help: "A .nabla model file.")
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
