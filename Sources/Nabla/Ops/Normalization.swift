// Batch normalisation over the channel (last) axis, NHWC: statistics over every other axis.

/// Returns `(y, mean, variance)` of batch normalisation with statistics of this batch.
///
/// For `x` of shape `[..., C]`, `mean` and `variance` (biased) are per channel over all other axes,
/// and `y = (x - mean) / sqrt(variance + epsilon) * scale + offset`. The statistics come from one
/// fused kernel (two passes in double), and the backward is the closed form
/// `dx = scale·invstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))`. `mean` and `variance` are returned without
/// gradients, for updating running averages.
///
/// Synchronised over processes (data-parallel training), `combine` sums an array over them; every
/// process then normalises with the statistics of all the processes' rows together, and backward
/// uses the sums over all of them, so the result is that of one batch norm over the union. It is
/// called twice per step, `[rows, rows·mean, rows·(variance + mean²)]` forward and
/// `[Σdy·x̂, Σdy]` backward (per channel, in double), at the same points on every process.
///
/// - Paper: https://arxiv.org/abs/1502.03167
/// - Precondition: `scale` and `offset`, when given, have shape `[C]`.
public func batchNorm(
    _ x: Tensor, scale: Tensor?, offset: Tensor?, epsilon: Float = 1e-3,
    combine: ((inout [Double]) -> Void)? = nil
) -> (output: Tensor, mean: Tensor, variance: Tensor) {
    require(x.dtype == .float32 && x.rank >= 1, "batchNorm: expected float32 [..., C], got \(x.dtype) \(x.shape)")
    let C = x.shape[x.rank - 1]
    for (name, t) in [("scale", scale), ("offset", offset)] {
        if let t {
            require(t.shape == [C], "batchNorm: \(name) has shape \(t.shape), expected [\(C)] for input \(x.shape)")
        }
    }
    let xc = x.contiguous()
    let rows = x.count / Swift.max(C, 1)
    require(rows > 0, "batchNorm: no examples in input \(x.shape)")
    let backend = xc.backend
    let mean = Tensor(uninitializedShape: [C], dtype: .float32, backend: backend)
    let variance = Tensor(uninitializedShape: [C], dtype: .float32, backend: backend)
    backend.channelMoments(xc, mean: mean, variance: variance)
    var total = Double(rows)
    if let combine {
        let (m, v) = (mean.toArray(Float.self).map(Double.init), variance.toArray(Float.self).map(Double.init))
        var sums = [total] + m.map { total * $0 } + zip(m, v).map { total * ($1 + $0 * $0) }
        combine(&sums)
        total = sums[0]
        let means = (0..<C).map { sums[1 + $0] / total }
        mean.assign(Tensor(means.map(Float.init), shape: [C]))
        variance.assign(
            Tensor((0..<C).map { Float(max(sums[1 + C + $0] / total - means[$0] * means[$0], 0)) }, shape: [C]))
    }
    let invstd = withoutGradients { (variance + epsilon).rsqrt() }
    let (sc, of) = (scale?.contiguous(), offset?.contiguous())
    _ = Tensor.backend(of: [xc] + [sc, of].compactMap { $0 }, op: "batchNorm")
    let y = Tensor(uninitializedShape: x.shape, dtype: .float32, backend: backend)
    backend.batchNormForward(xc, mean: mean, invstd: invstd, scale: sc, offset: of, into: y)
    var inputs = [x]
    if let scale { inputs.append(scale) }
    if let offset { inputs.append(offset) }
    guard GradientMode.shouldRecord(inputs) else { return (y, mean, variance) }
    let out = y.recorded(.batchNorm, ["epsilon": .float(epsilon)], inputs: inputs) { g in
        let dx = Tensor(uninitializedShape: xc.shape, dtype: .float32, backend: backend)
        let dscale = Tensor(uninitializedShape: [C], dtype: .float32, backend: backend)
        let doffset = Tensor(uninitializedShape: [C], dtype: .float32, backend: backend)
        backend.batchNormBackward(
            xc, gradient: g.contiguous(), mean: mean, invstd: invstd, scale: sc, dx: dx, dscale: dscale,
            doffset: doffset)
        var grads: [Tensor?] = [dx]
        if let combine {
            // The kernel used this process's sums: dx = k·(dy − a/m − x̂·b/m) with k = scale·invstd,
            // a = Σdy, b = Σdy·x̂ over its m rows. Over all processes it is k·(dy − A/M − x̂·B/M):
            // the difference is affine in x per channel.
            let (b, a) = (dscale.toArray(Float.self).map(Double.init), doffset.toArray(Float.self).map(Double.init))
            var sums = b + a
            combine(&sums)
            let (k, s, mu) = (
                (sc?.toArray(Float.self) ?? [Float](repeating: 1, count: C)), invstd.toArray(Float.self),
                mean.toArray(Float.self)
            )
            let m = Double(rows)
            var (slope, shift) = ([Float](repeating: 0, count: C), [Float](repeating: 0, count: C))
            for c in 0..<C {
                let ks = Double(k[c]) * Double(s[c])
                let (c1, c2) = (ks * (a[c] / m - sums[C + c] / total), ks * (b[c] / m - sums[c] / total) * Double(s[c]))
                (slope[c], shift[c]) = (Float(c2), Float(c1 - c2 * Double(mu[c])))
            }
            grads[0] = withoutGradients { dx + xc * Tensor(slope, shape: [C]) + Tensor(shift, shape: [C]) }
        }
        if scale != nil { grads.append(dscale) }
        if offset != nil { grads.append(doffset) }
        return grads
    }
    return (out, mean, variance)
}

/// Returns batch normalisation with given statistics (inference): `(x - mean) / sqrt(variance + epsilon) * scale + offset`.
///
/// Differentiable with respect to every argument; all but `x` have shape `[C]`, `x` is `[..., C]`.
public func batchNorm(
    _ x: Tensor, mean: Tensor, variance: Tensor, scale: Tensor?, offset: Tensor?, epsilon: Float = 1e-3
) -> Tensor {
    let C = x.shape.last ?? 0
    require(
        mean.shape == [C] && variance.shape == [C],
        "batchNorm: mean \(mean.shape) and variance \(variance.shape) must be [\(C)] for input \(x.shape)")
    var y = (x - mean) * (variance + epsilon).rsqrt()
    if let scale { y = y * scale }
    if let offset { y = y + offset }
    return y
}
