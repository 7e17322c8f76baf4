import Foundation
import Nabla
import NablaIO
import NablaNN
import NablaTestSupport
import Testing

/// The "light" model-zoo graphs the `onnx` wheel ships (the real architectures, with weights made
/// by ConstantOfShape), with the reference outputs the ONNX project computed for them.
enum LightModels {
    static let folder: String? = {
        let script = "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'backend/test/data/light'))"
        guard let out = try? PythonCheck.run(script) else { return nil }
        let path = out.trimmingCharacters(in: .whitespacesAndNewlines)
        return FileManager.default.fileExists(atPath: path + "/light_resnet50.onnx") ? path : nil
    }()

    static let all = [
        "bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet", "squeezenet",
        "vgg19", "zfnet512",
    ]

    /// The lighter three in a debug `swift test` (the C kernels are unoptimised there);
    /// `NABLA_ONNX_ZOO_ALL=1` runs all nine, and CI runs all nine in release with
    /// `scripts/onnx-zoo-check`.
    static let names =
        ProcessInfo.processInfo.environment["NABLA_ONNX_ZOO_ALL"] == "1"
        ? all : ["inception_v1", "shufflenet", "squeezenet"]
}

@Suite(.enabled(if: LightModels.folder != nil), .serialized) struct ONNXModelZooTests {
    /// Imports each model as a Nabla model and runs the input the ONNX test runner uses
    /// (`arange(n) / n` in the input's shape).
    @Test(arguments: LightModels.names)
    func lightModelMatchesReference(name: String) throws {
        let folder = try #require(LightModels.folder)
        let model = try ONNXImport.load("\(folder)/light_\(name).onnx")
        let shape = [1] + (model.inputShape ?? [])
        let n = shape.reduce(1, *)
        let x = Tensor((0..<n).map { Float(Double($0) / Double(n)) }, shape: shape)
        let y = withoutGradients { model(x) }
        let want = try ONNXImport.readTensor("\(folder)/light_\(name)_output_0.pb")
        #expect(y.shape == want.shape)
        let (a, b) = (y.toArray(Float.self), want.toArray(Float.self))
        var worst: Float = 0
        for (u, v) in zip(a, b) { worst = max(worst, abs(u - v) / max(abs(v), 1e-3)) }
        if name == "inception_v1" {
            // The graph fixes its batch at 1 (a Reshape to [1, 1024]); a batch of two runs one by one.
            let two = withoutGradients { model(concat([x, x], axis: 0)) }
            #expect(two.shape == [2] + Array(y.shape.dropFirst()))
            #expect(two.slice(axis: 0, start: 1, end: 2).contiguous().toArray(Float.self) == y.toArray(Float.self))
        }
        print(
            "light_\(name): \(model.parameterCounts.trainable) parameters, output \(y.shape), largest relative difference \(worst)"
        )
        #expect(worst <= 1e-3)
    }
}
