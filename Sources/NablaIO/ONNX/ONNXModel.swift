import Foundation
import Nabla
import NablaNN

/// A model imported from ONNX: the graph runs node by node on Nabla's differentiable ops, so it
/// predicts, trains, saves as `.nabla` and exports again like any other model.
///
/// Float initializers that feed data (weights, biases, batch-norm scales) become parameters under
/// their ONNX names; batch-norm statistics are kept as frozen parameters (an imported batch norm
/// always uses them, as in inference and in Keras's fine-tuning advice). Small integer constants
/// (shapes, axes) are part of the saved architecture.
public final class ONNXModel: Model, SerializableLayer, @unchecked Sendable {
    public static var typeName: String { "ONNXGraph" }

    var program: ONNXProgram
    /// How the model takes a rank-4 input: `.native` (NCHW, as in the file) or `.nhwc`.
    let inputLayout: ONNXLayout
    /// The parameters: slot, name, stored shape, storage layout, whether trained.
    struct ParameterSpec: Sendable {
        var slot: Int, name: String, shape: [Int], layout: ONNXLayout, trainable: Bool
    }
    let parameterSpecs: [ParameterSpec]
    private var bound: [(slot: Int, parameter: Parameter, layout: ONNXLayout)] = []
    private let cache = ShapeCache()

    init(
        program: ONNXProgram, parameters: [ParameterSpec], values: [Int: Tensor]?, inputLayout: ONNXLayout, name: String
    ) {
        self.program = program
        self.parameterSpecs = parameters
        self.inputLayout = inputLayout
        super.init(name: name)
        if let values {
            for spec in parameters {
                guard let value = values[spec.slot] else { continue }
                bound.append((spec.slot, addParameter(spec.name, value, trainable: spec.trainable), spec.layout))
            }
        }
    }

    /// `x · scale + offset` applied to every input before the graph (set at import for a graph
    /// that expects prepared values, so the model takes raw 0–255 pixels as Nabla's data gives
    /// them); nil when the input goes in as it is.
    public internal(set) var inputScaling: (scale: Float, offset: Float)?

    /// Whether the model takes integer inputs (raw pixels): when the graph's input is uint8, or
    /// an input scaling was given at import.
    public override var convertsIntegerInputs: Bool { inputSpec?.dtype == "uint8" || inputScaling != nil }

    /// The input of a batch as the graph's first input.
    func feed(_ input: Tensor) -> ONNXValue {
        var x = input.dtype == .float32 ? input : input.asType(.float32)
        if let s = inputScaling, s != (1, 0) { x = x * s.scale + s.offset }
        return .float(x, inputLayout == .nhwc && x.rank == 4 ? .nhwc : .native)
    }

    /// Runs the graph on all its inputs, returning all its outputs.
    func run(_ feeds: [ONNXValue]) throws -> [ONNXValue] {
        var overrides: [Int: ONNXValue] = [:]
        for b in bound { overrides[b.slot] = .float(b.parameter.value, b.layout) }
        return try program.execute(feeds, overrides: overrides, training: isTraining, cache: cache)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        guard program.inputs.count == 1 else {
            throw NablaError(
                .invalidArgument, "\(name): the graph takes \(program.inputs.count) inputs; a model takes one")
        }
        if bound.isEmpty {
            for spec in parameterSpecs {
                let p = try addParameter(spec.name, shape: spec.shape, initializer: .zeros, trainable: spec.trainable)
                bound.append((spec.slot, p, spec.layout))
            }
        }
        // The runs below make inputs of two examples: charged against the budget first, by the
        // same checked count every reader makes.
        guard let bytes = DType.float32.byteCount(of: [2] + inputShape.map { Swift.max($0, 1) }),
            bytes / DType.float32.byteSize <= ResourceLimits.maxModelValues
        else {
            throw NablaError(
                .resourceLimit,
                "\(name): an input of shape [batch, \(inputShape.map(String.init).joined(separator: ", "))] is too large (NABLA_MAX_MODEL_VALUES)"
            )
        }
        // One run on a batch of one checks every shape in the graph.
        let out = try withoutGradients { try run([feed(Tensor.zeros([1] + inputShape))]) }
        guard case .float(let t, _)? = out.first else {
            throw NablaError(.invalidArgument, "\(name): the graph's first output is not a float tensor")
        }
        // A batch of two tells, once and here, whether the graph fixes its batch at 1.
        do {
            _ = try withoutGradients { try run([feed(Tensor.zeros([2] + inputShape))]) }
            runsOneAtATime = false
        } catch {
            runsOneAtATime = true
            FileHandle.standardError.write(
                Data(
                    "note: \(name): the graph fixes its batch at 1 (a batch of two fails: \(error)); larger batches run one example at a time\n"
                        .utf8))
        }
        return Array(out[0].shape.dropFirst()).isEmpty && t.rank == 0 ? [] : Array(out[0].shape.dropFirst())
    }

