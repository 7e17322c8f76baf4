import Nabla

/// A loss: the per-example error between a model's predictions and the targets.
///
/// `perExample` returns `[batch]`; training minimises its (weighted) mean over the batch. The
/// checks on the targets throw, so `fit` reports bad labels as errors instead of stopping.
public protocol Loss: Sendable {
    /// A short name for logs ("sparse_categorical_crossentropy").
    var name: String { get }
    /// Returns the loss of each example, `[batch]`.
    func perExample(_ predictions: Tensor, _ targets: Tensor) -> Tensor
    /// Throws a `NablaError` if `targets` cannot be used with predictions of `outputShape` (per example).
    func validate(targets: Tensor, outputShape: [Int]) throws
}

extension Loss {
    /// Returns the mean loss over the batch (weighted by `sampleWeights` when given, divided by the batch size).
    public func callAsFunction(_ predictions: Tensor, _ targets: Tensor, sampleWeights: Tensor? = nil) -> Tensor {
        let losses = perExample(predictions, targets)
        guard let sampleWeights else { return losses.mean() }
        return (losses * sampleWeights).sum() / Float(losses.count)
    }

    public func validate(targets: Tensor, outputShape: [Int]) throws {
        let expected = outputShape
        guard Array(targets.shape.dropFirst()) == expected else {
            throw NablaError(
                .invalidArgument,
                "\(name): targets of shape \(targets.shape) do not match predictions [batch, \(expected.map(String.init).joined(separator: ", "))]"
            )
        }
    }
}

/// Averages over every axis but the batch one.
private func meanPerExample(_ t: Tensor) -> Tensor { t.rank <= 1 ? t : t.mean(axes: Array(1..<t.rank)) }

/// Mean squared error: `mean((y − ŷ)²)` per example.
public struct MeanSquaredError: Loss {
    public init() {}
    public var name: String { "mean_squared_error" }
    public func perExample(_ p: Tensor, _ y: Tensor) -> Tensor { meanPerExample((p - y).square()) }
}

/// Mean absolute error: `mean(|y − ŷ|)` per example.
public struct MeanAbsoluteError: Loss {
    public init() {}
    public var name: String { "mean_absolute_error" }
    public func perExample(_ p: Tensor, _ y: Tensor) -> Tensor { meanPerExample((p - y).abs()) }
}

/// Huber loss: `½e²` where `|e| ≤ delta`, `delta·(|e| − ½delta)` beyond, averaged per example.
public struct Huber: Loss {
    public var delta: Float
    public init(delta: Float = 1) { self.delta = delta }
    public var name: String { "huber" }
    public func perExample(_ p: Tensor, _ y: Tensor) -> Tensor {
        let e = (p - y).abs()
        let quadratic = e.clamp(max: delta)
        return meanPerExample(quadratic.square() * 0.5 + (e - quadratic) * delta)
    }
}

/// Binary cross-entropy for targets in `[0, 1]`: `−(y·log p + (1 − y)·log(1 − p))`, averaged per example.
///
/// With `fromLogits` the predictions are logits and the loss is computed stably as
/// `max(x, 0) − x·y + log(1 + e^−|x|)`; otherwise probabilities are clipped to `[1e-7, 1 − 1e-7]`.
/// `labelSmoothing` moves targets toward ½.
public struct BinaryCrossEntropy: Loss {
    public var fromLogits: Bool
    public var labelSmoothing: Float
    public init(fromLogits: Bool = false, labelSmoothing: Float = 0) {
        (self.fromLogits, self.labelSmoothing) = (fromLogits, labelSmoothing)
    }
    public var name: String { "binary_crossentropy" }
    public func perExample(_ p: Tensor, _ y: Tensor) -> Tensor {
        let t = labelSmoothing > 0 ? y * (1 - labelSmoothing) + 0.5 * labelSmoothing : y
        if fromLogits {
            return meanPerExample(p.relu() - p * t + ((-p.abs()).exp() + 1).log())
        }
        let q = p.clamp(min: 1e-7, max: 1 - 1e-7)
        return meanPerExample(-(t * q.log() + (1 - t) * (1 - q).log()))
    }
}

/// Categorical cross-entropy for one-hot (or probability) targets `[batch, classes]`.
///
/// `−Σ y·log p`; with `fromLogits` the fused, stable `softmaxCrossEntropy(logits:labels:)`.
/// `labelSmoothing` mixes the targets with the uniform distribution: `y·(1 − s) + s / classes`.
public struct CategoricalCrossEntropy: Loss {
    public var fromLogits: Bool
    public var labelSmoothing: Float
    public init(fromLogits: Bool = false, labelSmoothing: Float = 0) {
        (self.fromLogits, self.labelSmoothing) = (fromLogits, labelSmoothing)
    }
    public var name: String { "categorical_crossentropy" }
    public func perExample(_ p: Tensor, _ y: Tensor) -> Tensor {
        let classes = Float(p.shape.last ?? 1)
        let t = labelSmoothing > 0 ? y * (1 - labelSmoothing) + labelSmoothing / classes : y
        return probabilityCrossEntropy(p, t, fromLogits: fromLogits)
    }
}

/// Sparse categorical cross-entropy for integer class targets `[batch]`.
///
/// The same as ``CategoricalCrossEntropy`` on `oneHot(targets)`, without building the one-hot rows.
public struct SparseCategoricalCrossEntropy: Loss {
    public var fromLogits: Bool
    public init(fromLogits: Bool = false) { self.fromLogits = fromLogits }
    public var name: String { "sparse_categorical_crossentropy" }

    public func perExample(_ p: Tensor, _ y: Tensor) -> Tensor {
        if fromLogits { return softmaxCrossEntropy(logits: p, labels: y) }
        let picked = p.clamp(min: 1e-7, max: 1).log()
        return -(picked * oneHot(y, classes: p.shape.last ?? 1)).sum(axes: [-1])
    }

    public func validate(targets: Tensor, outputShape: [Int]) throws {
        guard targets.dtype == .int32 || targets.dtype == .int64 || targets.dtype == .uint8, targets.rank == 1 else {
            throw NablaError(
                .invalidArgument,
                "\(name): targets must be integer class indices [batch], got \(targets.dtype) \(targets.shape)")
        }
        let classes = outputShape.last ?? 1
        let values = targets.asType(.int64).toArray(Int64.self)
        if let bad = values.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            throw NablaError(
                .invalidArgument,
                "\(name): label \(values[bad]) of example \(bad) is outside 0..<\(classes), the model's \(classes) outputs"
            )
        }
    }
}

/// `−Σ t·log p` per example, from probabilities (clipped) or logits (fused and stable).
private func probabilityCrossEntropy(_ p: Tensor, _ t: Tensor, fromLogits: Bool) -> Tensor {
    if fromLogits { return softmaxCrossEntropy(logits: p, labels: t) }
    let normalized = p / p.sum(axes: [-1], keepDims: true)
    return -(t * normalized.clamp(min: 1e-7, max: 1).log()).sum(axes: [-1])
}
