import Foundation
import Nabla

// Elementwise operators of an imported graph: activations, arithmetic, comparisons, selection.
// Float values go through Nabla's differentiable tensor ops; integer values (shape arithmetic)
// are computed on the host.

extension ONNXOps {
    /// Brings float operands to one storage: NHWC when one of them is and all have rank ≤ 4
    /// (smaller operands are broadcast to rank 4 and permuted, which is cheap), ONNX's otherwise.
    static func aligned(_ operands: [(Tensor, ONNXLayout)]) -> ([Tensor], ONNXLayout) {
        let values = operands.map { ONNXValue.float($0.0, $0.1) }
        if operands.contains(where: { $0.1 == .nhwc }), values.allSatisfy({ $0.shape.count <= 4 }) {
            return (
                zip(operands, values).map { op, v in
                    if op.1 == .nhwc { return op.0 }
                    let native = v.native
                    let shape = Array(repeating: 1, count: 4 - native.rank) + native.shape
                    return native.reshaped(shape).permuted([0, 2, 3, 1])
                }, .nhwc
            )
        }
        return (values.map(\.native), .native)
    }

    /// Applies a float function to one operand, keeping its storage.
    static func unary(_ c: ONNXCall, _ f: (Tensor) throws -> Tensor) throws -> [ONNXValue] {
        let (x, layout) = try c.tensor(0)
        return [.float(try f(x), layout == .hwio ? .hwio : layout)]
    }

    /// Applies a broadcasting float or integer function to the inputs, left to right.
    static func binary(
        _ c: ONNXCall, float f: (Tensor, Tensor) -> Tensor, int g: ((Int64, Int64) throws -> Int64)? = nil
    ) throws -> [ONNXValue] {
        try c.check(!c.inputs.isEmpty && c.inputs.allSatisfy { !$0.isNone }, "an input is missing")
        var shape = c.inputs[0].shape
        for v in c.inputs.dropFirst() {
            guard let s = Shape.broadcast(shape, v.shape) else {
                throw c.error("shapes \(c.inputs.map(\.shape)) do not broadcast")
            }
            shape = s
        }
        try c.checkShape(shape, integers: c.inputs.allSatisfy { if case .ints = $0 { true } else { false } })
        if c.inputs.allSatisfy({ if case .ints = $0 { true } else { false } }) {
            guard let g else { throw c.error("integer operands are not supported") }
            let arrays = c.inputs.map { if case .ints(let a) = $0 { a } else { IntArray([]) } }
            var acc = arrays[0]
            for b in arrays.dropFirst() {
                let a = acc
                var failure: NablaError?
                let values = IntArray.generate(shape) { idx in
                    do { return try g(a.broadcastElement(idx), b.broadcastElement(idx)) } catch {
                        failure = error as? NablaError
                        return 0
                    }
                }
                if let failure { throw failure }
                acc = IntArray(shape: shape, values: values, dtype: a.dtype)
            }
            return [.ints(acc)]
        }
        let operands = try c.inputs.map { v -> (Tensor, ONNXLayout) in
            switch v {
            case .float(let t, let l): return (t, l)
            case .ints(let a): return (a.floatTensor, .native)
            case .none: throw c.error("an input is missing")
            }
        }
        let (ts, layout) = aligned(operands)
        return [.float(ts.dropFirst().reduce(ts[0], f), layout)]
    }

    /// A comparison: bool results, on the host.
    static func compare(_ c: ONNXCall, _ f: @escaping (Double, Double) -> Bool) throws -> [ONNXValue] {
        try c.check(c.inputs.count == 2, "expects two inputs")
        guard let shape = Shape.broadcast(c.input(0).shape, c.input(1).shape) else {
            throw c.error("shapes \(c.input(0).shape) and \(c.input(1).shape) do not broadcast")
        }
        // Bool results, held as integers.
        try c.checkShape(shape, integers: true)
        func doubles(_ v: ONNXValue) -> (shape: [Int], values: [Double]) {
            switch v {
            case .ints(let a): return (a.shape, a.values.map(Double.init))
            default: return (v.shape, v.native.contiguous().toArray(Float.self).map(Double.init))
            }
        }
        let (a, b) = (doubles(c.input(0)), doubles(c.input(1)))
        let (ia, ib) = (
            IntArray(shape: a.shape, values: Array(0..<Int64(a.values.count))),
            IntArray(shape: b.shape, values: Array(0..<Int64(b.values.count)))
        )
        let values = IntArray.generate(shape) { idx in
            f(a.values[Int(ia.broadcastElement(idx))], b.values[Int(ib.broadcastElement(idx))]) ? 1 : 0
        }
        return [.ints(IntArray(shape: shape, values: values, dtype: .bool))]
    }

