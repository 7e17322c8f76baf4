import Foundation
import Nabla
import NablaNN

/// The operators an imported graph may use.
enum ONNXOps {
    typealias Kernel = (ONNXCall) throws -> [ONNXValue]

    nonisolated(unsafe) static let kernels: [String: Kernel] = elementwise().merging(shapeOps()) { a, _ in a }.merging(
        network()
    ) { a, _ in a }

    /// The inputs of each operator read as settings (shapes, axes, bounds, statistics), not data
    /// to differentiate: constants there are not trained.
    static let settingInputs: [String: Set<Int>] = [
        "Reshape": [1], "Expand": [1], "Tile": [1], "Squeeze": [1], "Unsqueeze": [1], "Split": [1],
        "Slice": [1, 2, 3, 4], "Pad": [1, 2, 3], "Resize": [1, 2, 3], "Clip": [1, 2], "Dropout": [1, 2],
        "ConstantOfShape": [0], "Range": [0, 1, 2], "BatchNormalization": [3, 4], "Gather": [1],
        "ReduceMean": [1], "ReduceSum": [1], "ReduceMax": [1], "ReduceMin": [1], "Where": [0],
    ]

    /// The opsets of the default domain an import accepts.
    static let opsets = 1...22
}

/// A node ready to run: inputs and outputs as value slots (−1 for an input left out).
struct ONNXNode: Sendable {
    var op: String
    var name: String
    var inputs: [Int]
    var outputs: [Int]
    var attributes: [String: ONNXAttribute]
}

extension ONNXAttribute: @unchecked Sendable {}

/// A checked, sorted graph and what its slots hold: the part of an imported model that runs.
///
/// Built from a decoded file or a saved description; the checks are the same for both: every
/// name produced once, every input produced before it is used (so no cycles), every operator
/// supported (one error lists all that are not, with counts), constants folded.
struct ONNXProgram: @unchecked Sendable {
    /// The slot names, for errors and saving.
    var names: [String]
    var nodes: [ONNXNode]
    var inputs: [Int]
    var outputs: [Int]
    /// Constant values by slot (weights among them are replaced by parameters when run).
    var constants: [Int: ONNXValue]
    var opset: Int
    /// Nodes whose results depend only on constants and shapes: computed once per input shape.
    var shapeOnly: [Bool] = []
    /// The index of the last node that reads each slot (graph outputs: `Int.max`).
    var lastUse: [Int] = []

    /// Checks and sorts `graphNodes` over `constants` and the named graph `inputs`, folds what
    /// depends only on constants, and drops what no output needs.
    init(
        nodes graphNodes: [ONNXNodeProto], constants named: [String: ONNXValue], inputs inputNames: [String],
        outputs outputNames: [String], opset: Int, parameters: Set<String> = [], source: inout ONNXTensorSource
    ) throws {
        self.opset = opset
        var slot: [String: Int] = [:]
        var names: [String] = []
        func define(_ name: String, _ what: String) throws -> Int {
            guard !name.isEmpty else { throw NablaError(.corruptFile, "\(what) has an empty name") }
            guard slot[name] == nil else {
                throw NablaError(.corruptFile, "the name '\(name)' is defined twice (\(what))")
            }
            slot[name] = names.count
            names.append(name)
            return names.count - 1
        }
        var constants: [Int: ONNXValue] = [:]
        for (name, value) in named.sorted(by: { $0.key < $1.key }) {
            constants[try define(name, "initializer '\(name)'")] = value
        }
        parameterSlots = Set(parameters.compactMap { slot[$0] })
        var inputs: [Int] = []
        for name in inputNames where slot[name] == nil { inputs.append(try define(name, "graph input '\(name)'")) }

        // Unsupported operators, all at once.
        var unsupported: [String: Int] = [:]
        for n in graphNodes
        where !(n.domain.isEmpty || n.domain == "ai.onnx")
            || (ONNXOps.kernels[n.opType] == nil && n.opType != "Constant")
        {
            unsupported[n.domain.isEmpty || n.domain == "ai.onnx" ? n.opType : "\(n.domain).\(n.opType)", default: 0] +=
                1
        }
        guard unsupported.isEmpty else {
            throw NablaError(
                .unsupportedOperator,
                "the graph uses operators Nabla does not import: "
                    + unsupported.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value)×)" }.joined(separator: ", "))
        }

