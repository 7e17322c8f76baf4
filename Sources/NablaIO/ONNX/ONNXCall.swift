import Foundation
import Nabla

/// One node being run: its inputs, attributes and what the checks say when they fail.
struct ONNXCall {
    let node: ONNXNode
    let inputs: [ONNXValue]
    let opset: Int
    let training: Bool

    /// The largest tensor one op may make (`NABLA_MAX_MODEL_VALUES`, as for a model's constants).
    static let maxElements = ResourceLimits.maxModelValues

    func error(_ problem: String) -> NablaError {
        NablaError(.invalidArgument, "node '\(node.name)' (\(node.op)): \(problem)")
    }

    func check(_ condition: Bool, _ problem: @autoclosure () -> String) throws {
        if !condition { throw error(problem()) }
    }

    // MARK: Attributes

    func int(_ name: String, _ fallback: Int) throws -> Int {
        switch node.attributes[name] {
        case nil: return fallback
        case .int(let v)?: return Int(clamping: v)
        default: throw error("attribute '\(name)' must be an integer")
        }
    }

    func ints(_ name: String) throws -> [Int]? {
        switch node.attributes[name] {
        case nil: return nil
        case .ints(let v)?: return v.map { Int(clamping: $0) }
        default: throw error("attribute '\(name)' must be a list of integers")
        }
    }

    func float(_ name: String, _ fallback: Float) throws -> Float {
        switch node.attributes[name] {
        case nil: return fallback
        case .float(let v)?: return v
        case .int(let v)?: return Float(v)
        default: throw error("attribute '\(name)' must be a number")
        }
    }

    func floats(_ name: String) throws -> [Float]? {
        switch node.attributes[name] {
        case nil: return nil
        case .floats(let v)?: return v
        default: throw error("attribute '\(name)' must be a list of numbers")
        }
    }

    func string(_ name: String, _ fallback: String) throws -> String {
        switch node.attributes[name] {
        case nil: return fallback
        case .string(let v)?: return v
        default: throw error("attribute '\(name)' must be a string")
        }
    }

    // MARK: Inputs

    func input(_ i: Int) -> ONNXValue { i < inputs.count ? inputs[i] : .none }

    func has(_ i: Int) -> Bool { !input(i).isNone }

    /// The float tensor at input `i` and its layout.
    func tensor(_ i: Int) throws -> (Tensor, ONNXLayout) {
        switch input(i) {
        case .float(let t, let layout): return (t, layout)
        case .ints: throw error("input \(i) must be float, got an integer tensor")
        case .none: throw error("input \(i) is missing")
        }
    }

    /// The float tensor at input `i` in ONNX's layout.
    func native(_ i: Int) throws -> Tensor {
        _ = try tensor(i)
        return input(i).native
    }

    /// The integer values at input `i` (a shape, axes, indices), nil when left out.
    func intValues(_ i: Int) throws -> [Int]? {
        switch input(i) {
        case .none: return nil
        case .ints(let a): return a.ints
        case .float: throw error("input \(i) must be an integer tensor")
        }
    }

    /// The float values at input `i` when it is small and static (scales, bounds), nil when left out.
    func floatValues(_ i: Int) throws -> [Float]? {
        switch input(i) {
        case .none: return nil
        case .ints(let a): return a.values.map { Float($0) }
        case .float(let t, _):
            try check(t.count <= 1 << 16, "input \(i) is too large for a static value")
            return t.contiguous().toArray(Float.self)
        }
    }

    /// Resolves an axis in `-rank..<rank`.
    func axis(_ a: Int, rank: Int) throws -> Int {
        let r = a < 0 ? a + rank : a
        try check(r >= 0 && r < rank, "axis \(a) is out of range for rank \(rank)")
        return r
    }

    /// Returns `a · b`, throwing (naming the node and `what`) where the product overflows.
    func product(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
        let (p, o) = a.multipliedReportingOverflow(by: b)
        try check(!o, "\(what()) overflows: \(a) × \(b)")
        return p
    }

    /// Returns the sum of `terms`, throwing (naming the node and `what`) where it overflows.
    func sum(_ terms: Int..., what: @autoclosure () -> String) throws -> Int {
        var total = 0
        for t in terms {
            let (s, o) = total.addingReportingOverflow(t)
            try check(!o, "\(what()) overflows: \(terms.map(String.init).joined(separator: " + "))")
            total = s
        }
        return total
    }

    /// Returns `value` as an integer, throwing where it is NaN, infinite or out of `Int`'s range.
    func integer(_ value: Float, _ what: @autoclosure () -> String) throws -> Int {
        guard value.isFinite, let i = Int(exactly: value.rounded(.towardZero)) else {
            throw error("\(what()) \(value) is not a finite integer value")
        }
        return i
    }

    /// The largest integer tensor one op may make: integers are shapes, indices and masks, held
    /// as 8-byte values, so they get an eighth of the float budget (1 GiB at the default).
    static let maxIntegerElements = Swift.max(maxElements / 8, 1)

    /// Whether any input is an integer tensor (then an elementwise result is one too).
    var integerInputs: Bool { inputs.contains { if case .ints = $0 { true } else { false } } }

    /// Checks the element count of a shape an op is about to make, against the integer budget
    /// when `integers` (the op makes an integer tensor).
    @discardableResult
    func checkShape(_ shape: [Int], integers: Bool = false) throws -> Int {
        let limit = integers ? Self.maxIntegerElements : Self.maxElements
        var n = 1
        for d in shape {
            try check(d >= 0, "shape \(shape) has a negative dimension")
            let (p, o) = n.multipliedReportingOverflow(by: d)
            try check(
                !o && p <= limit,
                "shape \(shape) is too large for \(integers ? "an integer" : "a") tensor (NABLA_MAX_MODEL_VALUES)")
            n = p
        }
        return n
    }
}
