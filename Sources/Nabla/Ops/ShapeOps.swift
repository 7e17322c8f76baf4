// Views and shape changes: reshape, permute, expand, squeeze, slice; and the copying ones: concat,
// stack, split, pad. Views share storage; their backward maps the gradient back the same way.

extension Tensor {
    /// Returns the same elements with a new shape; one dimension may be -1 (inferred).
    ///
    /// A view when the tensor is contiguous, a copy otherwise.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        let known = newShape.filter { $0 != -1 }.reduce(1, *)
        if let inferred = newShape.firstIndex(of: -1) {
            require(newShape.filter { $0 == -1 }.count == 1, "reshape: more than one -1 in \(newShape)")
            require(
                known > 0 && count % known == 0, "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
            target[inferred] = count / known
        }
        require(
            target.allSatisfy { $0 >= 0 } && Shape.count(target) == count,
            "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if target == shape { return self }
        let source = contiguous()
        let out = Tensor(
            storage: source.storage, shape: target, strides: Shape.contiguousStrides(target), offset: source.offset,
            dtype: dtype)
        guard GradientMode.shouldRecord(self) else { return out }
        let inputShape = shape
        return out.recorded(.reshape, ["shape": .ints(target)], inputs: [self]) { g in [g.reshaped(inputShape)] }
    }

    /// Returns a view with all dimensions folded into one.
    public func flattened() -> Tensor { reshaped([-1]) }

    /// Returns a view with the dimensions reordered: dimension `i` of the result is `axes[i]` of this one.
    public func permuted(_ axes: [Int]) -> Tensor {
        let axes = axes.map { Shape.normalize(axis: $0, rank: rank, op: "permute") }
        require(
            axes.count == rank && Set(axes).count == rank, "permute: \(axes) is not a permutation of rank \(rank)")
        let out = Tensor(
            storage: storage, shape: axes.map { shape[$0] }, strides: axes.map { strides[$0] }, offset: offset,
            dtype: dtype)
        guard GradientMode.shouldRecord(self) else { return out }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return out.recorded(.permute, ["perm": .ints(axes)], inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Returns a view with the last two dimensions swapped (the matrix transpose), without copying.
    public func transposed() -> Tensor {
        require(rank >= 2, "transposed: needs rank >= 2, got shape \(shape)")
        var axes = Array(0..<rank)
        axes.swapAt(rank - 1, rank - 2)
        return permuted(axes)
    }

    /// Returns a view broadcast to `target` (numpy rules), repeating size-1 dimensions without copying.
    public func expanded(to target: [Int]) -> Tensor {
        guard let b = Shape.broadcast(shape, target), b == target else {
            misuse("expand: shape \(shape) cannot be broadcast to \(target)")
        }
        if target == shape { return self }
        let out = Tensor(
            storage: storage, shape: target, strides: broadcastStrides(to: target), offset: offset, dtype: dtype)
        guard GradientMode.shouldRecord(self) else { return out }
        let inputShape = shape
        return out.recorded(.expand, ["shape": .ints(target)], inputs: [self]) { g in [g.sumTo(inputShape)] }
    }

    /// Returns a view with a new dimension of size 1 at `axis`.
    public func unsqueezed(axis: Int) -> Tensor {
        let a = Shape.normalize(axis: axis, rank: rank + 1, op: "unsqueeze")
        var s = shape
        s.insert(1, at: a)
        return reshaped(s)
    }

    /// Returns a view without the size-1 dimensions in `axes` (all of them when nil).
    public func squeezed(axes: [Int]? = nil) -> Tensor {
        let drop = Set(Shape.normalize(axes: axes ?? (0..<rank).filter { shape[$0] == 1 }, rank: rank, op: "squeeze"))
        for a in drop { require(shape[a] == 1, "squeeze: axis \(a) of \(shape) has size \(shape[a]), not 1") }
        return reshaped((0..<rank).filter { !drop.contains($0) }.map { shape[$0] })
    }

    /// Returns a view of `start..<end` (by `step`) along `axis`; negative bounds count from the end.
    public func slice(axis: Int, start: Int = 0, end: Int? = nil, step: Int = 1) -> Tensor {
        let a = Shape.normalize(axis: axis, rank: rank, op: "slice")
        require(step > 0, "slice: step must be positive, got \(step)")
        let n = shape[a]
        let lo = Swift.min(Swift.max(start < 0 ? start + n : start, 0), n)
        let hi = Swift.min(Swift.max((end ?? n) < 0 ? (end ?? n) + n : (end ?? n), lo), n)
        let out = sliceView(axis: a, start: lo, end: hi, step: step)
        guard GradientMode.shouldRecord(self) else { return out }
        let inputShape = shape
        let attributes: [String: OpAttribute] = [
            "axis": .int(a), "start": .int(lo), "end": .int(hi), "step": .int(step),
        ]
        return out.recorded(.slice, attributes, inputs: [self]) { g in
            let dx = Tensor.zeros(inputShape, like: g)
            dx.backend.copy(g, into: dx.sliceView(axis: a, start: lo, end: hi, step: step))
            return [dx]
        }
    }

    /// Returns the view of `start..<end` by `step` along `axis` (all in range), recording nothing:
    /// for ops that write into or read from parts of their own results.
    func sliceView(axis a: Int, start lo: Int, end hi: Int, step: Int = 1) -> Tensor {
        var newShape = shape, newStrides = strides
        newShape[a] = (hi - lo + step - 1) / step
        newStrides[a] = strides[a] * step
        return Tensor(viewing: self, shape: newShape, strides: newStrides, offset: offset + lo * strides[a])
    }

    /// Returns the `index`-th entry along the first axis, without that axis (a view).
    public subscript(index: Int) -> Tensor {
        require(rank >= 1, "subscript: cannot index a scalar")
        let i = index < 0 ? index + shape[0] : index
        require(i >= 0 && i < shape[0], "subscript: index \(index) is out of range for shape \(shape)")
        return slice(axis: 0, start: i, end: i + 1).squeezed(axes: [0])
    }

    /// Returns the tensor padded with `value`: `padding[i]` is (before, after) for dimension `i`.
    public func padded(_ padding: [(before: Int, after: Int)], value: Float = 0) -> Tensor {
        require(padding.count == rank, "pad: \(padding.count) pairs given for rank \(rank)")
        require(padding.allSatisfy { $0.before >= 0 && $0.after >= 0 }, "pad: negative padding \(padding)")
        let newShape = zip(shape, padding).map { $0 + $1.before + $1.after }
        let out = Tensor.filled(newShape, value: value, dtype: dtype, backend: backend)
        var interior = out
        for (d, p) in padding.enumerated() {
            interior = interior.sliceView(axis: d, start: p.before, end: p.before + shape[d])
        }
        backend.copy(self, into: interior)
        guard GradientMode.shouldRecord(self) else { return out }
        let attributes: [String: OpAttribute] = [
            "pads": .ints(padding.map(\.before) + padding.map(\.after)), "value": .float(value),
        ]
        return out.recorded(.pad, attributes, inputs: [self]) { g in
            var view = g
            for (d, p) in padding.enumerated() { view = view.slice(axis: d, start: p.before, end: p.before + shape[d]) }
            return [view]
        }
    }
}

/// Joins tensors along an existing axis.
///
/// - Precondition: same dtype, and equal sizes on every other axis.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    require(!tensors.isEmpty, "concat: no tensors given")
    let first = tensors[0]
    let a = Shape.normalize(axis: axis, rank: first.rank, op: "concat")
    for t in tensors {
        require(t.dtype == first.dtype, "concat: dtypes differ, \(first.dtype) and \(t.dtype)")
        require(
            t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
            "concat: shapes \(first.shape) and \(t.shape) differ outside axis \(a)")
    }
    var shape = first.shape
    shape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
    let backend = Tensor.backend(of: tensors, op: "concat")
    let out = Tensor(uninitializedShape: shape, dtype: first.dtype, backend: backend)
    var start = 0
    var bounds: [(Int, Int)] = []
    for t in tensors {
        backend.copy(t, into: out.sliceView(axis: a, start: start, end: start + t.shape[a]))
        bounds.append((start, start + t.shape[a]))
        start += t.shape[a]
    }
    guard GradientMode.shouldRecord(tensors) else { return out }
    return out.recorded(.concat, ["axis": .int(a)], inputs: tensors) { g in
        bounds.map { g.slice(axis: a, start: $0.0, end: $0.1) }
    }
}

/// Joins tensors of equal shape along a new axis.
public func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
    require(!tensors.isEmpty, "stack: no tensors given")
    for t in tensors {
        require(t.shape == tensors[0].shape, "stack: shapes \(tensors[0].shape) and \(t.shape) differ")
    }
    return concat(tensors.map { $0.unsqueezed(axis: axis) }, axis: axis)
}

/// Splits a tensor along `axis` into pieces of the given sizes (views).
public func split(_ tensor: Tensor, sizes: [Int], axis: Int = 0) -> [Tensor] {
    let a = Shape.normalize(axis: axis, rank: tensor.rank, op: "split")
    require(
        sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == tensor.shape[a],
        "split: sizes \(sizes) do not add up to \(tensor.shape[a]) (axis \(a) of \(tensor.shape))")
    var start = 0
    return sizes.map { size in
        defer { start += size }
        return tensor.slice(axis: a, start: start, end: start + size)
    }
}

/// Splits a tensor along `axis` into `count` equal pieces (views).
public func split(_ tensor: Tensor, count: Int, axis: Int = 0) -> [Tensor] {
    let a = Shape.normalize(axis: axis, rank: tensor.rank, op: "split")
    require(
        count > 0 && tensor.shape[a] % count == 0, "split: axis \(a) of \(tensor.shape) does not split into \(count)")
    return split(tensor, sizes: Array(repeating: tensor.shape[a] / count, count: count), axis: a)
}
