/// One node of the autodiff graph.
///
/// A leaf (a tensor with ``Tensor/requiresGradient`` set by the user) has no backward and holds the
/// accumulated gradient. An interior node holds the function that maps the gradient of its output
/// to the gradients of its inputs, and the nodes of those inputs (nil where an input needs none).
final class GradNode: @unchecked Sendable {
    let op: String
    let inputs: [GradNode?]
    let backward: ((Tensor) -> [Tensor?])?
    /// The accumulated gradient of a leaf.
    var gradient: Tensor?

    init(leaf op: String) {
        self.op = op
        inputs = []
        backward = nil
    }

    init(op: String, inputs: [GradNode?], backward: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
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
                if node == nil { node = GradNode(leaf: "leaf") }
            } else {
                node = nil
            }
        }
    }

    /// The gradient accumulated into this leaf by ``backward()``, or nil before any.
    public var gradient: Tensor? { node?.gradient }

    /// Clears the accumulated gradient of this leaf.
    public func zeroGradient() { node?.gradient = nil }

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
        withoutGradients {
            let order = root.topologicalOrder()
            var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed.asType(.float32)]
            for node in order {
                guard let grad = pending.removeValue(forKey: ObjectIdentifier(node)) else { continue }
                guard let backward = node.backward else {
                    node.gradient = node.gradient.map { $0 + grad } ?? grad.contiguous()
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
    }

    /// Attaches a backward step to `result` when any input requires gradients.
    ///
    /// `backward` gets the gradient of `result` and returns one gradient (or nil) per input, each
    /// with that input's shape.
    func recording(_ op: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        var out = self
        out.node = GradNode(op: op, inputs: inputs.map(\.node), backward: backward)
        return out
    }
}

/// Attaches `backward` to `out` when `input` requires gradients; an identity-shaped unary step.
func recordUnary(_ out: Tensor, _ input: Tensor, _ backward: @escaping (Tensor) -> Tensor) -> Tensor {
    guard GradientMode.shouldRecord(input) else { return out }
    return out.recording("unary", inputs: [input]) { [backward($0)] }
}
