import Nabla

/// A transform that can join a one-pass run (see ``Compose``).
protocol FusableTransform: Transform {
    var stage: FusedRun.Stage { get }
}

extension FusableTransform {
    public func callAsFunction(_ batch: Batch, generator: RandomGenerator) -> Batch {
        FusedRun(stages: [stage]).apply(batch, generator: generator)
    }
}

/// Rescaling, normalisation and affine resampling applied in one pass of
/// ``affineResample(_:matrices:outputSize:fill:nearest:scale:bias:)``.
///
/// The maps of the geometric stages are multiplied into one map per image, the per-channel linear
/// maps of values are folded into one scale and bias, and a constant fill is carried through the
/// value maps that follow it. Resampling twice and resampling once through the product agree only
/// when all geometric stages but one are flips (which never read outside and move pixels exactly),
/// so a run holds at most one other geometric stage.
struct FusedRun {
    enum Stage {
        /// `v ↦ scale[c]·v + bias[c]` (one entry: every channel).
        case pointwise(scale: [Float], bias: [Float])
        case geometric(AffineTransform)
    }

    var stages: [Stage] = []

    /// Whether `stage` can join the run.
    func accepts(_ stage: Stage) -> Bool {
        guard case .geometric(let next) = stage, !next.isFlip else { return true }
        return !stages.contains { if case .geometric(let t) = $0 { !t.isFlip } else { false } }
    }

    func apply(_ batch: Batch, generator: RandomGenerator) -> Batch {
        guard !stages.isEmpty else { return batch }
        let images = batch.images
        let geometric = stages.contains { if case .geometric = $0 { true } else { false } }
        require(
            geometric ? images.rank == 4 : images.rank >= 2,
            "transform: expected images [N, H, W, C], got shape \(images.shape)")
        // Value maps alone treat any [N, …, C] batch as [N, 1, pixels, C].
        let channels = images.shape[images.rank - 1]
        let x =
            geometric
            ? images
            : images.reshaped([images.shape[0], 1, images.count / Swift.max(images.shape[0] * channels, 1), channels])
        let (n, c) = (x.shape[0], x.shape[3])
        var (h, w) = (x.shape[1], x.shape[2])
        var maps = [Float](repeating: 0, count: 6 * n)
        for i in 0..<n { (maps[6 * i], maps[6 * i + 4]) = (1, 1) }
        var scale = [Float](repeating: 1, count: c), bias = [Float](repeating: 0, count: c)
        // What positions outside the image read: flips never read outside, so only the other stage's
        // fill counts; a constant passes through the value maps that follow it.
        var fill = FillMode.nearest, fillValues = [Float](repeating: 0, count: c)
        for stage in stages {
            switch stage {
            case .pointwise(let a, let b):
                require(
                    (a.count == 1 || a.count == c) && (b.count == 1 || b.count == c),
                    "transform: \(a.count) per-channel values for images with \(c) channels")
                for k in 0..<c {
                    let (ak, bk) = (a[a.count == 1 ? 0 : k], b[b.count == 1 ? 0 : k])
                    (scale[k], bias[k]) = (ak * scale[k], ak * bias[k] + bk)
                    fillValues[k] = ak * fillValues[k] + bk
                }
            case .geometric(let t):
                let r = t.draws > 0 ? Tensor.uniform([n * t.draws], generator: generator).toArray() : []
                for i in 0..<n {
                    let m = t.matrix(h, w, r[(i * t.draws)..<((i + 1) * t.draws)])
                    Self.compose(&maps[(6 * i)..<(6 * i + 6)], m)
                }
                if !t.isFlip {
                    fill = t.fill
                    if case .constant(let v) = t.fill { fillValues = [Float](repeating: v, count: c) }
                }
                (h, w) = t.size?(h, w) ?? (h, w)
            }
        }
        let out = affineResample(
            x, matrices: maps, outputSize: (h, w), fill: fill, fillValues: fillValues, scale: scale, bias: bias)
        return Batch(images: geometric ? out : out.reshaped(images.shape), labels: batch.labels)
    }

    /// Replaces `c` (the map from output to source so far) by `c ∘ m`.
    static func compose(_ c: inout ArraySlice<Float>, _ m: [Float]) {
        let s = c.startIndex
        let (a, b, t0, d, e, t1) = (c[s], c[s + 1], c[s + 2], c[s + 3], c[s + 4], c[s + 5])
        c[s] = a * m[0] + b * m[3]
        c[s + 1] = a * m[1] + b * m[4]
        c[s + 2] = a * m[2] + b * m[5] + t0
        c[s + 3] = d * m[0] + e * m[3]
        c[s + 4] = d * m[1] + e * m[4]
        c[s + 5] = d * m[2] + e * m[5] + t1
    }
}
