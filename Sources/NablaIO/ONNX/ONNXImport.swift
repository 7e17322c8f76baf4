import Foundation
import Nabla
import NablaNN

/// Reads ONNX files (https://onnx.ai/onnx/repo-docs/IR.html) into Nabla models.
///
/// The graph is checked before anything runs: IR version and opsets, every name produced once
/// and defined before use (no cycles, nothing dangling), every operator supported (one error
/// lists every unsupported one with its count), and every shape, by one run on a batch of one.
/// Sizes in the file are checked before anything is allocated.
public enum ONNXImport {
    /// The IR versions read.
    public static let irVersions: ClosedRange<Int64> = 3...14

    /// Makes `Model.load` and the command line read `.onnx` files too.
    public static func register() {
        LayerRegistry.register(ONNXModel.self)
        ModelFile.registerLoader(forExtension: "onnx") { try load($0) }
    }

    /// Imports the ONNX model at `path`.
    ///
    /// - Parameters:
    ///   - path: the `.onnx` file; external data files are looked up beside it.
    ///   - inputShape: the per-example input shape, in the layout the model will take; needed
    ///     only when the file leaves a dimension other than the batch open.
    ///   - channelsLast: take rank-4 inputs as NHWC (Nabla's image layout) instead of the
    ///     file's NCHW; the first convolution then reads them as they are.
    ///   - inputScaling: `x · scale + offset` applied to every input before the graph, for a
    ///     graph that expects prepared values (`(1 / 255, 0)` for one trained on [0, 1]); the
    ///     model then takes raw 0–255 pixels, as Nabla's data gives them. `(1, 0)` declares that
    ///     the graph takes raw pixels itself.
    /// - Throws: `NablaError`: `.corruptFile` for a file that is not a valid ONNX graph (what
    ///   and where), `.unsupportedVersion` for an IR version or opset outside what is read,
    ///   `.unsupportedOperator` listing every operator not supported, `.invalidArgument` for a
    ///   shape that does not fit, `.resourceLimit` for sizes beyond the limits.
    /// - Returns: the model, built, in inference mode, with the file's class names if it has them.
    public static func load(
        _ path: String, inputShape: [Int]? = nil, channelsLast: Bool = false,
        inputScaling: (scale: Float, offset: Float)? = nil
    ) throws -> Model {
        let data = try InputFile.contents(path)
        return try NablaError.at(path) {
            try model(
                data, folder: (path as NSString).deletingLastPathComponent, inputShape: inputShape,
                channelsLast: channelsLast, inputScaling: inputScaling)
        }
    }

    /// Imports an ONNX model from its bytes (external data is looked up in `folder`); see
    /// ``load(_:inputShape:channelsLast:inputScaling:)``.
    public static func model(
        _ data: Data, folder: String? = nil, inputShape: [Int]? = nil, channelsLast: Bool = false,
        inputScaling: (scale: Float, offset: Float)? = nil
    ) throws -> Model {
        register()
        let (proto, program, _) = try parse(data, folder: folder)
        guard let graph = proto.graph else { throw NablaError(.corruptFile, "the file holds no graph") }
        // Weights: float constants the graph reads as data. Small ones read only as settings
        // stay constants.
        var dataUse: [Int: Bool] = [:]
        var convFilterOnly: [Int: Bool] = [:]
        for node in program.nodes {
            for (i, s) in node.inputs.enumerated() where s >= 0 {
                guard case .float(let t, _)? = program.constants[s] else { continue }
                let setting = ONNXOps.settingInputs[node.op]?.contains(i) ?? false
                if !setting || t.count > 16 { dataUse[s] = (dataUse[s] ?? false) || !setting }
                convFilterOnly[s] = (convFilterOnly[s] ?? true) && node.op == "Conv" && i == 1 && t.rank == 4
            }
        }
        var specs: [ONNXModel.ParameterSpec] = []
        var values: [Int: Tensor] = [:]
        for (slot, trainable) in dataUse.sorted(by: { $0.key < $1.key }) {
            guard case .float(let t, _)? = program.constants[slot] else { continue }
            let hwio = convFilterOnly[slot] == true
            let stored = hwio ? t.permuted([2, 3, 1, 0]).contiguous() : t
            values[slot] = stored
            specs.append(
                ONNXModel.ParameterSpec(
                    slot: slot, name: program.names[slot], shape: stored.shape, layout: hwio ? .hwio : .native,
                    trainable: trainable))
        }
        var prepared = program
        prepared.parameterSlots = Set(specs.map(\.slot))
        for s in specs { if let v = values[s.slot] { prepared.constants[s.slot] = .float(v, s.layout) } }
        prepared.classify()
        guard prepared.inputs.count == 1 else {
            throw NablaError(
                .invalidArgument,
                "the graph takes \(prepared.inputs.count) inputs (\(prepared.inputs.map { prepared.names[$0] })); a model takes one"
            )
        }
        let inputName = prepared.names[prepared.inputs[0]]
        guard let declared = graph.inputs.first(where: { $0.name == inputName }) else {
            throw NablaError(.corruptFile, "the graph input '\(inputName)' is not declared")
        }
        guard [ONNXType.float, ONNXType.uint8, 0].contains(declared.elementType) else {
            throw NablaError(
                .unsupportedOperator,
                "the graph input '\(inputName)' has element type \(declared.elementType); float and uint8 inputs are supported"
            )
        }
        var shape: [Int]
        if let inputShape {
            shape = inputShape
        } else {
            guard let dims = declared.shape, dims.count >= 1, dims.dropFirst().allSatisfy({ $0 != nil }) else {
                throw NablaError(
                    .invalidArgument, "the graph input '\(inputName)' leaves a dimension open; give the input shape")
            }
            shape = dims.dropFirst().compactMap { $0 }
            if channelsLast && shape.count == 3 { shape = [shape[1], shape[2], shape[0]] }
        }
        let model = ONNXModel(
            program: prepared, parameters: specs, values: values, inputLayout: channelsLast ? .nhwc : .native,
            name: graph.name.isEmpty ? "onnx_graph" : String(graph.name.prefix(64)))
        if let inputScaling {
            guard inputScaling.scale.isFinite, inputScaling.offset.isFinite else {
                throw NablaError(.invalidArgument, "the input scaling \(inputScaling) is not finite")
            }
            model.inputScaling = inputScaling
        }
        try model.buildChecked(inputShape: shape)
        model.inputSpec = InputSpec(shape: shape, dtype: declared.elementType == ONNXType.uint8 ? .uint8 : .float32)
        if let names = proto.metadata["class_names"], let data = names.data(using: .utf8),
            let list = try? JSONDecoder().decode([String].self, from: data)
        {
            model.classNames = list
        }
        model.isTraining = false
        return model
    }

