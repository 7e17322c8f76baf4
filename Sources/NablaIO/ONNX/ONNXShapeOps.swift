import Foundation
import Nabla

// Shape and indexing operators of an imported graph. A value stored NHWC keeps that storage
// through the ops that only need an axis renamed (Concat, Split, Slice); the others see it in
// ONNX's layout.

extension ONNXOps {
    /// The storage axis of logical NCHW axis `a` in an NHWC value.
    static let nhwcAxis = [0, 3, 1, 2]

    /// Resolves Reshape's target `shape` for `input` (0 copies a dimension unless `allowZero`, -1 infers one).
    static func reshapeTarget(_ c: ONNXCall, _ input: [Int], _ shape: [Int], allowZero: Bool) throws -> [Int] {
        var out = shape
        var inferred: Int?
        for (i, d) in shape.enumerated() {
            if d == 0 && !allowZero {
                try c.check(i < input.count, "dimension \(i) of \(shape) copies a dimension \(input) lacks")
                out[i] = input[i]
            } else if d == -1 {
                try c.check(inferred == nil, "shape \(shape) has more than one -1")
                inferred = i
            } else {
                try c.check(d >= 0, "shape \(shape) has a negative dimension")
            }
        }
        let total = try c.checkShape(input)
        if let i = inferred {
            out[i] = 1
            let known = try c.checkShape(out)
            try c.check(known > 0 && total % known == 0, "cannot reshape \(input) to \(shape)")
            out[i] = total / known
        }
        try c.check(try c.checkShape(out) == total, "cannot reshape \(input) (\(total) values) to \(shape)")
        return out
    }

    /// Reshapes a float or integer value (floats in ONNX's layout).
    static func reshape(_ v: ONNXValue, _ shape: [Int]) -> ONNXValue {
        switch v {
        case .ints(let a): .ints(a.reshaped(shape))
        default: .float(v.native.reshaped(shape), .native)
        }
    }

    /// Gathers positions `indices` (in range) of `axis`, of either kind.
    static func gather(_ v: ONNXValue, _ indices: [Int], indexShape: [Int], axis: Int) -> ONNXValue {
        switch v {
        case .ints(let a): return .ints(a.gathered(indices, indexShape: indexShape, axis: axis))
        default:
            let idx = Tensor(indices.map(Int64.init), shape: indexShape)
            return .float(v.native.gathered(idx, axis: axis), .native)
        }
    }

    /// Slices `axis` to `start..<end` by a positive `step` (resolved), either kind, keeping NHWC.
    static func slice(_ v: ONNXValue, axis: Int, start: Int, end: Int, step: Int) -> ONNXValue {
        switch v {
        case .ints(let a):
            let idx = Array(stride(from: start, to: end, by: step))
            return .ints(a.gathered(idx, indexShape: [idx.count], axis: axis))
        case .float(let t, .nhwc):
            return .float(t.slice(axis: nhwcAxis[axis], start: start, end: end, step: step), .nhwc)
        default: return .float(v.native.slice(axis: axis, start: start, end: end, step: step), .native)
        }
    }

    /// The length of Range's output, checked.
    static func rangeCount(_ c: ONNXCall, _ start: Double, _ limit: Double, _ delta: Double) throws -> Int {
        let q = ((limit - start) / delta).rounded(.up)
        try c.check(q.isFinite && q < Double(ONNXCall.maxElements), "range \(start)..<\(limit) by \(delta) is too long")
        return Swift.max(0, Int(q))
    }

