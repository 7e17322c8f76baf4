import Foundation
import NablaTestSupport
import Testing

/// A server holding several models keeps serving when one request makes an imported graph fail
/// while it runs, and when one of the model files cannot be loaded at all.
@Suite(.requires(.fashionMNIST, .onnxRuntime)) struct ServeFaultTests {
    /// An embedding graph: the input's values, cast to integers, index a table of 10 rows, so a
    /// value of 1000 is an index out of range that only the request's data reveals.
    static let embedding = """
        import sys, numpy as np, onnx
        from onnx import helper as h, TensorProto as T, numpy_helper as nh
        table = nh.from_array(np.arange(30, dtype=np.float32).reshape(10, 3), 'table')
        nodes = [h.make_node('Cast', ['x'], ['i'], to=T.INT64), h.make_node('Gather', ['table', 'i'], ['g'], axis=0),
                 h.make_node('Flatten', ['g'], ['y'], axis=1)]
        graph = h.make_graph(nodes, 'embedding', [h.make_tensor_value_info('x', T.FLOAT, ['N', 4])],
                             [h.make_tensor_value_info('y', T.FLOAT, ['N', 12])], [table])
        onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid('', 17)]), sys.argv[1])
        print('ok')
        """

    /// Posts one JSON inference request; prints the status and the body.
    static let post = """
        import json, sys, urllib.request, urllib.error
        port, model, values = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
        body = json.dumps({'inputs': [{'name': 'input', 'shape': [1, len(values)], 'datatype': 'FP32', 'data': values}]})
        request = urllib.request.Request(f'http://127.0.0.1:{port}/v2/models/{model}/infer', body.encode(),
                                         {'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=60) as r: print(r.status, r.read().decode())
        except urllib.error.HTTPError as e: print(e.code, e.read().decode())
        """

    @Test func aRequestThatFailsInsideTheGraphIsAnErrorAndServingGoesOn() throws {
        let folder = TrainedRun.folder()
        let graph = folder + "/embedding.onnx", broken = folder + "/broken.onnx"
        try #require(try PythonCheck.run(Self.embedding, graph) == "ok\n")
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: broken))
        let server = try ServerProcess([
            "emb=\(graph)", "fashion=\(try TrainedRun.file("model.nabla"))", "broken=\(broken)",
        ])
        #expect(server.stderr.contains("error: broken is not served"), "\(server.stderr)")

        let bad = try PythonCheck.run(Self.post, "\(server.port)", "emb", "[1000, 0, 1, 2]")
        #expect(bad.hasPrefix("400 ") && bad.contains("Gather"), "\(bad)")
        let good = try PythonCheck.run(Self.post, "\(server.port)", "emb", "[1, 0, 9, 2]")
        #expect(
            good.hasPrefix("200 ") && good.contains("[3.0,4.0,5.0,0.0,1.0,2.0,27.0,28.0,29.0,6.0,7.0,8.0]"), "\(good)")
        let ready = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=60).status)"
        #expect(try PythonCheck.run(ready, "http://127.0.0.1:\(server.port)/v2/models/fashion/ready") == "200\n")
        #expect(server.stop() == 0, "\(server.stderr)")
    }
}
