/// One node of the autodiff graph.
///
/// A leaf (a tensor with ``Tensor/requiresGradient`` set by the user) has no backward and holds the
/// accumulated gradient. An interior node holds the function that maps the gradient of its output
/// to the gradients of its inputs, and the nodes of those inputs (nil where an input needs none).
final class GradNode: @unchecked Sendable {
    /// The op that produced the value; nil for a leaf.
    let record: OpRecord?
    let inputs: [GradNode?]
    let backward: ((Tensor) -> [Tensor?])?
    /// The accumulated gradient of a leaf.
    var gradient: Tensor?

    init() {
        record = nil
        inputs = []
        backward = nil
    }

    init(record: OpRecord, inputs: [GradNode?], backward: @escaping (Tensor) -> [Tensor?]) {
        self.record = record
        self.inputs = inputs
        self.backward = backward
    }

    var isLeaf: Bool { backward == nil }

    /// Returns the nodes reachable from `self`, each after every node that consumes it.
    func topologicalOrder() -> [GradNode] {
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        // Iterative post-order DFS: deep graphs must not overflow the stack.
        var stack: [(GradNode, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (node, next) = stack.popLast() {
            if next < node.inputs.count {
                stack.append((node, next + 1))
                if let child = node.inputs[next], visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order.reversed()
    }
}

extension Tensor {
    /// Whether gradients with respect to this tensor are computed by ``backward()``.
    ///
    /// Setting it on a tensor makes that tensor a leaf of the graph. Results of operations on
    /// such tensors require gradients too (outside ``withoutGradients(_:)``).
    public var requiresGradient: Bool {
        get { node != nil }
        set {
            if newValue {
                require(dtype == .float32, "requiresGradient: only float32 tensors have gradients, not \(dtype)")
                if node == nil { node = GradNode() }
            } else {
                node = nil
            }
        }
    }

    /// The op that computed this tensor, when it was recorded for autodiff; nil for leaves and
    /// for values computed without gradients.
    public var opRecord: OpRecord? { node?.record }

    /// The gradient accumulated into this leaf by ``backward()``, or nil before any.
    public var gradient: Tensor? { node?.gradient }

    /// Clears the accumulated gradient of this leaf.
    public func zeroGradient() { node?.gradient = nil }

    /// The identity ``GradientReady/handler`` reports this leaf's gradient under (nil when the
    /// tensor requires no gradient).
    public var gradientIdentity: ObjectIdentifier? { node.map(ObjectIdentifier.init) }

    /// Returns the same values cut off from the graph: no gradient flows back through the result.
    public func detached() -> Tensor {
        var t = self
        t.node = nil
        return t
    }

    /// Computes the gradient of this scalar with respect to every leaf it depends on, adding it to
    /// each leaf's ``gradient``.
    ///
    /// Gradients accumulate across calls, as in PyTorch; call ``zeroGradient()`` (or let the
    /// optimizer do it) between steps.
    /// - Precondition: the tensor has one element and requires gradients.
    public func backward() {
        require(count == 1, "backward: called on a tensor of shape \(shape); pass the output gradient")
        backward(gradient: Tensor.ones(shape))
    }

    /// Back-propagates `gradient`, the gradient of some scalar with respect to this tensor.
    public func backward(gradient seed: Tensor) {
        guard let root = node else {
            misuse("backward: tensor does not require gradients (no input had requiresGradient set)")
        }
        require(seed.shape == shape, "backward: gradient shape \(seed.shape) does not match \(shape)")
        // Backward steps are neither recorded for autodiff nor traced.
        Tracer.$current.withValue(nil) {
            withoutGradients { Tensor.propagate(seed, from: root) }
        }
    }

    private static func propagate(_ seed: Tensor, from root: GradNode) {
        let order = root.topologicalOrder()
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed.asType(.float32)]
        for node in order {
            guard let grad = pending.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            guard let backward = node.backward else {
                node.gradient = node.gradient.map { $0 + grad } ?? grad.contiguous()
                // Every consumer of a leaf comes before it in this order: its gradient is final.
                if let gradient = node.gradient { GradientReady.handler?.body(ObjectIdentifier(node), gradient) }
                continue
            }
            let inputGrads = backward(grad)
            for (input, g) in zip(node.inputs, inputGrads) {
                guard let input, let g else { continue }
                let key = ObjectIdentifier(input)
                pending[key] = pending[key].map { $0 + g } ?? g
            }
        }
    }

    /// Returns this output of an op with its record attached: a backward step when any input
    /// requires gradients (and recording is on), and a trace entry when a trace is running.
    ///
    /// Ops call it after ``GradientMode/shouldRecord(_:)`` said yes. `backward` gets the gradient
    /// of the result and returns one gradient (or nil) per input, each with that input's shape.
    func recorded(
        _ kind: OpKind, _ attributes: [String: OpAttribute] = [:], inputs: [Tensor],
        backward: @escaping (Tensor) -> [Tensor?]
    ) -> Tensor {
        let record = OpRecord(kind, attributes)
        var out = self
        if GradientMode.isEnabled && inputs.contains(where: { $0.node != nil }) {
            out.node = GradNode(record: record, inputs: inputs.map(\.node), backward: backward)
        }
        Tracer.current?.append(record, inputs: inputs, output: out)
        return out
    }

    /// Returns this output of an op without a backward step, with a trace entry when a trace is running.
    func traced(
        _ kind: OpKind, _ attributes: @autoclosure () -> [String: OpAttribute] = [:], inputs: [Tensor]
    )
        -> Tensor
    {
        Tracer.current?.append(OpRecord(kind, attributes()), inputs: inputs, output: self)
        return self
    }
}

// A class holding the closure: a task-local of function type crashed in release builds here
// (Swift 6.3.1, swift_task_localValuePush).
/// A hook into ``Tensor/backward()`` that sees each gradient as soon as it is final.
///
/// While `handler` is set (for the current task), its body is called with each leaf's
/// ``Tensor/gradientIdentity`` and gradient once every op that reads the leaf has contributed,
/// before backward goes on to earlier layers. Data-parallel training starts reducing gradients
/// there, so that communication overlaps the rest of backward.
public final class GradientReady: Sendable {
    @TaskLocal public static var handler: GradientReady?

    let body: @Sendable (ObjectIdentifier, Tensor) -> Void

    /// A handler that calls `body` with each final gradient.
    public init(_ body: @escaping @Sendable (ObjectIdentifier, Tensor) -> Void) { self.body = body }
}
