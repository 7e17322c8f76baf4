import Foundation
import Nabla
import NablaNN

/// Writes a model as an ONNX file (https://onnx.ai/onnx/repo-docs/IR.html) that ONNX Runtime and
/// other frameworks run.
///
/// The graph comes from tracing one forward pass in inference mode, so any model built from
/// supported ops exports, whatever its layers. The file keeps Nabla's NHWC input and output;
/// convolutions and poolings, which ONNX defines on NCHW, are wrapped in transposes (filters go
/// from `[KH, KW, C, K]` to `[K, C, KH, KW]` the same way), which ONNX Runtime folds. Parameters
/// are initializers under their hierarchical names; the batch dimension is dynamic; the class
/// names, input layout and preprocessing are in `metadata_props`.
public enum ONNXExport {
    /// The opset written by default.
    public static let defaultOpset = 17
    /// The opsets this exporter writes.
    public static let opsets = 13...21

    /// Writes `model` to `path` as ONNX, atomically.
    ///
    /// - Throws: `NablaError`: `.invalidArgument` for a model not built or an opset outside
    ///   ``opsets``; `.unsupportedOperator` listing every op of the forward pass ONNX export does
    ///   not handle, with its count; `.io` when the file cannot be written.
    public static func write(_ model: Model, to path: String, opset: Int = defaultOpset) throws {
        try AtomicFile.write(try export(model, opset: opset), to: path)
    }

    /// Returns `model` as the bytes of an ONNX file; see ``write(_:to:opset:)``.
    public static func export(_ model: Model, opset: Int = defaultOpset) throws -> Data {
        guard let shape = model.inputShape, let outputShape = model.outputShape else {
            throw NablaError(.invalidArgument, "\(model.name) is not built yet; give it an input shape first")
        }
        guard opsets.contains(opset) else {
            throw NablaError(.invalidArgument, "opset \(opset) is outside the supported \(opsets)")
        }
        let dtype: DType = model.inputSpec?.dtype == "uint8" || model.convertsIntegerInputs ? .uint8 : .float32
        let wasTraining = model.isTraining
        model.isTraining = false
        defer { model.isTraining = wasTraining }
        let example = Tensor.zeros([2] + shape, dtype: dtype)
        let parameters = model.parameters().map { (name: $0.name, value: $0.parameter.value) }
        let (_, trace) = withoutGradients {
            Nabla.trace(inputs: [example], parameters: parameters) { inputs in [model(inputs[0])] }
        }
        var graph = GraphBuilder(trace: trace, opset: opset)
        try graph.build()
        let used = graph.usedParameters
        var metadata: [(String, String)] = [("input_layout", shape.count == 3 ? "NHWC" : "features")]
        if let names = model.classNames,
            let json = try? JSONSerialization.data(withJSONObject: names, options: [.withoutEscapingSlashes])
        {
            metadata.append(("class_names", String(decoding: json, as: UTF8.self)))
        }
        if let p = model.preprocessing {
            metadata.append(
                (
                    "preprocessing",
                    "color_mode=\(p.colorMode.rawValue) size=\(p.height)x\(p.width) scale=\(p.scale) offset=\(p.offset)"
                ))
        }
        var out = ProtobufWriter()
        out.int(1, 8)  // ir_version
        out.string(2, "nabla")
        out.string(3, "1")
        out.message(8) { op in
            op.string(1, "")
            op.int(2, opset)
        }
        out.message(7) { g in
            for node in graph.nodes { g.message(1) { node.write(&$0) } }
            g.string(2, model.name)
            for (name, value) in parameters where used.contains(name) {
                g.message(5) { Self.tensor(&$0, name: name, value) }
            }
            for (name, value) in graph.constants { g.message(5) { Self.tensor(&$0, name: name, value) } }
            g.message(11) { Self.valueInfo(&$0, name: "input", dtype: dtype, shape: shape) }
            g.message(12) { Self.valueInfo(&$0, name: "output", dtype: .float32, shape: outputShape) }
        }
        for (key, value) in metadata {
            out.message(14) {
                $0.string(1, key)
                $0.string(2, value)
            }
        }
        return out.data
    }

    /// The ONNX `TensorProto.DataType` of `dtype`.
    static func code(_ dtype: DType) -> Int {
        switch dtype {
        case .float32: 1
        case .uint8: 2
        case .int32: 6
        case .int64: 7
        case .bool: 9
        }
    }

    static func tensor(_ w: inout ProtobufWriter, name: String, _ value: Tensor) {
        for d in value.shape { w.int(1, d) }
        w.int(2, code(value.dtype))
        w.string(8, name)
        w.bytes(9, value.contiguous().withUnsafeBytes { Data($0) })
    }

    /// A value's type with a dynamic batch dimension named `batch`.
    static func valueInfo(_ w: inout ProtobufWriter, name: String, dtype: DType, shape: [Int]) {
        w.string(1, name)
        w.message(2) { type in
            type.message(1) { tensor in
                tensor.int(1, code(dtype))
                tensor.message(2) { dims in
                    dims.message(1) { $0.string(2, "batch") }
                    for d in shape { dims.message(1) { $0.int(1, d) } }
                }
            }
        }
    }
}

