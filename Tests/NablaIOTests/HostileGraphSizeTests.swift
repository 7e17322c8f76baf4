import Foundation
import Nabla
import NablaIO
import NablaTestSupport
import Testing

/// Graphs whose sizes come from their own constants and attributes are checked before allocating.
///
/// Each is refused at import with an error naming the node, or imports and gives the right
/// shape, and none traps or asks for memory its file does not justify. The graphs are written
/// by the `onnx` package.
@Suite(.requires(.onnxRuntime)) struct HostileGraphSizeTests {
    @Test(arguments: HostileGraphs.cases.map(\.name))
    func sizesFromTheGraphAreCheckedBeforeAllocating(name: String) throws {
        let folder = NSTemporaryDirectory() + "nabla-graph-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/\(name).onnx"
        try #require(
            try PythonCheck.run(HostileGraphs.script, name, path) == "ok\n", "the onnx package did not write \(name)")
        let outcome = try #require(HostileGraphs.cases.first { $0.name == name }?.outcome)
        do {
            let model = try ONNXImport.load(path)
            #expect(
                outcome == "shape: \(model.outputShape ?? [])",
                "\(name) imported with output \(model.outputShape ?? [])")
        } catch let error as NablaError {
            let expected = outcome.dropFirst("error: ".count)
            #expect(outcome.hasPrefix("error: ") && error.message.contains(expected), "\(name): \(error.message)")
            let names = name.hasPrefix("input-") ? "input" : "node"
            #expect(error.message.contains(names), "\(name): the error names no \(names): \(error.message)")
        }
    }
}
