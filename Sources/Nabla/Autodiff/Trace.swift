import Foundation

/// A forward pass recorded as a list of op records, each with where its inputs came from.
///
/// Made by ``trace(inputs:parameters:_:)``. Values are numbered in the order they appear: the
/// traced inputs, the named parameters, constants the computation made (scalars, masks), and the
/// outputs of the entries. ONNX export is built on this list.
public struct Trace: Sendable {
    /// Where an entry's input comes from.
    public enum Source: Hashable, Sendable, CustomStringConvertible {
        /// The `i`-th traced input.
        case input(Int)
        /// A named parameter.
        case parameter(String)
        /// The `i`-th constant (see ``constants``).
        case constant(Int)
        /// The output of the `i`-th entry.
        case entry(Int)

        public var description: String {
            switch self {
            case .input(let i): "input \(i)"
            case .parameter(let name): name
            case .constant(let i): "constant \(i)"
            case .entry(let i): "%\(i)"
            }
        }
    }

    /// One recorded op.
    public struct Entry: Sendable, CustomStringConvertible {
        /// The op and its attributes.
        public let record: OpRecord
        /// Its inputs, in the op's order.
        public let inputs: [Source]
        /// The shapes of its inputs.
        public let inputShapes: [[Int]]
        /// The shape of its output.
        public let outputShape: [Int]
        /// The dtype of its output.
        public let dtype: DType

        public var description: String {
            "\(record) \(inputs.map(\.description)) → \(outputShape)"
        }
    }

    /// The ops in execution order.
    public internal(set) var entries: [Entry] = []
    /// Values the computation used that are neither inputs, parameters nor op outputs.
    public internal(set) var constants: [Tensor] = []
    /// Where each returned output comes from.
    public internal(set) var outputs: [Source] = []
}

/// Runs `body` on `inputs` and returns what it computed along with the trace of every op it ran.
///
/// `parameters` names the tensors that should appear as parameters (a model's weights, by their
/// hierarchical names). Tracing records ops whether or not gradients are on; it does not change
/// results.
public func trace(
    inputs: [Tensor], parameters: [(name: String, value: Tensor)], _ body: ([Tensor]) throws -> [Tensor]
) rethrows -> (outputs: [Tensor], trace: Trace) {
    let tracer = Tracer()
    for (i, t) in inputs.enumerated() { tracer.register(t, as: .input(i)) }
    for (name, t) in parameters { tracer.register(t, as: .parameter(name)) }
    let outputs = try Tracer.$current.withValue(tracer) { try body(inputs) }
    tracer.lock.lock()
    defer { tracer.lock.unlock() }
    var result = tracer.trace
    result.outputs = outputs.map { tracer.source(of: $0) }
    return (outputs, result)
}

/// Collects the trace of the ops that run while it is current.
final class Tracer: @unchecked Sendable {
    /// The tracer ops append to, if any (per task and thread).
    @TaskLocal static var current: Tracer?

    /// Identifies a tensor view: its storage, offset, shape and strides.
    private struct Key: Hashable {
        let storage: ObjectIdentifier
        let offset: Int
        let shape: [Int]
        let strides: [Int]
        init(_ t: Tensor) {
            (storage, offset, shape, strides) = (ObjectIdentifier(t.storage), t.offset, t.shape, t.strides)
        }
    }

    let lock = NSLock()
    var trace = Trace()
    private var sources: [Key: Trace.Source] = [:]
    // NOTE: every registered tensor is kept alive, so a storage freed during the trace can never
    // be reused at the same address and mistaken for another value.
    private var retained: [Tensor] = []

    func register(_ t: Tensor, as source: Trace.Source) {
        sources[Key(t)] = source
        retained.append(t)
    }

    /// Returns where `t` comes from, registering it as a new constant when unknown.
    func source(of t: Tensor) -> Trace.Source {
        if let known = sources[Key(t)] { return known }
        let source = Trace.Source.constant(trace.constants.count)
        trace.constants.append(t.detached())
        register(t, as: source)
        return source
    }

    func append(_ record: OpRecord, inputs: [Tensor], output: Tensor) {
        lock.lock()
        defer { lock.unlock() }
        let entry = Trace.Entry(
            record: record, inputs: inputs.map { source(of: $0) }, inputShapes: inputs.map(\.shape),
            outputShape: output.shape, dtype: output.dtype)
        trace.entries.append(entry)
        register(output, as: .entry(trace.entries.count - 1))
    }
}
