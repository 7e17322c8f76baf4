import Foundation
import NablaTestSupport
import Testing

/// `nabla export`, `nabla import` and `nabla predict --input x.npy --save-output y.npy` together,
/// checked against ONNX Runtime reading the same arrays.
@Suite(.requires(.fashionMNIST, .onnxRuntime)) struct ONNXCommandsTests {
    /// The oldest opset offered, the default and a newer one.
    @Test(arguments: [13, 17, 20])
    func exportImportAndPredictArraysAgreeWithONNXRuntime(opset: Int) throws {
        let model = try TrainedRun.file("model.nabla")
        let dir = TrainedRun.folder()
        let onnx = dir + "/mlp.onnx", imported = dir + "/imported.nabla"
        let exported = try runNabla(["export", model, "--onnx", onnx, "--opset", "\(opset)"])
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
        let declared = "import onnx, sys; print(onnx.load(sys.argv[1]).opset_import[0].version)"
        #expect(try PythonCheck.run(declared, onnx) == "\(opset)\n", "the file's opset")
        let wrong = try runNabla(["predict", imported, "--input", reference])
        #expect(wrong.status == 1 && wrong.stderr.contains("the model takes [N, 28, 28, 1]"))
    }

    /// `nabla import --channels-last --input-scale`: a float NCHW graph trained on [0, 1] becomes a
    /// model fed raw NHWC 0–255 images, and predicts what ONNX Runtime computes on the scaled,
    /// transposed images.
    @Test func importWithChannelsLastAndInputScaleAgreesWithONNXRuntime() throws {
        let dir = TrainedRun.folder()
        let (onnx, x, reference) = (dir + "/nchw.onnx", dir + "/x.npy", dir + "/reference.npy")
        let script = """
            import sys, numpy as np, onnx, onnxruntime as ort
            from onnx import helper as h, TensorProto as T, numpy_helper as nh
            rng = np.random.default_rng(3)
            inits = [nh.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), 'w'),
                     nh.from_array(rng.standard_normal(4).astype(np.float32), 'b'),
                     nh.from_array(rng.standard_normal((10, 4)).astype(np.float32), 'fc')]
            nodes = [h.make_node('Conv', ['x', 'w', 'b'], ['c'], pads=[1, 1, 1, 1]), h.make_node('Relu', ['c'], ['r']),
                     h.make_node('GlobalAveragePool', ['r'], ['g']), h.make_node('Flatten', ['g'], ['f']),
                     h.make_node('Gemm', ['f', 'fc'], ['y'], transB=1)]
            graph = h.make_graph(nodes, 'nchw', [h.make_tensor_value_info('x', T.FLOAT, ['N', 1, 28, 28])],
                                 [h.make_tensor_value_info('y', T.FLOAT, ['N', 10])], inits)
            onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid('', 17)]), sys.argv[1])
            images = rng.integers(0, 256, (5, 28, 28, 1)).astype(np.uint8)
            np.save(sys.argv[2], images)
            s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])
            nchw = (images.astype(np.float32) / 255).transpose(0, 3, 1, 2).copy()
            np.save(sys.argv[3], s.run(None, {'x': nchw})[0])
            print('ok')
            """
        try #require(try PythonCheck.run(script, onnx, x, reference) == "ok\n", "the graph or ONNX Runtime failed")
        let imported = dir + "/nhwc.nabla", y = dir + "/y.npy"
        let result = try runNabla([
            "import", onnx, "--output", imported, "--channels-last", "--input-scale", "0.00392156862745098",
        ])
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("input [batch, 28, 28, 1]"), "\(result.stdout)")
        let run = try runNabla(["predict", imported, "--input", x, "--save-output", y])
        try #require(run.status == 0, "\(run.stderr)")
        let compare = """
            import sys, numpy as np
            a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
            print(a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-4, atol=1e-5)))
            """
        #expect(try PythonCheck.run(compare, y, reference) == "True\n")
    }

    /// Values an import computes once and keeps (constant folding) count against the model's
    /// budget like its weights: five 16,384-value constants under a budget of 65,536 are refused.
    @Test func foldedConstantsAreChargedAgainstTheBudget() throws {
        let dir = TrainedRun.folder()
        let script = """
            import sys, numpy as np, onnx
            from onnx import helper as h, TensorProto as T, numpy_helper as nh
            nodes = [h.make_node('ConstantOfShape', ['s'], [f'c{i}'], value=h.make_tensor('v', T.FLOAT, [1], [1.0]))
                     for i in range(5)]
            nodes.append(h.make_node('Relu', ['x'], ['y']))
            graph = h.make_graph(nodes, 'folded', [h.make_tensor_value_info('x', T.FLOAT, ['N', 4])],
                                 [h.make_tensor_value_info('y', T.FLOAT, ['N', 4])],
                                 [nh.from_array(np.array([128, 128], np.int64), 's')])
            onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid('', 17)]), sys.argv[1])
            print('ok')
            """
        try #require(try PythonCheck.run(script, dir + "/folded.onnx") == "ok\n")
        let run = try runNabla(
            ["import", dir + "/folded.onnx", "--output", dir + "/folded.nabla"],
            environment: ["NABLA_MAX_MODEL_VALUES": "65536"])
        #expect(run.status == 1 && run.stderr.contains("the folded result of node"), "\(run.stderr)")
    }
}
