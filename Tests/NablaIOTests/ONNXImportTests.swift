import Foundation
import Nabla
import NablaData
import NablaIO
import NablaNN
import NablaTestSupport
import Testing

/// A CNN written by another tool: built with the `onnx` package's helpers, NCHW, random weights,
/// batch norm, a PyTorch-style flatten (Shape → Gather → Unsqueeze → Concat → Reshape) and a
/// Gemm with transposed weights, as `torch.onnx.export` writes them.
enum ForeignModel {
    static let script = """
        import sys, numpy as np, onnx
        from onnx import helper as h, TensorProto as T, numpy_helper as nh
        rng = np.random.default_rng(7)
        def w(name, *shape, scale=0.2):
            return nh.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)
        inits = [w('conv1.weight', 8, 1, 3, 3, scale=0.3), w('conv1.bias', 8),
                 nh.from_array((1 + 0.1 * rng.standard_normal(8)).astype(np.float32), 'bn.weight'), w('bn.bias', 8, scale=0.1),
                 w('bn.running_mean', 8, scale=0.1), nh.from_array((0.5 + rng.random(8)).astype(np.float32), 'bn.running_var'),
                 w('conv2.weight', 16, 8, 3, 3, scale=0.15), w('conv2.bias', 16, scale=0.05),
                 w('fc.weight', 10, 16 * 7 * 7, scale=0.05), w('fc.bias', 10, scale=0.05),
                 nh.from_array(np.array([0], np.int64), 'zero'), nh.from_array(np.array([-1], np.int64), 'minus_one'),
                 nh.from_array(np.array(255, np.float32), 'scale')]
        nodes = [
            h.make_node('Div', ['x', 'scale'], ['xs']),
            h.make_node('Conv', ['xs', 'conv1.weight', 'conv1.bias'], ['c1'], pads=[1, 1, 1, 1]),
            h.make_node('BatchNormalization', ['c1', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'], ['b1'], epsilon=1e-5),
            h.make_node('Relu', ['b1'], ['r1']),
            h.make_node('MaxPool', ['r1'], ['p1'], kernel_shape=[2, 2], strides=[2, 2]),
            h.make_node('Conv', ['p1', 'conv2.weight', 'conv2.bias'], ['c2'], kernel_shape=[3, 3], auto_pad='SAME_UPPER'),
            h.make_node('Relu', ['c2'], ['r2']),
            h.make_node('MaxPool', ['r2'], ['p2'], kernel_shape=[2, 2], strides=[2, 2]),
            h.make_node('Shape', ['p2'], ['s']),
            h.make_node('Gather', ['s', 'zero'], ['n'], axis=0),
            h.make_node('Concat', ['n', 'minus_one'], ['target'], axis=0),
            h.make_node('Reshape', ['p2', 'target'], ['flat']),
            h.make_node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], transB=1),
        ]
        graph = h.make_graph(nodes, 'foreign_cnn', [h.make_tensor_value_info('x', T.FLOAT, ['N', 1, 28, 28])],
                             [h.make_tensor_value_info('logits', T.FLOAT, ['N', 10])], inits)
        model = h.make_model(graph, opset_imports=[h.make_opsetid('', 17)], producer_name='onnx.helper')
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, sys.argv[1])
        print('ok')
        """

    /// Runs `model.onnx` in ONNX Runtime on the float32 NCHW input in `x.bin` ([N, 1, 28, 28]) and
    /// writes the outputs to `y.bin`.
    static let runtime = """
        import sys, numpy as np, onnx, onnxruntime as ort
        path, inp, out, n, layout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
        onnx.checker.check_model(onnx.load(path), full_check=True)
        s = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
        shape = [n, 1, 28, 28] if layout == 'nchw' else [n, 28, 28, 1]
        x = np.fromfile(inp, dtype=np.float32).reshape(shape)
        s.run(None, {s.get_inputs()[0].name: x})[0].astype(np.float32).tofile(out)
        print('ok')
        """
}

