import Nabla

/// A densely connected layer.
///
/// Computes `activation(matmul(x, weight) + bias)` for `x` of shape `[batch, inputSize]`; `weight`
/// has shape `[inputSize, units]` and starts Glorot-uniform, `bias` starts at zero. Inputs of higher
/// rank are multiplied along their last axis.
public final class Dense: Layer, @unchecked Sendable {
    public let units: Int
    public let activation: Activation
    public let useBias: Bool
    let kernelInitializer: Initializer
    let biasInitializer: Initializer
    /// A penalty on the kernel added to the training loss, if any.
    public let kernelRegularizer: Regularizer?
    public private(set) var weight: Parameter?
    public private(set) var bias: Parameter?

    public init(
        units: Int, activation: Activation = .linear, useBias: Bool = true,
        kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
        kernelRegularizer: Regularizer? = nil, name: String? = nil
    ) {
        require(units > 0, "Dense: units must be positive, got \(units)")
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        self.kernelRegularizer = kernelRegularizer
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(
            !inputShape.isEmpty,
            "\(name): Dense needs inputs of rank ≥ 2 ([batch, features]), got a per-example shape \(inputShape)")
        weight = try addParameter(
            "weight", shape: [inputShape[inputShape.count - 1], units], initializer: kernelInitializer)
        if useBias { bias = try addParameter("bias", shape: [units], initializer: biasInitializer) }
        return Array(inputShape.dropLast()) + [units]
    }

    public override var regularizationLoss: Tensor? {
        guard let kernelRegularizer, let weight, weight.isTrainable else { return super.regularizationLoss }
        let own = kernelRegularizer(weight.value)
        return super.regularizationLoss.map { $0 + own } ?? own
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard let weight else { misuse("\(name): used before it was built") }
        var y = matmul(input, weight.value)
        if let bias { y = y + bias.value }
        return activation(y)
    }
}

extension Dense: SerializableLayer {
    public var config: LayerConfig {
        LayerConfig([
            "units": JSONValue(units), "activation": .string(activation.description), "use_bias": .bool(useBias),
            "kernel_initializer": .string(kernelInitializer.name), "bias_initializer": .string(biasInitializer.name),
            "kernel_regularizer": JSONValue(kernelRegularizer),
        ])
    }

    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        Dense(
            units: try config.int("units"), activation: try config.activation(), useBias: try config.bool("use_bias"),
            kernelInitializer: try config.initializer("kernel_initializer"),
            biasInitializer: try config.initializer("bias_initializer"),
            kernelRegularizer: try config.regularizer("kernel_regularizer"))
    }
}
