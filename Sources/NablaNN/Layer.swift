import Foundation
import Nabla

/// A trainable tensor owned by a layer, with a stable identity for optimizer state.
///
/// `value` is a leaf of the autodiff graph while the parameter is trainable; optimizers update it
/// in place. A frozen parameter (its layer's ``Layer/isTrainable`` off) records no gradient.
public final class Parameter: @unchecked Sendable {
    /// The current value.
    public var value: Tensor
    /// Whether optimizers update it and backward computes its gradient.
    public var isTrainable: Bool {
        didSet { value.requiresGradient = isTrainable }
    }

    /// Creates a parameter.
    public init(_ value: Tensor, isTrainable: Bool = true) {
        self.value = value.detached()
        self.isTrainable = isTrainable
        self.value.requiresGradient = isTrainable
    }

    /// The gradient accumulated by the last backward passes, if any.
    public var gradient: Tensor? { value.gradient }
}

/// The base class of every layer and model.
///
/// A layer maps a batch to a batch: ``forward(_:)`` takes `[batch, ...]` and returns `[batch, ...]`.
/// It builds itself on first use (or when a model is given an input shape): ``build(inputShape:)``
/// gets the per-example input shape, creates the parameters with `addParameter(_:_:)` and
/// returns the per-example output shape. Sublayers are registered with ``addChild(_:)`` so that
/// ``parameters()`` lists everything under hierarchical names such as `block1.conv.weight`.
open class Layer: @unchecked Sendable {
    /// The name, unique among its siblings; the prefix of its parameters' names.
    public var name: String {
        // A renamed child makes its parent's set of taken names stale.
        didSet { parent?.childNames = nil }
    }
    /// The layer this one is a child of, if any.
    private weak var parent: Layer?
    /// The names of ``children``, kept so that adding a child costs no pass over its siblings;
    /// nil when a child was renamed since (rebuilt on the next add).
    private var childNames: Set<String>?
    /// Whether the layer's parameters are trained; false freezes them (and its sublayers).
    public var isTrainable = true {
        didSet {
            for (name, p) in ownParameters where !nonTrainableNames.contains(name) { p.isTrainable = isTrainable }
            for child in children { child.isTrainable = isTrainable }
        }
    }
    /// Whether the layer runs in training mode (dropout and augmentation active, batch statistics).
    public var isTraining = false {
        didSet { for child in children { child.isTraining = isTraining } }
    }
    /// The per-example input shape, once built.
    public private(set) var inputShape: [Int]?
    /// The per-example output shape, once built.
    public private(set) var outputShape: [Int]?

    private var ownParameters: [(String, Parameter)] = []
    private var nonTrainableNames: Set<String> = []
    /// The registered sublayers, in order.
    public private(set) var children: [Layer] = []

    /// Creates a layer; `name` defaults to the type's name in snake case (`conv2d`, `dense`).
    public init(name: String? = nil) {
        self.name = name ?? Layer.defaultName(for: Self.self)
    }

    static func defaultName(for type: Any.Type) -> String {
        let raw = String(describing: type)
        var out = ""
        for (i, c) in raw.enumerated() {
            if c.isUppercase, i > 0, let prev = out.last, prev.isLowercase { out.append("_") }
            out.append(c.lowercased())
        }
        return out
    }

    /// Creates the parameters for a per-example `inputShape` and returns the per-example output shape.
    ///
    /// Layers without parameters that keep the shape need not override it.
    ///
    /// - Throws: `NablaError` when the layer cannot take that shape (the message names the layer).
    open func build(inputShape: [Int]) throws -> [Int] { inputShape }

    /// Computes the layer's output for a batch.
    open func forward(_ input: Tensor) -> Tensor { input }

    /// Whether the layer takes integer inputs (uint8 images) and converts them itself.
    ///
    /// A model answers for its first layer. Training refuses other dtypes than float32 otherwise.
    open var convertsIntegerInputs: Bool { children.first?.convertsIntegerInputs ?? false }

    /// Registers a parameter named `name` (`trainable: false` for statistics such as moving means).
    @discardableResult
    public func addParameter(_ name: String, _ value: Tensor, trainable: Bool = true) -> Parameter {
        let parameter = Parameter(value, isTrainable: trainable && isTrainable)
        if !trainable { nonTrainableNames.insert(name) }
        ownParameters.append((name, parameter))
        return parameter
    }