/// One ONNX node.
struct ExportNode {
    var op: String
    var inputs: [String]
    var output: String
    var ints: [(String, [Int])] = []
    var int: [(String, Int)] = []
    var floats: [(String, Float)] = []

    func write(_ w: inout ProtobufWriter) {
        for i in inputs { w.string(1, i) }
        w.string(2, output)
        w.string(3, output + "_" + op)
        w.string(4, op)
        for (name, values) in ints {
            w.message(5) {
                $0.string(1, name)
                $0.packedInts(8, values)
                $0.int(20, 7)
            }
        }
        for (name, value) in int {
            w.message(5) {
                $0.string(1, name)
                $0.int(3, value)
                $0.int(20, 2)
            }
        }
        for (name, value) in floats {
            w.message(5) {
                $0.string(1, name)
                $0.float(2, value)
                $0.int(20, 1)
            }
        }
    }
}

/// Turns a trace into ONNX nodes.
struct GraphBuilder {
    let trace: Trace
    let opset: Int
    var nodes: [ExportNode] = []
    var constants: [(String, Tensor)] = []
    var usedParameters: Set<String> = []
    private var fresh = 0

    init(trace: Trace, opset: Int) { (self.trace, self.opset) = (trace, opset) }

    mutating func name(_ source: Trace.Source) -> String {
        switch source {
        case .input: return "input"
        case .parameter(let p):
            usedParameters.insert(p)
            return p
        case .constant(let i):
            let n = "constant_\(i)"
            if !constants.contains(where: { $0.0 == n }) { constants.append((n, trace.constants[i])) }
            return n
        case .entry(let i): return "t\(i)"
        }
    }

    mutating func constant(_ value: Tensor) -> String {
        fresh += 1
        let n = "k\(fresh)"
        constants.append((n, value))
        return n
    }

    mutating func temp() -> String {
        fresh += 1
        return "v\(fresh)"
    }

    mutating func add(
        _ op: String, _ inputs: [String], _ output: String, ints: [(String, [Int])] = [],
        int: [(String, Int)] = [], floats: [(String, Float)] = []
    ) {
        nodes.append(ExportNode(op: op, inputs: inputs, output: output, ints: ints, int: int, floats: floats))
    }

    /// Runs an NCHW op on NHWC `x` between two transposes.
    mutating func channelsFirst(_ x: String, _ output: String, _ body: (inout GraphBuilder, String, String) -> Void) {
        let (a, b) = (temp(), temp())
        add("Transpose", [x], a, ints: [("perm", [0, 3, 1, 2])])
        body(&self, a, b)
        add("Transpose", [b], output, ints: [("perm", [0, 2, 3, 1])])
    }

    static func window(_ a: [String: OpAttribute]) -> [(String, [Int])] {
        func ints(_ k: String) -> [Int] { if case .ints(let v) = a[k] { v } else { [] } }
        let p = ints("pads")
        return [
            ("kernel_shape", ints("kernel")), ("strides", ints("strides")),
            ("pads", p.count == 4 ? [p[0], p[2], p[1], p[3]] : [0, 0, 0, 0]),
        ]
    }

