// Softmax, log-softmax and the fused softmax cross-entropy.

extension Tensor {
    /// Applies a row kernel along `axis`, moving that axis last and back when needed.
    private func alongAxis(_ axis: Int, _ op: String, _ body: (Tensor) -> Tensor) -> Tensor {
        require(dtype == .float32, "\(op): expected float32, got \(dtype) \(shape)")
        let a = Shape.normalize(axis: axis, rank: Swift.max(rank, 1), op: op)
        if a == rank - 1 { return body(self) }
        var axes = Array(0..<rank)
        axes.remove(at: a)
        axes.append(a)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, d) in axes.enumerated() { inverse[d] = i }
        return body(permuted(axes)).permuted(inverse)
    }

    private func softmaxKernel(isLog: Bool) -> Tensor {
        let x = contiguous()
        let backend = x.backend
        let out = Tensor(uninitializedShape: shape, dtype: .float32, backend: backend)
        backend.softmax(x, isLog: isLog, into: out)
        guard GradientMode.shouldRecord(self) else { return out }
        return out.recorded(isLog ? .logSoftmax : .softmax, ["axis": .int(-1)], inputs: [self]) { g in
            let dx = Tensor(uninitializedShape: out.shape, dtype: .float32, backend: backend)
            backend.softmaxBackward(out, gradient: g.contiguous(), isLog: isLog, into: dx)
            return [dx]
        }
    }

    /// Returns `exp(x) / sum(exp(x))` along `axis`, computed as `exp(x - max) / sum(exp(x - max))`.
    public func softmax(axis: Int = -1) -> Tensor {
        alongAxis(axis, "softmax") { $0.softmaxKernel(isLog: false) }
    }

    /// Returns `x - log(sum(exp(x)))` along `axis`, computed with the maximum subtracted first.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        alongAxis(axis, "logSoftmax") { $0.softmaxKernel(isLog: true) }
    }
}

/// Returns the cross-entropy between `softmax(logits)` and `labels`, one value per example.
///
/// `logits` is `[..., classes]`. `labels` is either integer class indices of shape `[...]`
/// (sparse; int32 or int64) or float32 probabilities of the same shape as `logits` (one-hot or
/// smoothed). Each value is `-Σ labels · logSoftmax(logits)`; the fused gradient with respect to
/// the logits is `softmax(logits) - labels`. Take `.mean()` for the usual batch loss.
///
/// - Precondition: sparse labels lie in `0..<classes` (checked; the failing example is named).
public func softmaxCrossEntropy(logits: Tensor, labels: Tensor) -> Tensor {
    require(
        logits.dtype == .float32 && logits.rank >= 1,
        "softmaxCrossEntropy: logits must be float32 [..., classes], got \(logits.dtype) \(logits.shape)")
    let n = logits.shape[logits.rank - 1]
    let rowShape = Array(logits.shape.dropLast())
    let sparse: Tensor?, dense: Tensor?
    switch labels.dtype {
    case .int32, .int64:
        require(
            labels.shape == rowShape,
            "softmaxCrossEntropy: sparse labels of shape \(labels.shape) do not match logits \(logits.shape) (expected \(rowShape))"
        )
        (sparse, dense) = (labels.asType(.int64).contiguous(), nil)
    case .float32:
        require(
            labels.shape == logits.shape,
            "softmaxCrossEntropy: one-hot labels of shape \(labels.shape) do not match logits \(logits.shape)")
        (sparse, dense) = (nil, labels.contiguous())
    default:
        misuse("softmaxCrossEntropy: labels must be int32, int64 or float32, got \(labels.dtype)")
    }
    let x = logits.contiguous()
    let backend = Tensor.backend(of: x, labels, op: "softmaxCrossEntropy")
    let loss = Tensor(uninitializedShape: rowShape, dtype: .float32, backend: backend)
    let probs = Tensor(uninitializedShape: logits.shape, dtype: .float32, backend: backend)
    if let bad = backend.softmaxCrossEntropy(
        logits: x, sparse: sparse, dense: dense, loss: loss, probabilities: probs), let sparse
    {
        let value = sparse.reshaped([-1]).slice(axis: 0, start: bad, end: bad + 1).toArray(Int64.self)[0]
        misuse(
            "softmaxCrossEntropy: label \(value) of example \(bad) is outside 0..<\(n) (logits \(logits.shape))")
    }
    guard GradientMode.shouldRecord(logits, labels) else { return loss }
    let target = dense ?? oneHot(labels, classes: n)
    return loss.recorded(.softmaxCrossEntropy, inputs: [logits, labels]) { g in
        let dLogits = (probs - target) * g.unsqueezed(axis: -1)
        let dLabels = labels.node == nil ? nil : -x.logSoftmax() * g.unsqueezed(axis: -1)
        return [dLogits, dLabels]
    }
}