    /// Registers a parameter named `name` of `shape`, drawn from `initializer`.
    ///
    /// While a model file is loaded the value starts at zero instead (the file's replaces it), and
    /// the parameters together may not hold more values than the file does.
    ///
    /// - Throws: `NablaError` for a shape with a dimension below 1 or too many elements.
    @discardableResult
    public func addParameter(
        _ name: String, shape: [Int], initializer: Initializer, trainable: Bool = true
    ) throws -> Parameter {
        let count = try Layer.elementCount(shape, "\(self.name): parameter '\(name)'")
        guard let budget = Layer.loadingBudget else {
            return addParameter(name, initializer(shape), trainable: trainable)
        }
        guard count <= budget.remaining else {
            throw NablaError(
                .corruptFile,
                "\(self.name): parameter '\(name)' of shape \(shape) needs more values than the file holds")
        }
        budget.remaining -= count
        return addParameter(name, Tensor.zeros(shape), trainable: trainable)
    }

    /// The values a model being loaded may still allocate; nil outside loading.
    @TaskLocal static var loadingBudget: LoadingBudget?

    final class LoadingBudget: @unchecked Sendable {
        var remaining: Int
        init(_ remaining: Int) { self.remaining = remaining }
    }

    /// The most elements a per-example shape or a parameter may have.
    static let maxElements = 1 << 34

