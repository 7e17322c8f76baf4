import Nabla

/// Batch normalisation over the last (channel) axis.
///
/// Training: `y = (x - mean) / sqrt(variance + epsilon) * gamma + beta` with the batch's statistics
/// (over every axis but the last), and `movingMean = momentum · movingMean + (1 - momentum) · mean`
/// (the same for the variance, made unbiased by `n / (n - 1)` as PyTorch does). Inference: the moving
/// statistics, as also when the layer is frozen (``Layer/isTrainable`` off). `gamma` starts at one, `beta` at zero; defaults `momentum` 0.99, `epsilon` 1e-3 (Keras).
///
/// In data-parallel training (a model with a ``Model/processGroup``) each process normalises its
/// share of the batch with its own statistics by default, and the moving statistics are averaged
/// over the processes at the end of each epoch. With `synchronized` the statistics are those of
/// the whole global batch (PyTorch's `SyncBatchNorm`, Keras's `SyncBatchNormalization`), at the
/// cost of two small all-reduces per step: for small per-process batches. (A rank whose share of
/// a last, small batch is empty takes part with one row of weight zero, ``ProcessGroup/share(of:)``;
/// synchronised, that row counts in the statistics.)
///
/// - Paper: https://arxiv.org/abs/1502.03167
public final class BatchNormalization: Layer, @unchecked Sendable {
    public let momentum: Float
    public let epsilon: Float
    /// Whether training statistics are computed over every process of the model's group.
    public var synchronized: Bool
    /// The group the statistics are synchronised over (set with the model's ``Model/processGroup``).
    public var processGroup: (any ProcessGroup)?
    public private(set) var gamma: Parameter?
    public private(set) var beta: Parameter?
    public private(set) var movingMean: Parameter?
    public private(set) var movingVariance: Parameter?

    public init(momentum: Float = 0.99, epsilon: Float = 1e-3, synchronized: Bool = false, name: String? = nil) {
        self.momentum = momentum
        self.epsilon = epsilon
        self.synchronized = synchronized
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(!inputShape.isEmpty, "\(name): needs a channel axis, got per-example shape \(inputShape)")
        let c = inputShape[inputShape.count - 1]
        gamma = try addParameter("gamma", shape: [c], initializer: .ones)
        beta = try addParameter("beta", shape: [c], initializer: .zeros)
        movingMean = try addParameter("moving_mean", shape: [c], initializer: .zeros, trainable: false)
        movingVariance = try addParameter("moving_variance", shape: [c], initializer: .ones, trainable: false)
        return inputShape
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard let gamma, let beta, let movingMean, let movingVariance else {
            misuse("\(name): used before it was built")
        }
        // A frozen layer keeps to its moving statistics even in training (Keras's rule), so a
        // frozen base behaves as it did when it was trained.
        if !isTraining || !isTrainable {
            return batchNorm(
                input, mean: movingMean.value, variance: movingVariance.value, scale: gamma.value, offset: beta.value,
                epsilon: epsilon)
        }
        var globalRows: RowCount?
        var combine: ((inout [Double]) -> Void)?
        if synchronized, let group = processGroup, group.size > 1 {
            let rows = RowCount()
            globalRows = rows
            combine = { values in
                do { try group.sum(&values) } catch { group.fail(error) }
                // The first call is the forward's, whose sums start with the rows of every process.
                if rows.value == nil { rows.value = values[0] }
            }
        }
        let (y, mean, variance) = batchNorm(
            input, scale: gamma.value, offset: beta.value, epsilon: epsilon, combine: combine)
        let n = Float(globalRows?.value ?? Double(input.count / Swift.max(input.shape.last ?? 1, 1)))
        withoutGradients {
            let unbiased = variance * (n / Swift.max(n - 1, 1))
            movingMean.value.assign(movingMean.value * momentum + mean * (1 - momentum))
            movingVariance.value.assign(movingVariance.value * momentum + unbiased * (1 - momentum))
        }
        return y
    }
}

extension BatchNormalization: SerializableLayer {
    public var config: LayerConfig {
        var values = ["momentum": JSONValue(momentum), "epsilon": JSONValue(epsilon)]
        if synchronized { values["synchronized"] = .bool(true) }
        return LayerConfig(values)
    }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        BatchNormalization(
            momentum: try config.float("momentum", in: 0...1), epsilon: try config.float("epsilon", in: 0...1),
            synchronized: config["synchronized"] == nil ? false : try config.bool("synchronized"))
    }
}

/// The global batch's rows, learnt in the forward's all-reduce.
private final class RowCount {
    var value: Double?
}
