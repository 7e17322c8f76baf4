import Foundation
import Nabla
import NablaIO
import NablaNN
import NablaTestSupport
import Testing

/// The "light" model-zoo graphs the `onnx` wheel ships (the real architectures, with weights made
/// by ConstantOfShape), with the reference outputs the ONNX project computed for them.
enum LightModels {
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

@Suite(.requires(.onnxLightModels), .serialized) struct ONNXModelZooTests {
    /// Imports each model as a Nabla model and runs the input the ONNX test runner uses
    /// (`arange(n) / n` in the input's shape).
    @Test(arguments: LightModels.names)
    func lightModelMatchesReference(name: String) throws {
        let folder = try #require(Requirement.onnxLightModelsFolder)
        let model = try ONNXImport.load("\(folder)/light_\(name).onnx")
        let shape = [1] + (model.inputShape ?? [])
        let n = shape.reduce(1, *)
        let x = Tensor((0..<n).map { Float(Double($0) / Double(n)) }, shape: shape)
        let y = withoutGradients { model(x) }
        let want = try ONNXImport.readTensor("\(folder)/light_\(name)_output_0.pb")
        #expect(y.shape == want.shape)
        let (a, b) = (y.toArray(Float.self), want.toArray(Float.self))
        // Relative 1e-3 with a floor of 1e-6; NaN against a number is a difference.
        expectClose(a, b, rtol: 1e-3, atol: 1e-6, "light_\(name)")
        let worst = worstMismatch(a, b, rtol: 1e-3, atol: 1e-6)?.excess ?? 0
        if name == "inception_v1" {
            // The graph fixes its batch at 1 (a Reshape to [1, 1024]); a batch of two runs one by one.
            let two = withoutGradients { model(concat([x, x], axis: 0)) }
            #expect(two.shape == [2] + Array(y.shape.dropFirst()))
            #expect(two.slice(axis: 0, start: 1, end: 2).contiguous().toArray(Float.self) == y.toArray(Float.self))
        }
        print(
            "light_\(name): \(model.parameterCounts.trainable) parameters, output \(y.shape), worst difference \(worst) of the allowed"
        )
    }
}
