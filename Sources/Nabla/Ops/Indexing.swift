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
        let idx: [Int64] = indices.asType(.int64).toArray(Int64.self).map { $0 < 0 ? $0 + Int64(n) : $0 }
        if let bad = idx.firstIndex(where: { $0 < 0 || $0 >= Int64(n) }) {
            misuse("gather: index at position \(bad) is out of range for axis \(a) of \(shape)")
        }
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let outShape = Array(shape[..<a]) + indices.shape + Array(shape[(a + 1)...])
        let x = contiguous()
        let out = Tensor(uninitializedShape: outShape, dtype: dtype)
        let size = dtype.byteSize, rowBytes = inner * size
        for o in 0..<outer {
            for (k, i) in idx.enumerated() {
                (out.rawPointer + (o * idx.count + k) * rowBytes).copyMemory(
                    from: x.rawPointer + (o * n + Int(i)) * rowBytes, byteCount: rowBytes)
            }
        }
        guard GradientMode.shouldRecord(self) else { return out }
        let inputShape = shape
        return out.recording("gather", inputs: [self]) { g in
            let gc = g.contiguous()
            let dx = Tensor.zeros(inputShape)
            for o in 0..<outer {
                for (k, i) in idx.enumerated() {
                    let src = gc.floats + (o * idx.count + k) * inner, dst = dx.floats + (o * n + Int(i)) * inner
                    for j in 0..<inner { dst[j] += src[j] }
                }
            }
            return [dx]
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
    let values = labels.asType(.int64).toArray(Int64.self)
    let out = Tensor.zeros(labels.shape + [classes])
    for (i, v) in values.enumerated() {
        require(v >= 0 && v < classes, "oneHot: label \(v) at position \(i) is outside 0..<\(classes)")
        out.floats[i * classes + Int(v)] = 1
    }
    return out
}
