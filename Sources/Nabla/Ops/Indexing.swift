// Gathering along an axis, one-hot encoding.

extension Tensor {
    /// Returns the entries of `self` at `indices` along `axis` (numpy `take`).
    ///
    /// For `self` of shape `[A..., n, B...]` and integer `indices` of shape `[I...]`, the result is
    /// `[A..., I..., B...]`. Negative indices count from the end. The gradient adds back into the
    /// gathered positions (repeated indices accumulate).
    /// - Precondition: every index lies in `-n..<n` (checked).
    public func gathered(_ indices: Tensor, axis: Int = 0) -> Tensor {
        require(
            indices.dtype == .int32 || indices.dtype == .int64,
            "gather: indices must be int32 or int64, got \(indices.dtype)")
        let a = Shape.normalize(axis: axis, rank: rank, op: "gather")
        let n = shape[a]
        // NOTE: the indices are checked (and negative ones resolved) on the host; they are small.
        let idx: [Int64] = indices.asType(.int64).toArray(Int64.self).map { $0 < 0 ? $0 + Int64(n) : $0 }
        if let bad = idx.firstIndex(where: { $0 < 0 || $0 >= Int64(n) }) {
            misuse("gather: index at position \(bad) is out of range for axis \(a) of \(shape)")
        }
        let x = contiguous()
        let backend = Tensor.backend(of: x, indices, op: "gather")
        let resolved = Tensor(idx, shape: [idx.count], device: x.device)
        let outShape = Array(shape[..<a]) + indices.shape + Array(shape[(a + 1)...])
        let out = Tensor(uninitializedShape: outShape, dtype: dtype, backend: backend)
        backend.gather(x, indices: resolved, axis: a, into: out)
        guard GradientMode.shouldRecord(self) else { return out }
        let inputShape = shape
        return out.recorded(.gather, ["axis": .int(a)], inputs: [self, indices]) { g in
            let dx = Tensor.zeros(inputShape, like: g)
            let rows = Array(inputShape[..<a]) + [idx.count] + Array(inputShape[(a + 1)...])
            backend.scatterAdd(g.contiguous().reshaped(rows), indices: resolved, axis: a, into: dx)
            return [dx, nil]
        }
    }
}

/// Returns float32 one-hot rows for integer `labels`: shape `labels.shape + [classes]`.
///
/// - Precondition: every label lies in `0..<classes` (checked; the failing position is named).
public func oneHot(_ labels: Tensor, classes: Int) -> Tensor {
    require(
        labels.dtype == .int32 || labels.dtype == .int64 || labels.dtype == .uint8,
        "oneHot: labels must be integers, got \(labels.dtype)")
    require(classes > 0, "oneHot: classes must be positive, got \(classes)")
    let values = labels.asType(.int64).contiguous()
    for (i, v) in values.toArray(Int64.self).enumerated() {
        require(v >= 0 && v < classes, "oneHot: label \(v) at position \(i) is outside 0..<\(classes)")
    }
    let out = Tensor(uninitializedShape: labels.shape + [classes], dtype: .float32, backend: values.backend)
    values.backend.oneHot(values, classes: classes, into: out)
    return out.traced(.oneHot, ["classes": .int(classes)], inputs: [labels])
}
