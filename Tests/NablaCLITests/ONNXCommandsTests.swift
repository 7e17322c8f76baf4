import Foundation
import NablaTestSupport
import Testing

/// `nabla export`, `nabla import` and `nabla predict --input x.npy --save-output y.npy` together,
/// checked against ONNX Runtime reading the same arrays.
@Suite(.requires(.fashionMNIST, .onnxRuntime)) struct ONNXCommandsTests {
    @Test func exportImportAndPredictArraysAgreeWithONNXRuntime() throws {
        let model = try TrainedRun.file("model.nabla")
        let dir = TrainedRun.folder()
        let onnx = dir + "/mlp.onnx", imported = dir + "/imported.nabla"
        let exported = try runNabla(["export", model, "--onnx", onnx])
        try #require(exported.status == 0, "\(exported.stderr)")
        let result = try runNabla(["import", onnx, "--output", imported])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("input [batch, 28, 28, 1], output [batch, 10]"), "\(result.stdout)")

        let script = """
            import sys, numpy as np, onnxruntime as ort
            x = (np.random.default_rng(1).random((6, 28, 28, 1)) * 255).astype(np.uint8)
            np.save(sys.argv[2], x)
            s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])
            np.save(sys.argv[3], s.run(None, {s.get_inputs()[0].name: x})[0])
            print('ok')
            """
        let (x, reference) = (dir + "/x.npy", dir + "/reference.npy")
        try #require(try PythonCheck.run(script, onnx, x, reference) == "ok\n", "ONNX Runtime did not run \(onnx)")
        for source in [model, onnx, imported] {
            let y = dir + "/y-\(URL(fileURLWithPath: source).lastPathComponent).npy"
            let run = try runNabla(["predict", source, "--input", x, "--save-output", y])
            #expect(run.status == 0, "\(source): \(run.stderr)")
            let compare = """
                import sys, numpy as np
                a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
                print(a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-4, atol=1e-6)))
                """
            #expect(try PythonCheck.run(compare, y, reference) == "True\n", "\(source)")
        }
        let wrong = try runNabla(["predict", imported, "--input", reference])
        #expect(wrong.status == 1 && wrong.stderr.contains("the model takes [N, 28, 28, 1]"))
    }
}