        // Topological order (Kahn): a node runs once every input it names is defined.
        var producer: [String: Int] = [:]
        for (i, n) in graphNodes.enumerated() {
            for o in n.outputs where !o.isEmpty {
                guard producer[o] == nil, slot[o] == nil else {
                    throw NablaError(.corruptFile, "the value '\(o)' is produced twice (node '\(n.name)', \(n.opType))")
                }
                producer[o] = i
            }
        }
        var waiting = [Int](repeating: 0, count: graphNodes.count)
        var consumers: [String: [Int]] = [:]
        for (i, n) in graphNodes.enumerated() {
            for name in Set(n.inputs) where !name.isEmpty && slot[name] == nil {
                guard producer[name] != nil else {
                    throw NablaError(
                        .corruptFile, "node '\(n.name)' (\(n.opType)) reads '\(name)', which nothing defines")
                }
                waiting[i] += 1
                consumers[name, default: []].append(i)
            }
        }
        var ready = (0..<graphNodes.count).filter { waiting[$0] == 0 }.reversed() as [Int]
        var order: [Int] = []
        order.reserveCapacity(graphNodes.count)
        while let i = ready.popLast() {
            order.append(i)
            for o in graphNodes[i].outputs where !o.isEmpty {
                for j in consumers[o] ?? [] {
                    waiting[j] -= 1
                    if waiting[j] == 0 { ready.append(j) }
                }
            }
        }
        guard order.count == graphNodes.count else {
            let stuck =
                (0..<graphNodes.count).first { waiting[$0] > 0 }.map {
                    "'\(graphNodes[$0].name)' (\(graphNodes[$0].opType))"
                } ?? ""
            throw NablaError(.corruptFile, "the graph has a cycle through node \(stuck)")
        }