    /// Returns the element count of `shape`, checked: every dimension at least 1, the product at
    /// most ``maxElements``.
    static func elementCount(_ shape: [Int], _ what: @autoclosure () -> String) throws -> Int {
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard d >= 1, !overflow, product <= maxElements else {
                throw NablaError(.invalidArgument, "\(what()): shape \(shape) is empty or too large")
            }
            count = product
        }
        return count
    }

    /// Registers a sublayer; its name gets a numeric suffix if a sibling already has it.
    @discardableResult
    public func addChild<L: Layer>(_ child: L) -> L {
        var taken = childNames ?? Set(children.map(\.name))
        Layer.nameLookups?.add(childNames == nil ? children.count : 0)
        if taken.contains(child.name) {
            let base = child.name
            var k = 1
            // Numbered names continue after the last one used for this base, not from 1 again.
            if let next = suffixes[base] { k = next }
            while taken.contains("\(base)_\(k)") {
                Layer.nameLookups?.add(1)
                k += 1
            }
            suffixes[base] = k + 1
            child.name = "\(base)_\(k)"
        }
        taken.insert(child.name)
        childNames = taken
        child.parent = self
        child.isTraining = isTraining
        if !isTrainable { child.isTrainable = false }
        children.append(child)
        return child
    }

    /// The next numeric suffix to try for each base name among the children.
    private var suffixes: [String: Int] = [:]

    /// Counts the names ``addChild(_:)`` examines, where a test sets it (the work of loading a
    /// file of many layers must grow linearly).
    @TaskLocal static var nameLookups: LookupCounter?

    /// A counter a test reads.
    final class LookupCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var total = 0
        func add(_ n: Int) {
            lock.lock()
            total += n
            lock.unlock()
        }
        var count: Int {
            lock.lock()
            defer { lock.unlock() }
            return total
        }
    }

    /// Returns every parameter of this layer and its sublayers, with hierarchical names.
    public func parameters() -> [(name: String, parameter: Parameter)] {
        var out = ownParameters.map { (name: $0.0, parameter: $0.1) }
        for child in children {
            out += child.parameters().map { (name: "\(child.name).\($0.name)", parameter: $0.parameter) }
        }
        return out
    }

    /// Returns this layer and its descendants that are `T`, depth first.
    public func layers<T: Layer>(of type: T.Type) -> [T] {
        ((self as? T).map { [$0] } ?? []) + children.flatMap { $0.layers(of: type) }
    }

    /// Returns the parameters an optimizer updates.
    public func trainableParameters() -> [Parameter] { parameters().map(\.parameter).filter(\.isTrainable) }

    /// Builds the layer for a per-example input shape, if not built yet; returns the output shape.
    ///
    /// - Precondition: the layer can take `shape` (see ``buildChecked(inputShape:)``).
    @discardableResult
    public func ensureBuilt(inputShape shape: [Int]) -> [Int] {
        do { return try buildChecked(inputShape: shape) } catch { misuse("\(error)") }
    }

    /// Builds the layer for a per-example input shape, if not built yet; returns the output shape.
    ///
    /// - Throws: `NablaError` naming the layer when it was built for another shape or cannot take
    ///   this one, or when a shape is empty or too large.
    @discardableResult
    public func buildChecked(inputShape shape: [Int]) throws -> [Int] {
        if let outputShape, inputShape != nil {
            if let message = inputMismatch(shape) { throw NablaError(.invalidArgument, message) }
            return outputShape
        }
        _ = try Layer.elementCount(shape, "\(name): input")
        let out = try build(inputShape: shape)
        let values = try Layer.elementCount(out, "\(name): output")
        // A file's layers are charged for their activations too, not only their parameters: a
        // layer without weights could otherwise declare 2^34 values per example.
        if Layer.loadingBudget != nil && values > ResourceLimits.maxModelValues {
            throw NablaError(
                .resourceLimit,
                "\(name): an output of \(out) holds \(values) values per example, more than NABLA_MAX_MODEL_VALUES (\(ResourceLimits.maxModelValues))"
            )
        }
        inputShape = shape
        outputShape = out
        return out
    }

    /// Returns the mismatch message if `shape` does not fit this layer, or nil.
    public func inputMismatch(_ shape: [Int]) -> String? {
        guard let inputShape, !Layer.compatible(shape, inputShape) else { return nil }
        return
            "\(name): expected input of shape [batch, \(inputShape.map(String.init).joined(separator: ", "))], got [batch, \(shape.map(String.init).joined(separator: ", "))]"
    }

    static func compatible(_ a: [Int], _ b: [Int]) -> Bool { a == b }

    /// Applies the layer to a batch, building it on first use.
    ///
    /// - Precondition: the per-example shape of `input` matches the one the layer was built for.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        require(input.rank >= 1, "\(name): input must have a batch dimension, got shape \(input.shape)")
        ensureBuilt(inputShape: Array(input.shape.dropFirst()))
        return forward(input)
    }

    /// Applies the layer to a batch as ``callAsFunction(_:)`` does, but throws where that traps.
    ///
    /// It throws for an input the layer cannot take, or a failure while running that depends on
    /// the values (an imported graph whose sizes are computed from its input). `fit`, `evaluate`,
    /// `predict` and the server call this.
    ///
    /// - Throws: `NablaError` naming the layer (and, for an imported graph, the node).
    public func checkedCall(_ input: Tensor) throws -> Tensor {
        guard input.rank >= 1 else {
            throw NablaError(.invalidArgument, "\(name): input must have a batch dimension, got shape \(input.shape)")
        }
        try buildChecked(inputShape: Array(input.shape.dropFirst()))
        return try checkedForward(input)
    }

    /// Computes the output as ``forward(_:)`` does, throwing rather than trapping on bad values.
    ///
    /// The default calls ``forward(_:)``. Layers whose computation can fail on the values they
    /// are given override it, and layers that run other layers override it to call theirs.
    open func checkedForward(_ input: Tensor) throws -> Tensor { forward(input) }

    /// The sum of the regularization penalties of this layer and its sublayers (a scalar), nil
    /// when none has one; training adds it to the loss.
    open var regularizationLoss: Tensor? {
        let parts = children.compactMap(\.regularizationLoss)
        return parts.first.map { first in parts.dropFirst().reduce(first, +) }
    }

    /// Clears the gradients of every parameter.
    public func zeroGradients() {
        for (_, p) in parameters() { p.value.zeroGradient() }
    }

    /// The number of scalars in trainable and in frozen or statistics parameters.
    public var parameterCounts: (trainable: Int, nonTrainable: Int) {
        parameters().reduce((0, 0)) { acc, p in
            p.parameter.isTrainable
                ? (acc.0 + p.parameter.value.count, acc.1) : (acc.0, acc.1 + p.parameter.value.count)
        }
    }
}

/// Throws `message` as an invalid-argument ``NablaError`` unless `condition` holds: the check
/// layers make in ``Layer/build(inputShape:)``.
func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw NablaError(.invalidArgument, message()) }
}