    /// Decodes and checks a file into a program over all of its constants.
    static func parse(_ data: Data, folder: String?) throws -> (ONNXModelProto, ONNXProgram, ONNXTensorSource) {
        let proto = try ONNXModelProto(data, context: "ONNX model")
        guard irVersions.contains(proto.irVersion) else {
            throw NablaError(
                .unsupportedVersion, "IR version \(proto.irVersion) is outside the \(irVersions) Nabla reads")
        }
        let opset = proto.opsets[""] ?? 0
        guard ONNXOps.opsets.contains(Int(opset)) else {
            throw NablaError(
                .unsupportedVersion, "opset \(opset) of the default domain is outside the \(ONNXOps.opsets) Nabla reads"
            )
        }
        guard let graph = proto.graph else { throw NablaError(.corruptFile, "the file holds no graph") }
        var source = ONNXTensorSource(folder: folder)
        var constants: [String: ONNXValue] = [:]
        for t in graph.initializers {
            guard constants[t.name] == nil else {
                throw NablaError(.corruptFile, "the initializer '\(t.name)' is given twice")
            }
            constants[t.name] = try source.value(t, "initializer '\(t.name)'")
        }
        let program = try ONNXProgram(
            nodes: graph.nodes, constants: constants, inputs: graph.inputs.map(\.name),
            outputs: graph.outputs.map(\.name),
            opset: Int(opset), source: &source)
        return (proto, program, source)
    }

    /// Runs an ONNX file's whole graph on `inputs` (by graph input, in order, initializers left
    /// out) and returns every graph output: for checking a file against reference data.
    public static func run(_ path: String, inputs: [Tensor]) throws -> [Tensor] {
        let f = try function(path)
        return try withoutGradients { try f(inputs) }
    }

    /// Returns an ONNX file's whole graph as a function of its inputs (initializers left out)
    /// to all of its outputs, in ONNX's layouts; gradients flow through it to float inputs.
    public static func function(_ path: String) throws -> ONNXFunction {
        try function(try InputFile.contents(path), folder: (path as NSString).deletingLastPathComponent)
    }

    /// Returns an ONNX model's graph, from its bytes, as a function; see ``function(_:)``.
    public static func function(_ data: Data, folder: String? = nil) throws -> ONNXFunction {
        let (proto, program, _) = try parse(data, folder: folder)
        let declared = Dictionary(
            (proto.graph?.inputs ?? []).map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        let shapes = program.inputs.map { slot in (declared[program.names[slot]] ?? nil)?.map { $0 ?? 1 } ?? [] }
        return ONNXFunction(program: program, inputShapes: shapes)
    }

    /// Reads a serialized ONNX `TensorProto` (the `.pb` files beside the ONNX test models).
    public static func readTensor(_ path: String) throws -> Tensor {
        let v = try ONNXValue.read(protobuf: path)
        if case .ints(let a) = v { return a.tensor }
        return v.native
    }
}

/// An ONNX graph as a function from its inputs to its outputs.
public struct ONNXFunction: Sendable {
    let program: ONNXProgram
    /// The declared shapes of the inputs (open dimensions as 1; empty when not declared).
    public let inputShapes: [[Int]]

    /// The names of the graph's inputs, in order.
    public var inputNames: [String] { program.inputs.map { program.names[$0] } }

    /// Runs the graph: float tensors in, integer tensors for integer inputs.
    public func callAsFunction(_ inputs: [Tensor]) throws -> [Tensor] {
        let feeds = inputs.map { t -> ONNXValue in t.dtype == .float32 ? .float(t, .native) : .ints(IntArray.of(t)) }
        let out = try program.execute(feeds, overrides: [:], training: false, cache: nil)
        return out.map { v in if case .ints(let a) = v { a.tensor } else { v.native.contiguous() } }
    }
}

/// What an ONNX file holds, without checking or running it.
public enum ONNXImportInspection {
    /// The operators the importer runs.
    public static var supportedOperators: Set<String> { Set(ONNXOps.kernels.keys).union(["Constant"]) }

    /// The inputs of `op` read as settings (shapes, axes, bounds, statistics): no gradient flows to them.
    public static func settingInputs(of op: String) -> Set<Int> { ONNXOps.settingInputs[op] ?? [] }

    /// The op types of the graph's nodes, in file order (empty when the file does not decode).
    public static func operators(_ data: Data) -> [String] {
        ((try? ONNXModelProto(data, context: "ONNX model"))?.graph?.nodes ?? []).map(\.opType)
    }
}