    static func shapeOps() -> [String: Kernel] {
        var k: [String: Kernel] = [:]
        k["Reshape"] = { c in
            let target: [Int]
            if c.opset < 5 {
                target = try c.ints("shape") ?? []
            } else {
                guard let t = try c.intValues(1) else { throw c.error("the shape input is missing") }
                target = t
            }
            try c.check(target.count <= ONNXLimits.maxRank, "shape \(target) has too many dimensions")
            let shape = try reshapeTarget(c, c.input(0).shape, target, allowZero: try c.int("allowzero", 0) != 0)
            return [reshape(c.input(0), shape)]
        }
        k["Flatten"] = { c in
            let shape = c.input(0).shape
            var axis = try c.int("axis", 1)
            if axis < 0 { axis += shape.count }
            try c.check(axis >= 0 && axis <= shape.count, "axis \(axis) is out of range for \(shape)")
            let outer = shape[..<axis].reduce(1, *)
            return [reshape(c.input(0), [outer, shape[axis...].reduce(1, *)])]
        }
        k["Squeeze"] = { c in
            let shape = c.input(0).shape
            let given = c.opset >= 13 ? try c.intValues(1) : try c.ints("axes")
            let axes =
                try given.map { try $0.map { try c.axis($0, rank: shape.count) } }
                ?? shape.indices.filter { shape[$0] == 1 }
            for a in axes { try c.check(shape[a] == 1, "axis \(a) of \(shape) is not 1") }
            return [reshape(c.input(0), shape.indices.filter { !axes.contains($0) }.map { shape[$0] })]
        }
        k["Unsqueeze"] = { c in
            let shape = c.input(0).shape
            guard let given = c.opset >= 13 ? try c.intValues(1) : try c.ints("axes") else {
                throw c.error("axes are missing")
            }
            let rank = shape.count + given.count
            try c.check(rank <= ONNXLimits.maxRank, "the result would have rank \(rank)")
            let axes = try given.map { try c.axis($0, rank: rank) }
            try c.check(Set(axes).count == axes.count, "axes \(given) repeat")
            var out: [Int] = []
            var rest = shape.makeIterator()
            for i in 0..<rank { out.append(axes.contains(i) ? 1 : rest.next() ?? 1) }
            return [reshape(c.input(0), out)]
        }
        k["Transpose"] = { c in
            let rank = c.input(0).shape.count
            let perm = try c.ints("perm") ?? Array((0..<rank).reversed())
            try c.check(perm.sorted() == Array(0..<rank), "perm \(perm) is not a permutation of rank \(rank)")
            switch c.input(0) {
            case .ints(let a): return [.ints(a.permuted(perm))]
            case .float(let t, .nhwc):
                // The stored tensor is the NCHW value permuted by [0, 2, 3, 1]; compose the two.
                let physical = perm.map { nhwcAxis[$0] }
                return [.float(physical == [0, 1, 2, 3] ? t : t.permuted(physical), .native)]
            default: return [.float(try c.native(0).permuted(perm), .native)]
            }
        }
        k["Concat"] = { c in
            try c.check(!c.inputs.isEmpty && c.inputs.allSatisfy { !$0.isNone }, "an input is missing")
            let rank = c.inputs[0].shape.count
            let axis = try c.axis(try c.int("axis", 1), rank: rank)
            for v in c.inputs {
                let s = v.shape
                try c.check(
                    s.count == rank && (0..<rank).allSatisfy { $0 == axis || s[$0] == c.inputs[0].shape[$0] },
                    "shapes \(c.inputs.map(\.shape)) differ outside axis \(axis)")
            }
            try c.checkShape(
                c.inputs[0].shape.enumerated().map {
                    $0.offset == axis ? c.inputs.reduce(0) { $0 + $1.shape[axis] } : $0.element
                })
            let ints = c.inputs.compactMap { if case .ints(let a) = $0 { a } else { nil } }
            if ints.count == c.inputs.count { return [.ints(IntArray.concat(ints, axis: axis))] }
            let floats = c.inputs.map { v -> (Tensor, ONNXLayout) in
                switch v {
                case .float(let t, let l): (t, l)
                case .ints(let a): (a.floatTensor, .native)
                case .none: (Tensor.zeros([0]), .native)
                }
            }
            if rank == 4, floats.contains(where: { $0.1 == .nhwc }) {
                let (ts, _) = aligned(floats)
                return [.float(concat(ts, axis: nhwcAxis[axis]), .nhwc)]
            }
            return [.float(concat(c.inputs.map(\.native), axis: axis), .native)]
        }
        k["Split"] = { c in
            let shape = c.input(0).shape
            let axis = try c.axis(try c.int("axis", 0), rank: shape.count)
            let n = c.node.outputs.count
            var sizes = c.opset >= 13 ? try c.intValues(1) : try c.ints("split")
            if sizes == nil {
                let parts = c.opset >= 18 ? try c.int("num_outputs", n) : n
                try c.check(parts > 0 && parts == n, "num_outputs \(parts) differs from the node's \(n) outputs")
                let each = (shape[axis] + parts - 1) / parts
                sizes = (0..<parts).map { Swift.max(0, Swift.min(each, shape[axis] - $0 * each)) }
            }
            guard let sizes, sizes.count == n, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[axis] else {
                throw c.error("split sizes do not add up to \(shape[axis]) over \(n) outputs")
            }
            var start = 0
            return sizes.map { size in
                defer { start += size }
                return slice(c.input(0), axis: axis, start: start, end: start + size, step: 1)
            }
        }
        k["Slice"] = { c in
            let shape = c.input(0).shape
            let starts: [Int], ends: [Int], axesGiven: [Int]?, steps: [Int]?
            if c.opset < 10 {
                starts = try c.ints("starts") ?? []
                ends = try c.ints("ends") ?? []
                (axesGiven, steps) = (try c.ints("axes"), nil)
            } else {
                starts = try c.intValues(1) ?? []
                ends = try c.intValues(2) ?? []
                (axesGiven, steps) = (try c.intValues(3), try c.intValues(4))
            }
            let axes = try (axesGiven ?? Array(0..<starts.count)).map { try c.axis($0, rank: shape.count) }
            try c.check(
                starts.count == ends.count && axes.count == starts.count
                    && (steps?.count ?? starts.count) == starts.count,
                "starts, ends, axes and steps differ in length")
            var v = c.input(0)
            for (i, axis) in axes.enumerated() {
                let n = shape[axis], given = steps?[i] ?? 1
                try c.check(given != 0, "step 0")
                // A step past the dimension takes one element, as the dimension itself would: so
                // a step near ±2^63 never reaches the size arithmetic.
                let step = Swift.min(Swift.max(given, -Swift.max(n, 1)), Swift.max(n, 1))
                func resolve(_ x: Int) -> Int { x < 0 ? x &+ n : x }
                if step > 0 {
                    let lo = Swift.min(Swift.max(resolve(starts[i]), 0), n)
                    let hi = Swift.min(Swift.max(resolve(ends[i]), lo), n)
                    v = slice(v, axis: axis, start: lo, end: hi, step: step)
                } else {
                    let lo = Swift.min(Swift.max(resolve(starts[i]), 0), n - 1)
                    let hi = Swift.min(Swift.max(resolve(ends[i]), -1), n - 1)
                    let idx = Array(stride(from: lo, to: hi, by: step))
                    v = gather(v, idx, indexShape: [idx.count], axis: axis)
                }
            }
            return [v]
        }
        k["Gather"] = { c in
            let shape = c.input(0).shape
            let axis = try c.axis(try c.int("axis", 0), rank: shape.count)
            guard case .ints(let indices) = c.input(1) else { throw c.error("indices must be integers") }
            let n = shape[axis]
            let resolved = try indices.values.map { i -> Int in
                let r = i < 0 ? i + Int64(n) : i
                try c.check(r >= 0 && r < n, "index \(i) is out of range for axis \(axis) of \(shape)")
                return Int(r)
            }
            try c.checkShape(Array(shape[..<axis]) + indices.shape + Array(shape[(axis + 1)...]))
            return [gather(c.input(0), resolved, indexShape: indices.shape, axis: axis)]
        }
        k["Shape"] = { c in
            let shape = c.input(0).shape.map(Int64.init)
            func bound(_ x: Int) -> Int { Swift.min(Swift.max(x < 0 ? x + shape.count : x, 0), shape.count) }
            let lo = bound(try c.int("start", 0)), hi = Swift.max(bound(try c.int("end", shape.count)), lo)
            return [.ints(IntArray(Array(shape[lo..<hi])))]
        }
        k["Size"] = { c in [.ints(IntArray(scalar: Int64(c.input(0).shape.reduce(1, *))))] }
        k["Expand"] = { c in
            guard let target = try c.intValues(1) else { throw c.error("the shape input is missing") }
            guard let shape = Shape.broadcast(c.input(0).shape, target) else {
                throw c.error("\(c.input(0).shape) does not broadcast with \(target)")
            }
            try c.checkShape(shape, integers: c.integerInputs)
            if case .ints(let a) = c.input(0) {
                return [
                    .ints(
                        IntArray(
                            shape: shape, values: IntArray.generate(shape) { a.broadcastElement($0) }, dtype: a.dtype))
                ]
            }
            let x = try c.native(0)
            return [
                .float(
                    x.reshaped(Array(repeating: 1, count: shape.count - x.rank) + x.shape).expanded(to: shape), .native)
            ]
        }
        k["Tile"] = { c in
            let shape = c.input(0).shape
            guard let repeats = try c.intValues(1), repeats.count == shape.count, repeats.allSatisfy({ $0 >= 0 }) else {
                throw c.error("repeats must give one non-negative count per dimension of \(shape)")
            }
            let out = try zip(shape, repeats).map { try c.product($0, $1, "Tile's output size") }
            try c.checkShape(out, integers: c.integerInputs)
            if case .ints(let a) = c.input(0) {
                return [
                    .ints(
                        IntArray(
                            shape: out,
                            values: IntArray.generate(out) { idx in
                                a.values[
                                    zip(idx, zip(shape, IntArray.strides(shape))).reduce(0) {
                                        $0 + ($1.0 % $1.1.0) * $1.1.1
                                    }]
                            }, dtype: a.dtype))
                ]
            }
            let x = try c.native(0)
            let spread = zip(repeats, shape).flatMap { [$0, $1] }
            let lifted = x.reshaped(shape.flatMap { [1, $0] })
            return [.float(lifted.expanded(to: spread).contiguous().reshaped(out), .native)]
        }
        k["ConstantOfShape"] = { c in
            let shape = try c.intValues(0) ?? []
            let integers: Bool = if case .ints? = c.node.attributes["value"] { true } else { false }
            let count = try c.checkShape(shape, integers: integers)
            switch c.node.attributes["value"] {
            case .ints(let v)?:
                let dtype: DType = (try c.int("value_dtype", 7)) == 9 ? .bool : .int64
                return [
                    .ints(IntArray(shape: shape, values: Array(repeating: v.first ?? 0, count: count), dtype: dtype))
                ]
            case .floats(let v)?: return [.float(Tensor.full(shape, value: v.first ?? 0), .native)]
            default: return [.float(Tensor.zeros(shape), .native)]
            }
        }
        k["Range"] = { c in
            if case .ints(let s) = c.input(0), case .ints(let l) = c.input(1), case .ints(let d) = c.input(2) {
                guard let start = s.values.first, let limit = l.values.first, let delta = d.values.first, delta != 0
                else {
                    throw c.error("start, limit and delta must be scalars, delta not 0")
                }
                let n = try rangeCount(c, Double(start), Double(limit), Double(delta))
                try c.checkShape([n], integers: true)
                return [
                    .ints(IntArray(shape: [n], values: (0..<n).map { start &+ Int64($0) &* delta }, dtype: s.dtype))
                ]
            }
            guard let start = try c.floatValues(0)?.first, let limit = try c.floatValues(1)?.first,
                let delta = try c.floatValues(2)?.first, delta != 0
            else { throw c.error("start, limit and delta must be scalars, delta not 0") }
            let n = try rangeCount(c, Double(start), Double(limit), Double(delta))
            return [.float(Tensor((0..<n).map { start + Float($0) * delta }, shape: [n]), .native)]
        }
        k["Cast"] = { c in
            let to = Int64(try c.int("to", 1))
            switch (c.input(0), to) {
            case (.float, ONNXType.float), (.float, ONNXType.double): return [c.input(0)]
            case (.ints(let a), ONNXType.float), (.ints(let a), ONNXType.double):
                return [.float(a.floatTensor, .native)]
            case (.float, _), (.ints, _):
                let a: IntArray
                if case .ints(let x) = c.input(0) { a = x } else { a = IntArray.of(try c.native(0)) }
                let dtype: DType
                var values = a.values
                switch to {
                case ONNXType.int64: dtype = .int64
                case ONNXType.int32:
                    dtype = .int32
                    values = values.map { Int64(Int32(truncatingIfNeeded: $0)) }
                case ONNXType.uint8:
                    dtype = .uint8
                    values = values.map { Int64(UInt8(truncatingIfNeeded: $0)) }
                case ONNXType.bool:
                    dtype = .bool
                    if case .float(let t, _) = c.input(0) {
                        values = t.contiguous().toArray(Float.self).map { $0 != 0 ? 1 : 0 }
                    } else {
                        values = values.map { $0 != 0 ? 1 : 0 }
                    }
                default: throw c.error("casting to element type \(to) is not supported")
                }
                return [.ints(IntArray(shape: a.shape, values: values, dtype: dtype))]
            case (.none, _): throw c.error("the input is missing")
            }
        }
        return k
    }
}