    /// Whether the graph fixes its batch size at 1 (a Reshape to `[1, ...]`, common in older
    /// exports), decided when the model is built by a run on a batch of two: then batches run
    /// one example at a time.
    private(set) var runsOneAtATime = false

    /// Runs the graph; an error while it runs (a size or index from the input that the graph
    /// cannot take) is thrown, naming the model.
    public override func checkedForward(_ input: Tensor) throws -> Tensor {
        let batch = input.shape.first ?? 0
        if runsOneAtATime, batch > 1 {
            return concat(
                try (0..<batch).map { try checkedForward(input.slice(axis: 0, start: $0, end: $0 + 1)) }, axis: 0)
        }
        let out: [ONNXValue]
        do { out = try run([feed(input)]) } catch var error as NablaError {
            error.message = "\(name): " + error.message
            throw error
        }
        if case .ints(let a) = out[0] { return a.floatTensor }
        return out[0].native
    }

    public override func forward(_ input: Tensor) -> Tensor {
        do { return try checkedForward(input) } catch { misuse("\(error)") }
    }

    /// The graph's size, for messages: "1,234 nodes (Conv 53, Relu 49, …), ".
    public var summaryLine: String {
        var counts: [String: Int] = [:]
        for n in program.nodes { counts[n.op, default: 0] += 1 }
        let top = counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(6)
        return
            "\(program.nodes.count) nodes (\(top.map { "\($0.key) \($0.value)" }.joined(separator: ", "))\(counts.count > 6 ? ", …" : "")), "
    }

    /// Runs the graph's inputs to all of its outputs (in ONNX's layout).
    public func callAsFunction(all inputs: [Tensor]) throws -> [Tensor] {
        try run(inputs.map { .float($0, .native) }).map { v in if case .ints(let a) = v { a.tensor } else { v.native } }
    }

    // MARK: Saving

    public var config: LayerConfig {
        var c = LayerConfig()
        c["opset"] = .number(Double(program.opset))
        c["input_layout"] = .string(inputLayout == .nhwc ? "nhwc" : "nchw")
        if let s = inputScaling {
            c["input_scale"] = .number(Double(s.scale))
            c["input_offset"] = .number(Double(s.offset))
        }
        c["inputs"] = .array(program.inputs.map { .string(program.names[$0]) })
        c["outputs"] = .array(program.outputs.map { .string(program.names[$0]) })
        c["nodes"] = .array(
            program.nodes.map { n in
                .object([
                    "op": .string(n.op), "name": .string(n.name),
                    "inputs": .array(n.inputs.map { .string($0 >= 0 ? program.names[$0] : "") }),
                    "outputs": .array(n.outputs.map { .string($0 >= 0 ? program.names[$0] : "") }),
                    "attributes": .object(n.attributes.mapValues(Self.json)),
                ])
            })
        let parameterSlots = Set(parameterSpecs.map(\.slot))
        var constants: [String: JSONValue] = [:]
        for (slot, value) in program.constants where !parameterSlots.contains(slot) {
            switch value {
            case .ints(let a):
                constants[program.names[slot]] = .object([
                    "dtype": .string(a.dtype.description), "shape": .array(a.shape.map { .number(Double($0)) }),
                    "values": .array(a.values.map { .number(Double($0)) }),
                ])
            case .float(let t, _):
                constants[program.names[slot]] = .object([
                    "dtype": .string("float32"), "shape": .array(t.shape.map { .number(Double($0)) }),
                    "values": .array(t.contiguous().toArray(Float.self).map { .number(Double($0)) }),
                ])
            case .none: break
            }
        }
        c["constants"] = .object(constants)
        c["parameters"] = .array(
            parameterSpecs.map { p in
                .object([
                    "name": .string(p.name), "shape": .array(p.shape.map { .number(Double($0)) }),
                    "layout": .string(p.layout.rawValue), "trainable": .bool(p.trainable),
                ])
            })
        return c
    }