    static func elementwise() -> [String: Kernel] {
        var k: [String: Kernel] = [:]
        k["Relu"] = { try unary($0) { $0.relu() } }
        k["Sigmoid"] = { try unary($0) { $0.sigmoid() } }
        k["Tanh"] = { try unary($0) { $0.tanh() } }
        k["Exp"] = { try unary($0) { $0.exp() } }
        k["Log"] = { try unary($0) { $0.log() } }
        k["Sqrt"] = { try unary($0) { $0.sqrt() } }
        k["Erf"] = { try unary($0) { $0.erf() } }
        k["Reciprocal"] = { try unary($0) { 1 / $0 } }
        k["Softplus"] = { try unary($0) { ($0.exp() + 1).log() } }
        k["Softsign"] = { try unary($0) { $0 / ($0.abs() + 1) } }
        k["Neg"] = { c in
            if case .ints(let a) = c.input(0) {
                return [.ints(IntArray(shape: a.shape, values: a.values.map { 0 &- $0 }, dtype: a.dtype))]
            }
            return try unary(c) { -$0 }
        }
        k["Abs"] = { c in
            if case .ints(let a) = c.input(0) {
                return [.ints(IntArray(shape: a.shape, values: a.values.map { $0 < 0 ? 0 &- $0 : $0 }, dtype: a.dtype))]
            }
            return try unary(c) { $0.abs() }
        }
        k["LeakyRelu"] = { c in
            let a = try c.float("alpha", 0.01); return try unary(c) { $0.leakyRelu(alpha: a) }
        }
        k["Elu"] = { c in
            let a = try c.float("alpha", 1); return try unary(c) { $0.elu(alpha: a) }
        }
        k["Selu"] = { c in
            let a = try c.float("alpha", 1.6732632), g = try c.float("gamma", 1.0507010)
            return try unary(c) { $0.elu(alpha: a) * g }
        }
        k["HardSigmoid"] = { c in
            let a = try c.float("alpha", 0.2), b = try c.float("beta", 0.5)
            return try unary(c) { ($0 * a + b).clamp(min: 0, max: 1) }
        }
        k["HardSwish"] = { try unary($0) { $0 * ($0 * (1 / 6) + 0.5).clamp(min: 0, max: 1) } }
        k["Gelu"] = { c in
            switch try c.string("approximate", "none") {
            case "none": return try unary(c) { $0.gelu() }
            case "tanh":
                return try unary(c) { x in
                    x * 0.5 * (((x + x * x * x * 0.044715) * Float((2 / Double.pi).squareRoot())).tanh() + 1)
                }
            case let other: throw c.error("approximate '\(other)' is not 'none' or 'tanh'")
            }
        }
        k["Clip"] = { c in
            var lo = try c.float("min", -.infinity), hi = try c.float("max", .infinity)
            if c.opset >= 11 {
                if let v = try c.floatValues(1) { try c.check(v.count == 1, "min must be a scalar"); lo = v[0] }
                if let v = try c.floatValues(2) { try c.check(v.count == 1, "max must be a scalar"); hi = v[0] }
            }
            if case .ints(let a) = c.input(0) {
                try c.check(!lo.isNaN && !hi.isNaN, "the bounds of an integer Clip must be numbers, got \(lo), \(hi)")
                return [
                    .ints(
                        IntArray(
                            shape: a.shape,
                            values: a.values.map {
                                Swift.min(
                                    Swift.max($0, Int64(lo.rounded(.up).clamped)), Int64(hi.rounded(.down).clamped))
                            }, dtype: a.dtype))
                ]
            }
            return try unary(c) { $0.clamp(min: lo, max: hi) }
        }
        k["Identity"] = { [$0.input(0)] }
        k["Dropout"] = { c in
            var ratio = try c.float("ratio", 0.5)
            if c.opset >= 12, let r = try c.floatValues(1) { ratio = r.first ?? 0.5 }
            let trainingMode = c.opset >= 12 ? (try c.intValues(2)?.first ?? 0) != 0 : false
            var outputs = [c.input(0)]
            if (c.training || trainingMode), ratio > 0, case .float(let x, let l) = c.input(0) {
                try c.check((0..<1).contains(ratio), "ratio \(ratio) is outside [0, 1)")
                outputs = [.float(dropout(x, rate: ratio), l)]
            }
            if c.node.outputs.count > 1 {
                let shape = c.input(0).shape
                outputs.append(
                    .ints(
                        IntArray(
                            shape: shape, values: Array(repeating: 1, count: try c.checkShape(shape, integers: true)),
                            dtype: .bool)))
            }
            return outputs
        }
        k["Add"] = { try binary($0, float: +, int: { $0 &+ $1 }) }
        k["Sub"] = { try binary($0, float: -, int: { $0 &- $1 }) }
        k["Mul"] = { try binary($0, float: *, int: { $0 &* $1 }) }
        k["Div"] = { c in
            try binary(
                c, float: /,
                int: { a, b in
                    guard b != 0 else { throw c.error("integer division by zero") }
                    return a == .min && b == -1 ? a : a / b
                })
        }
        k["Pow"] = { c in
            try binary(
                c, float: { $0.pow($1) },
                int: { a, b in
                    guard b >= 0 else { return 0 }
                    var r: Int64 = 1
                    for _ in 0..<Swift.min(b, 64) { r = r &* a }
                    return r
                })
        }
        k["Sum"] = { try binary($0, float: +, int: { $0 &+ $1 }) }
        k["Max"] = { try binary($0, float: { $0.maximum($1) }, int: { Swift.max($0, $1) }) }
        k["Min"] = { try binary($0, float: { $0.minimum($1) }, int: { Swift.min($0, $1) }) }
        k["Mean"] = { c in
            let n = Float(c.inputs.count)
            let summed = try binary(c, float: +)
            guard case .float(let t, let l) = summed[0] else { return summed }
            return [.float(t / n, l)]
        }
        k["PRelu"] = { c in
            let x = try c.tensor(0)
            var slope = try c.tensor(1)
            let rank = c.input(0).shape.count
            // Before opset 7 a slope of [C] is per channel (axis 1).
            if c.opset < 7, rank > 2, c.input(1).shape == [c.input(0).shape[1]] {
                slope = (
                    try c.native(1).reshaped([c.input(0).shape[1]] + Array(repeating: 1, count: rank - 2)), .native
                )
            }
            let slopeShape = ONNXValue.float(slope.0, slope.1).shape
            guard let s = Shape.broadcast(c.input(0).shape, slopeShape), s == c.input(0).shape else {
                throw c.error("slope \(slopeShape) does not broadcast to \(c.input(0).shape)")
            }
            let (ts, layout) = aligned([x, slope])
            return [.float(ts[0].relu() - ts[1] * (-ts[0]).relu(), layout)]
        }
        k["Equal"] = { try compare($0, ==) }
        k["Less"] = { try compare($0, <) }
        k["LessOrEqual"] = { try compare($0, <=) }
        k["Greater"] = { try compare($0, >) }
        k["GreaterOrEqual"] = { try compare($0, >=) }
        k["Not"] = { c in
            guard case .ints(let a) = c.input(0), a.dtype == .bool else { throw c.error("expects a bool input") }
            return [.ints(IntArray(shape: a.shape, values: a.values.map { 1 - $0 }, dtype: .bool))]
        }
        k["Where"] = { c in
            guard case .ints(let cond) = c.input(0) else { throw c.error("the condition must be bool") }
            let cb = IntArray(shape: cond.shape, values: cond.values.map { $0 != 0 ? 1 : 0 }, dtype: .bool)
            guard let s1 = Shape.broadcast(c.input(1).shape, c.input(2).shape),
                let shape = Shape.broadcast(cb.shape, s1)
            else { throw c.error("shapes \(cb.shape), \(c.input(1).shape) and \(c.input(2).shape) do not broadcast") }
            try c.checkShape(shape, integers: c.integerInputs && !(c.input(1).isFloat || c.input(2).isFloat))
            if case .ints(let a) = c.input(1), case .ints(let b) = c.input(2) {
                let values = IntArray.generate(shape) { idx in
                    cb.broadcastElement(idx) != 0 ? a.broadcastElement(idx) : b.broadcastElement(idx)
                }
                return [.ints(IntArray(shape: shape, values: values, dtype: a.dtype))]
            }
            let a = try c.native(1), b = try c.native(2)
            return [.float(Tensor.where(cb.tensor, a, b), .native)]
        }
        return k
    }
}

extension Float {
    /// The value clamped to what an Int64 holds.
    fileprivate var clamped: Float { Swift.min(Swift.max(self, -9.2e18), 9.2e18) }
}