@Suite(.requires(.onnxRuntime), .serialized) struct ONNXImportTests {
    func folder() throws -> String {
        let f = NSTemporaryDirectory() + "nabla-onnx-import-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: f, withIntermediateDirectories: true)
        return f
    }

    /// Runs `x` (NHWC [N, 28, 28, 1]) through ONNX Runtime with the model at `path`.
    func runtime(_ path: String, _ x: Tensor, layout: String) throws -> [Float] {
        let input = path + ".x.bin", output = path + ".y.bin"
        let values = layout == "nchw" ? x.permuted([0, 3, 1, 2]).contiguous() : x.contiguous()
        try values.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: input)) }
        let out = try PythonCheck.run(ONNXStatic.runtime, path, input, output, String(x.shape[0]), layout)
        try #require(out == "ok\n", "ONNX Runtime failed on \(path)")
        let data = try Data(contentsOf: URL(fileURLWithPath: output))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// The whole round: import, match ONNX Runtime, fine-tune on real data, save, reload, export, match again.
    @Test func foreignModelRunsFineTunesSavesAndExportsAgain() throws {
        let dir = try folder()
        let source = dir + "/foreign.onnx"
        try #require(try PythonCheck.run(ForeignModel.script, source) == "ok\n")
        // Nabla's own NHWC images go straight in; the file's NCHW layout is met at the first convolution.
        let model = try ONNXImport.load(source, channelsLast: true)
        #expect(model.inputShape == [28, 28, 1])
        #expect(model.outputShape == [10])

        let data: (x: Tensor, y: Tensor)
        if FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") {
            let train = try MNIST.load(.fashion, split: .train)
            data = (
                train.images.slice(axis: 0, start: 0, end: 512).asType(.float32),
                train.labels.slice(axis: 0, start: 0, end: 512)
            )
        } else {
            data = Random.withSeed(3) {
                (Tensor.uniform([512, 28, 28, 1], low: 0, high: 255), Tensor((0..<512).map { Int64($0 % 10) }))
            }
        }
        let probe = data.x.slice(axis: 0, start: 0, end: 16).contiguous()
        let before = withoutGradients { model(probe) }.toArray(Float.self)
        let reference = try runtime(source, probe, layout: "nchw")
        expectClose(before, reference, rtol: 1e-4, atol: 1e-6, "imported model against ONNX Runtime")

        model.compile(
            optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy(fromLogits: true),
            metrics: [.accuracy])
        let start = try model.evaluate(x: data.x, y: data.y, batchSize: 128)["loss"] ?? .nan
        _ = try model.fit(x: data.x, y: data.y, batchSize: 64, epochs: 3, verbose: .silent, seed: 1)
        let end = try model.evaluate(x: data.x, y: data.y, batchSize: 128)["loss"] ?? .nan
        print("imported model fine-tuned on 512 examples: loss \(start) → \(end)")
        #expect(end < start * 0.8)

        let saved = dir + "/tuned.nabla"
        try model.save(to: saved)
        ONNXImport.register()
        let reloaded = try Model.load(saved)
        let tuned = withoutGradients { model(probe) }.toArray(Float.self)
        let again = withoutGradients { reloaded(probe) }.toArray(Float.self)
        #expect(tuned == again, "the reloaded model computes the same outputs")

        let exported = dir + "/tuned.onnx"
        try ONNXExport.write(reloaded, to: exported)
        let runtimeAgain = try runtime(exported, probe, layout: "nhwc")
        expectClose(tuned, runtimeAgain, rtol: 1e-4, atol: 1e-6, "the fine-tuned model, exported, against ONNX Runtime")

        // Model.load reads .onnx directly too.
        let direct = try Model.load(source)
        #expect(direct.inputShape == [1, 28, 28])
    }

    /// Gelu (opset 20, which the Debian test data predates) in both forms, against ONNX Runtime.
    @Test(arguments: ["none", "tanh"])
    func geluMatchesONNXRuntime(approximate: String) throws {
        let dir = try folder()
        let script = """
            import sys, numpy as np, onnx, onnxruntime as ort
            from onnx import helper as h, TensorProto as T
            node = h.make_node('Gelu', ['x'], ['y'], approximate=sys.argv[2])
            g = h.make_graph([node], 'gelu', [h.make_tensor_value_info('x', T.FLOAT, [3, 7])],
                             [h.make_tensor_value_info('y', T.FLOAT, [3, 7])])
            m = h.make_model(g, opset_imports=[h.make_opsetid('', 20)])
            onnx.checker.check_model(m, full_check=True)
            onnx.save(m, sys.argv[1] + '/gelu.onnx')
            x = np.linspace(-5, 5, 21, dtype=np.float32).reshape(3, 7)
            np.save(sys.argv[1] + '/x.npy', x)
            np.save(sys.argv[1] + '/y.npy', ort.InferenceSession(sys.argv[1] + '/gelu.onnx').run(None, {'x': x})[0])
            print('ok')
            """
        try #require(try PythonCheck.run(script, dir, approximate) == "ok\n")
        let y = try ONNXImport.run(dir + "/gelu.onnx", inputs: [try NPY.read(dir + "/x.npy")])
        let want = try NPY.read(dir + "/y.npy").toArray(Float.self)
        #expect(zip(y[0].toArray(Float.self), want).allSatisfy { abs($0 - $1) <= 1e-5 + 1e-5 * abs($1) })
    }

    /// An input scaling given at import is applied before the graph, lets the model take raw
    /// uint8 pixels, and is saved with it.
    @Test func inputScalingIsAppliedAndSaved() throws {
        let dir = try folder()
        let source = dir + "/foreign.onnx"
        try #require(try PythonCheck.run(ForeignModel.script, source) == "ok\n")
        let plain = try ONNXImport.load(source, channelsLast: true)
        let scaled = try ONNXImport.load(source, channelsLast: true, inputScaling: (scale: 2, offset: 3))
        #expect(!plain.convertsIntegerInputs && scaled.convertsIntegerInputs)
        let x = Tensor((0..<(2 * 28 * 28)).map { UInt8($0 % 251) }, shape: [2, 28, 28, 1])
        let want = withoutGradients { plain(x.asType(.float32) * 2 + 3) }.toArray(Float.self)
        #expect(withoutGradients { scaled(x) }.toArray(Float.self) == want)
        try scaled.save(to: dir + "/scaled.nabla")
        let reloaded = try Model.load(dir + "/scaled.nabla")
        #expect(reloaded.convertsIntegerInputs)
        #expect(withoutGradients { reloaded(x) }.toArray(Float.self) == want)
    }

    /// Weights in an external data file beside the model (how files over 2 GB are written).
    @Test func externalDataIsRead() throws {
        let dir = try folder()
        let source = dir + "/foreign.onnx", split = dir + "/split.onnx"
        try #require(try PythonCheck.run(ForeignModel.script, source) == "ok\n")
        let script = """
            import sys, onnx
            m = onnx.load(sys.argv[1])
            onnx.save_model(m, sys.argv[2], save_as_external_data=True, all_tensors_to_one_file=True,
                            location='weights.bin', size_threshold=0)
            print('ok')
            """
        try #require(try PythonCheck.run(script, source, split) == "ok\n")
        #expect(FileManager.default.fileExists(atPath: dir + "/weights.bin"))
        let x = Tensor.uniform([3, 1, 28, 28], low: 0, high: 255, generator: RandomGenerator(seed: 2))
        let a = withoutGradients { try? ONNXImport.load(source)(x) }
        let b = withoutGradients { try? ONNXImport.load(split)(x) }
        #expect(a != nil && a?.toArray(Float.self) == b?.toArray(Float.self))
    }
}

typealias ONNXStatic = ForeignModel