    mutating func build() throws {
        var unsupported: [String: Int] = [:]
        // Which values depend on the model's input, and so carry its batch dimension.
        var batched: [Bool] = []
        for entry in trace.entries {
            batched.append(
                entry.inputs.contains { source in
                    switch source {
                    case .input: true
                    case .entry(let i): batched[i]
                    default: false
                    }
                })
        }
        for (index, entry) in trace.entries.enumerated() {
            let out = "t\(index)"
            let inputs = entry.inputs.map { name($0) }
            let a = entry.record.attributes
            func float(_ k: String) -> Float? { if case .float(let v) = a[k] { v } else { nil } }
            switch entry.record.kind {
            case .add: add("Add", inputs, out)
            case .sub: add("Sub", inputs, out)
            case .mul: add("Mul", inputs, out)
            case .div: add("Div", inputs, out)
            case .pow:
                if let e = float("exponent") {
                    add("Pow", [inputs[0], constant(Tensor([e], shape: []))], out)
                } else {
                    add("Pow", inputs, out)
                }
            case .gelu:
                if opset >= 20 {
                    add("Gelu", inputs, out)
                } else {
                    // x · Φ(x) = x · (1 + erf(x / √2)) / 2
                    let (scaled, e, shifted) = (temp(), temp(), temp())
                    add("Mul", [inputs[0], constant(Tensor([Float(0.5.squareRoot())], shape: []))], scaled)
                    add("Erf", [scaled], e)
                    add("Add", [e, constant(Tensor([Float(1)], shape: []))], shifted)
                    let half = temp()
                    add("Mul", [shifted, constant(Tensor([Float(0.5)], shape: []))], half)
                    add("Mul", [inputs[0], half], out)
                }
            case .gather:
                if case .int(let axis) = a["axis"] { add("Gather", inputs, out, int: [("axis", axis)]) }
            case .expand:
                // Expand broadcasts both ways: 1 keeps whatever batch the input has.
                var target = entry.outputShape
                if batched[index], !target.isEmpty { target[0] = 1 }
                add("Expand", [inputs[0], constant(Tensor(target.map(Int64.init)))], out)
            case .maximum: add("Max", inputs, out)
            case .minimum: add("Min", inputs, out)
            case .neg: add("Neg", inputs, out)
            case .exp: add("Exp", inputs, out)
            case .log: add("Log", inputs, out)
            case .sqrt: add("Sqrt", inputs, out)
            case .abs: add("Abs", inputs, out)
            case .relu: add("Relu", inputs, out)
            case .sigmoid: add("Sigmoid", inputs, out)
            case .tanh: add("Tanh", inputs, out)
            case .erf: add("Erf", inputs, out)
            case .square: add("Mul", [inputs[0], inputs[0]], out)
            case .rsqrt:
                let s = temp()
                add("Sqrt", inputs, s)
                add("Reciprocal", [s], out)
            case .swish:
                let s = temp()
                add("Sigmoid", inputs, s)
                add("Mul", [inputs[0], s], out)
            case .leakyRelu: add("LeakyRelu", inputs, out, floats: [("alpha", float("alpha") ?? 0.01)])
            case .elu: add("Elu", inputs, out, floats: [("alpha", float("alpha") ?? 1)])
            case .clamp:
                let lo = constant(Tensor([float("min") ?? -.infinity], shape: []))
                let hi = constant(Tensor([float("max") ?? .infinity], shape: []))
                add("Clip", [inputs[0], lo, hi], out)
            case .softmax: add("Softmax", inputs, out, int: [("axis", -1)])
            case .matmul: add("MatMul", inputs, out)
            case .contiguous, .dropout: add("Identity", [inputs[0]], out)
            case .convert: add("Cast", inputs, out, int: [("to", ONNXExport.code(.float32))])
            case .reshape:
                // The first dimension of a batched value is the batch: 0 copies it, so any batch
                // size runs. Parameters and constants keep their shapes.
                let target = batched[index] ? [0] + entry.outputShape.dropFirst() : entry.outputShape
                add("Reshape", [inputs[0], constant(Tensor(target.map(Int64.init)))], out)
            case .permute:
                if case .ints(let perm) = a["perm"] { add("Transpose", inputs, out, ints: [("perm", perm)]) }
            case .concat:
                if case .int(let axis) = a["axis"] { add("Concat", inputs, out, int: [("axis", axis)]) }
            case .sum:
                guard case .ints(let axes) = a["axes"], case .bool(let keep) = a["keepDims"] else { continue }
                add(
                    "ReduceSum", [inputs[0], constant(Tensor(axes.map(Int64.init)))], out,
                    int: [("keepdims", keep ? 1 : 0)])
            case .slice:
                guard case .int(let axis) = a["axis"], case .int(let lo) = a["start"], case .int(let hi) = a["end"],
                    case .int(let step) = a["step"]
                else { continue }
                let bounds = [lo, hi, axis, step].map { constant(Tensor([Int64($0)])) }
                add("Slice", [inputs[0]] + bounds, out)
            case .pad:
                guard case .ints(let pads) = a["pads"] else { continue }
                let value = constant(Tensor([float("value") ?? 0], shape: []))
                add("Pad", [inputs[0], constant(Tensor(pads.map(Int64.init))), value], out)
            case .conv2d:
                let w = temp()
                add("Transpose", [inputs[1]], w, ints: [("perm", [3, 2, 0, 1])])
                var attributes = Self.window(a)
                if case .ints(let d) = a["dilations"] { attributes.append(("dilations", d)) }
                let groups: Int = if case .int(let g) = a["groups"] { g } else { 1 }
                channelsFirst(inputs[0], out) { g, x, y in
                    g.add("Conv", [x, w], y, ints: attributes, int: [("group", groups)])
                }
            case .maxPool2d:
                channelsFirst(inputs[0], out) { g, x, y in g.add("MaxPool", [x], y, ints: Self.window(a)) }
            case .avgPool2d:
                channelsFirst(inputs[0], out) { g, x, y in
                    g.add("AveragePool", [x], y, ints: Self.window(a), int: [("count_include_pad", 0)])
                }
            default:
                unsupported[entry.record.kind.rawValue, default: 0] += 1
            }
        }
        guard unsupported.isEmpty else {
            throw NablaError(
                .unsupportedOperator,
                "ONNX export does not handle these ops yet: "
                    + unsupported.keys.sorted().map { "\($0) (\(unsupported[$0] ?? 0)×)" }.joined(separator: ", "))
        }
        guard let last = trace.outputs.first else { throw NablaError(.invalidArgument, "the model computed nothing") }
        add("Identity", [name(last)], "output")
    }
}