    static func json(_ a: ONNXAttribute) -> JSONValue {
        switch a {
        case .float(let f): .object(["f": .number(Double(f))])
        case .int(let i): .object(["i": .number(Double(i))])
        case .string(let s): .object(["s": .string(s)])
        case .floats(let f): .object(["floats": .array(f.map { .number(Double($0)) })])
        case .ints(let i): .object(["ints": .array(i.map { .number(Double($0)) })])
        case .strings(let s): .object(["strings": .array(s.map { .string($0) })])
        case .tensor, .graph: .null
        }
    }

    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        func bad(_ what: String) -> NablaError { NablaError(.corruptFile, "ONNXGraph: \(what)") }
        func strings(_ v: JSONValue?) throws -> [String] {
            guard case .array(let items)? = v else { throw bad("expected a list of names") }
            return try items.map { if case .string(let s) = $0 { s } else { throw bad("expected a name") } }
        }
        func numbers(_ v: JSONValue?, _ what: String) throws -> [Double] {
            guard case .array(let items)? = v else { throw bad("'\(what)' must be a list of numbers") }
            return try items.map { if case .number(let x) = $0 { x } else { throw bad("'\(what)' must hold numbers") } }
        }
        func int64(_ x: Double) throws -> Int64 {
            guard let i = Int64(exactly: x.rounded()) else { throw bad("\(x) is not an integer") }
            return i
        }
        let opset = try config.int("opset", in: ONNXOps.opsets.lowerBound...ONNXOps.opsets.upperBound)
        let layout: ONNXLayout = try config.string("input_layout") == "nhwc" ? .nhwc : .native
        guard case .array(let nodeList)? = config["nodes"] else { throw bad("'nodes' is missing") }
        var nodes: [ONNXNodeProto] = []
        for item in nodeList {
            guard case .object(let n) = item, case .string(let op)? = n["op"], case .string(let name)? = n["name"]
            else {
                throw bad("a node lacks its op or name")
            }
            var node = ONNXNodeProto()
            (node.opType, node.name) = (op, name)
            node.inputs = try strings(n["inputs"])
            node.outputs = try strings(n["outputs"])
            guard case .object(let attributes)? = n["attributes"] else { throw bad("node '\(name)' lacks attributes") }
            for (key, value) in attributes {
                guard case .object(let a) = value, let (kind, v) = a.first else {
                    throw bad("attribute '\(key)' of '\(name)'")
                }
                switch (kind, v) {
                case ("f", .number(let x)): node.attributes[key] = .float(Float(x))
                case ("i", .number(let x)): node.attributes[key] = .int(try int64(x))
                case ("s", .string(let s)): node.attributes[key] = .string(s)
                case ("floats", _): node.attributes[key] = .floats(try numbers(v, key).map { Float($0) })
                case ("ints", _): node.attributes[key] = .ints(try numbers(v, key).map(int64))
                case ("strings", _): node.attributes[key] = .strings(try strings(v))
                default: throw bad("attribute '\(key)' of '\(name)' is not valid")
                }
            }
            nodes.append(node)
        }
        var source = ONNXTensorSource(folder: nil)
        var constants: [String: ONNXValue] = [:]
        guard case .object(let constantList)? = config["constants"] else { throw bad("'constants' is missing") }
        for (name, item) in constantList {
            guard case .object(let c) = item, case .string(let dtype)? = c["dtype"] else {
                throw bad("constant '\(name)'")
            }
            let shape = try source.charge(try numbers(c["shape"], "shape").map(int64), "constant '\(name)'")
            let values = try numbers(c["values"], "values")
            guard values.count == shape.reduce(1, *), shape.count <= ONNXLimits.maxRank else {
                throw bad("constant '\(name)' has \(values.count) values for shape \(shape)")
            }
            if dtype == "float32" {
                constants[name] = .float(Tensor(values.map { Float($0) }, shape: shape), .native)
            } else {
                let type: DType =
                    dtype == "bool" ? .bool : dtype == "int32" ? .int32 : dtype == "uint8" ? .uint8 : .int64
                constants[name] = .ints(IntArray(shape: shape, values: try values.map(int64), dtype: type))
            }
        }
        guard case .array(let parameterList)? = config["parameters"] else { throw bad("'parameters' is missing") }
        var specs: [(name: String, shape: [Int], layout: ONNXLayout, trainable: Bool)] = []
        for item in parameterList {
            guard case .object(let p) = item, case .string(let name)? = p["name"], case .string(let l)? = p["layout"],
                let layout = ONNXLayout(rawValue: l), case .bool(let trainable)? = p["trainable"]
            else { throw bad("a parameter entry is not valid") }
            let shape = try numbers(p["shape"], "shape").map(int64).map { Int(clamping: $0) }
            guard shape.count <= ONNXLimits.maxRank,
                shape.allSatisfy({ $0 >= 1 && $0 <= LayerConfigLimits.maxDimension })
            else {
                throw bad("parameter '\(name)' has shape \(shape)")
            }
            specs.append((name, shape, layout, trainable))
            // A placeholder of the stored shape: the model's values replace it.
            let placeholder = Tensor.zeros([1])
            constants[name] = .float(placeholder, .native)
        }
        let program = try ONNXProgram(
            nodes: nodes, constants: constants, inputs: try strings(config["inputs"]),
            outputs: try strings(config["outputs"]),
            opset: opset, parameters: Set(specs.map(\.name)), source: &source)
        let resolved = try specs.map { s -> ParameterSpec in
            guard let slot = program.slots[s.name] else { throw bad("parameter '\(s.name)' is not in the graph") }
            return ParameterSpec(slot: slot, name: s.name, shape: s.shape, layout: s.layout, trainable: s.trainable)
        }
        let model = ONNXModel(
            program: program, parameters: resolved, values: nil, inputLayout: layout, name: "onnx_graph")
        if config["input_scale"] != nil {
            model.inputScaling = (try config.float("input_scale"), try config.float("input_offset"))
        }
        return model
    }
}

extension ONNXNodeProto {
    init() {}
}