        var nodes: [ONNXNode] = []
        for i in order {
            let n = graphNodes[i]
            var attributes = n.attributes
            if n.opType == "Constant" {
                guard n.outputs.count == 1 else {
                    throw NablaError(.corruptFile, "Constant node '\(n.name)' must have one output")
                }
                constants[try define(n.outputs[0], "node '\(n.name)'")] = try Self.constantValue(n, &source)
                continue
            }
            if n.opType == "ConstantOfShape", case .tensor(let t)? = attributes["value"] {
                switch try source.value(t, "node '\(n.name)' value") {
                case .float(let v, _):
                    attributes["value"] = .floats(v.count == 1 ? v.toArray(Float.self) : [0])
                case .ints(let a):
                    attributes["value"] = .ints(Array(a.values.prefix(1)))
                    attributes["value_dtype"] = .int(a.dtype == .bool ? 9 : 7)
                case .none: break
                }
            }
            if attributes.values.contains(where: {
                if case .graph = $0 { true } else if case .tensor = $0 { true } else { false }
            }) {
                throw NablaError(
                    .unsupportedOperator,
                    "node '\(n.name)' (\(n.opType)) has a graph or tensor attribute, which is not supported")
            }
            let ins = n.inputs.map { $0.isEmpty ? -1 : slot[$0] ?? -1 }
            let outs = try n.outputs.map { $0.isEmpty ? -1 : try define($0, "node '\(n.name)'") }
            nodes.append(
                ONNXNode(
                    op: n.opType, name: n.name.isEmpty ? "\(n.opType)_\(nodes.count)" : n.name, inputs: ins,
                    outputs: outs, attributes: attributes))
        }
        let outputs = try outputNames.map { name in
            guard let s = slot[name] else {
                throw NablaError(.corruptFile, "the graph output '\(name)' is never computed")
            }
            return s
        }
        guard !outputs.isEmpty else { throw NablaError(.corruptFile, "the graph has no outputs") }
        (self.names, self.nodes, self.inputs, self.outputs, self.constants) = (names, nodes, inputs, outputs, constants)
        self.slots = slot
        try fold(charging: &source)
        prune()
        classify()
    }

    /// Slots by name.
    var slots: [String: Int] = [:]
    /// The constant slots a model trains or loads as parameters: never folded, never cached.
    var parameterSlots: Set<Int> = []

    static func constantValue(_ n: ONNXNodeProto, _ source: inout ONNXTensorSource) throws -> ONNXValue {
        let what = "Constant node '\(n.name)'"
        switch n.attributes.first(where: { $0.key != "domain" })?.value {
        case .tensor(let t)?: return try source.value(t, what)
        case .float(let f)?: return .float(Tensor([f], shape: []), .native)
        case .floats(let f)?:
            _ = try source.charge([Int64(f.count)], what)
            return .float(Tensor(f, shape: [f.count]), .native)
        case .int(let i)?: return .ints(IntArray(scalar: i))
        case .ints(let i)?: return .ints(IntArray(i))
        default: throw NablaError(.unsupportedOperator, "\(what) has no value Nabla can read")
        }
    }

    /// Computes the nodes whose inputs are all constants, once.
    ///
    /// Their results are kept for every run, so they are charged against the model's budget like
    /// its initializers.
    mutating func fold(charging source: inout ONNXTensorSource) throws {
        var kept: [ONNXNode] = []
        for node in nodes {
            let present = node.inputs.filter { $0 >= 0 }
            if node.op != "Dropout", present.allSatisfy({ constants[$0] != nil && !parameterSlots.contains($0) }) {
                let values = try withoutGradients { try run(node, training: false) { constants[$0] ?? .none } }
                for (slot, v) in zip(node.outputs, values) where slot >= 0 {
                    _ = try source.charge(
                        v.shape.map(Int64.init), "the folded result of node '\(node.name)' (\(node.op))")
                    constants[slot] = v
                }
                continue
            }
            kept.append(node)
        }
        nodes = kept
    }

    /// Marks the nodes whose results follow from the input shapes alone.
    mutating func classify() {
        var isStatic = Set(constants.keys).subtracting(parameterSlots)
        shapeOnly = nodes.map { node in
            let present = node.inputs.filter { $0 >= 0 }
            let shapeBased =
                node.op == "Shape" || node.op == "Size"
                || (node.op != "Dropout" && present.allSatisfy { isStatic.contains($0) })
            if shapeBased { for o in node.outputs where o >= 0 { isStatic.insert(o) } }
            return shapeBased
        }
    }

    /// Drops nodes and constants no output needs, and records where each slot is last read.
    mutating func prune() {
        var needed = Set(outputs)
        var keep = [Bool](repeating: false, count: nodes.count)
        for i in nodes.indices.reversed() where nodes[i].outputs.contains(where: { needed.contains($0) }) {
            keep[i] = true
            for s in nodes[i].inputs where s >= 0 { needed.insert(s) }
        }
        nodes = nodes.indices.filter { keep[$0] }.map { nodes[$0] }
        constants = constants.filter { needed.contains($0.key) }
        lastUse = [Int](repeating: -1, count: names.count)
        for (i, n) in nodes.enumerated() { for s in n.inputs where s >= 0 { lastUse[s] = i } }
        for s in outputs { lastUse[s] = Int.max }
    }

    /// Runs one node on the values `value(slot)` gives for its inputs.
    func run(_ node: ONNXNode, training: Bool, _ value: (Int) -> ONNXValue) throws -> [ONNXValue] {
        let inputs = node.inputs.map { $0 >= 0 ? value($0) : .none }
        let call = ONNXCall(node: node, inputs: inputs, opset: opset, training: training)
        guard let kernel = ONNXOps.kernels[node.op] else { throw call.error("unsupported") }
        let out = try kernel(call)
        try call.check(
            out.count >= node.outputs.filter { $0 >= 0 }.count,
            "computes \(out.count) outputs, the graph wants \(node.outputs.count)")
        return out
    }

    /// Runs the graph on `inputs` (in the order of ``inputs``), with `values` overriding
    /// constants (a model's current parameters) and `cache` holding the shape-only results of
    /// earlier runs on the same input shapes.
    func execute(
        _ feeds: [ONNXValue], overrides: [Int: ONNXValue], training: Bool, cache: ShapeCache?
    ) throws -> [ONNXValue] {
        guard feeds.count == inputs.count else {
            throw NablaError(.invalidArgument, "the graph takes \(inputs.count) inputs, got \(feeds.count)")
        }
        var values = [ONNXValue](repeating: .none, count: names.count)
        for (s, v) in constants { values[s] = v }
        for (s, v) in overrides { values[s] = v }
        for (s, v) in zip(inputs, feeds) { values[s] = v }
        let key = feeds.map(\.shape)
        var cached = cache?.lookup(key) ?? [:]
        let hadCache = !cached.isEmpty
        for (i, node) in nodes.enumerated() {
            if shapeOnly[i], hadCache {
                for o in node.outputs where o >= 0 { values[o] = cached[o] ?? .none }
            } else {
                let out: [ONNXValue]
                if shapeOnly[i] {
                    out = try withoutGradients { try run(node, training: training) { values[$0] } }
                } else {
                    out = try run(node, training: training) { values[$0] }
                }
                for (slot, v) in zip(node.outputs, out) where slot >= 0 {
                    values[slot] = v
                    if shapeOnly[i] { cached[slot] = v }
                }
            }
            for s in node.inputs where s >= 0 && lastUse[s] == i && constants[s] == nil && overrides[s] == nil {
                values[s] = .none
            }
        }
        if !hadCache, !cached.isEmpty { cache?.store(key, cached) }
        return outputs.map { values[$0] }
    }
}

/// The shape-only results of a graph per input shapes (Shape → Gather → Concat → Reshape
/// chains), computed on the first run with those shapes.
final class ShapeCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [[[Int]]: [Int: ONNXValue]] = [:]

    func lookup(_ key: [[Int]]) -> [Int: ONNXValue]? { lock.withLock { entries[key] } }

    func store(_ key: [[Int]], _ value: [Int: ONNXValue]) {
        lock.withLock {
            if entries.count >= 64 { entries.removeAll() }
            entries[key] = value
        }
    }
}
