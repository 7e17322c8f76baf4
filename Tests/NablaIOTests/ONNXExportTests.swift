import Foundation
import Nabla
import NablaIO
import NablaModels
import NablaNN
import NablaTestSupport
import Testing

/// Exported models run in the real ONNX Runtime and pass `onnx.checker`, with outputs equal to
/// Nabla's.
@Suite(.requires(.onnxRuntime)) struct ONNXExportTests {
    /// Checks the file, runs `x` (`.npy`-free: raw bytes) through ONNX Runtime and prints the largest
    /// relative difference from `expected` and the output shape.
    static let script = """
        import sys, numpy as np, onnx, onnxruntime as ort
        path, dtype, shape, expected = sys.argv[1], sys.argv[2], [int(d) for d in sys.argv[3].split(',')], sys.argv[4]
        onnx.checker.check_model(onnx.load(path), full_check=True)
        x = np.fromfile(path + '.input', dtype=dtype).reshape(shape)
        y = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(None, {'input': x})[0]
        want = np.fromfile(expected, dtype=np.float32).reshape(y.shape)
        print(float(np.max(np.abs(y - want) / np.maximum(np.abs(want), 1e-3))), list(y.shape))
        """

    /// Every zoo model, the large ones at 32×32.
    @Test(arguments: Zoo.names)
    func zooModelRunsInONNXRuntime(name: String) throws {
        let entry = try #require(Zoo.entry(named: name))
        let small = entry.defaultInput.count < 3 || entry.defaultInput[0] * entry.defaultInput[1] <= 32 * 32
        let input = small ? entry.defaultInput : [32, 32, entry.defaultInput[2]]
        try Random.withSeed(5) {
            let model = try entry.built(inputShape: input, classes: 10)
            let folder = NSTemporaryDirectory() + "nabla-onnx-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let path = "\(folder)/model.onnx"
            do { try ONNXExport.write(model, to: path) } catch {
                Issue.record("\(name): \(error)")
                return
            }
            let x = Tensor.uniform([3] + input, high: 256).asType(.uint8)
            try x.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path + ".input"))
            let y = try model.predict(x)
            try y.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: "\(folder)/expected"))
            let output = try PythonCheck.run(
                Self.script, path, "uint8", ([3] + input).map(String.init).joined(separator: ","), "\(folder)/expected")
            let parts = output.split(separator: " ", maxSplits: 1)
            let difference = Double(parts.first ?? "") ?? .nan
            #expect(difference <= 1e-4, "\(name): ONNX Runtime said \(output)")
            #expect(parts.count == 2 && parts[1].hasPrefix("[3, 10]"), "\(name): \(output)")
        }
    }
}
