import Nabla

/// A 2-D convolution over NHWC images.
///
/// Computes `activation(conv2d(x, weight) + bias)` for `x` of shape `[batch, H, W, C]`; `weight`
/// has shape `[KH, KW, C / groups, filters]` and starts Glorot-uniform, `bias` `[filters]` starts at zero.
public final class Conv2D: Layer, @unchecked Sendable {
    public let filters: Int
    public let kernelSize: Size2D
    public let strides: Size2D
    public let padding: Padding
    public let dilation: Size2D
    public let groups: Int
    public let activation: Activation
    public let useBias: Bool
    let kernelInitializer: Initializer
    let biasInitializer: Initializer
    /// A penalty on the kernel added to the training loss, if any.
    public let kernelRegularizer: Regularizer?
    public private(set) var weight: Parameter?
    public private(set) var bias: Parameter?

    public init(
        filters: Int, kernelSize: Size2D, strides: Size2D = 1, padding: Padding = .valid, dilation: Size2D = 1,
        groups: Int = 1, activation: Activation = .linear, useBias: Bool = true,
        kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
        kernelRegularizer: Regularizer? = nil, name: String? = nil
    ) {
        require(
            filters > 0 && groups > 0 && filters % groups == 0,
            "Conv2D: \(filters) filters do not split into \(groups) groups")
        self.filters = filters
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        self.kernelRegularizer = kernelRegularizer
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        let channels = inputShape[2]
        try check(channels % groups == 0, "\(name): \(channels) input channels do not split into \(groups) groups")
        let (oh, ow) = try windowOutputSize(
            height: inputShape[0], width: inputShape[1], window: kernelSize.pair, strides: strides.pair,
            padding: padding, dilation: dilation.pair, op: name)
        weight = try addParameter(
            "weight", shape: [kernelSize.height, kernelSize.width, channels / groups, filters],
            initializer: kernelInitializer)
        if useBias { bias = try addParameter("bias", shape: [filters], initializer: biasInitializer) }
        return [oh, ow, filters]
    }

    public override var regularizationLoss: Tensor? {
        guard let kernelRegularizer, let weight, weight.isTrainable else { return super.regularizationLoss }
        let own = kernelRegularizer(weight.value)
        return super.regularizationLoss.map { $0 + own } ?? own
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard let weight else { misuse("\(name): used before it was built") }
        // Bias and ReLU are fused into the convolution when nothing records (inference).
        let y = conv2d(
            input, weight.value, bias: bias?.value, relu: activation == .relu, strides: strides.pair, padding: padding,
            dilation: dilation.pair, groups: groups)
        return activation == .relu ? y : activation(y)
    }

    /// This layer's output pooled by `pool`, through ``conv2dMaxPool(_:_:bias:relu:strides:padding:dilation:groups:poolSize:)``,
    /// or nil where that does not apply: an activation other than ReLU or none, or pooling windows
    /// that do not tile the output (padding, or strides other than the pool size).
    func forward(_ input: Tensor, thenPooledBy pool: MaxPool2D) -> Tensor? {
        let window = pool.poolSize.pair
        guard let weight, activation == .relu || activation == .linear, pool.padding == .valid,
            pool.strides.map({ $0.pair == window }) ?? true
        else { return nil }
        return conv2dMaxPool(
            input, weight.value, bias: bias?.value, relu: activation == .relu, strides: strides.pair,
            padding: padding, dilation: dilation.pair, groups: groups, poolSize: window)
    }
}

extension Conv2D: SerializableLayer {
    public var config: LayerConfig {
        LayerConfig([
            "filters": JSONValue(filters), "kernel_size": JSONValue(kernelSize), "strides": JSONValue(strides),
            "padding": JSONValue(padding), "dilation": JSONValue(dilation), "groups": JSONValue(groups),
            "activation": .string(activation.description), "use_bias": .bool(useBias),
            "kernel_initializer": .string(kernelInitializer.name), "bias_initializer": .string(biasInitializer.name),
            "kernel_regularizer": JSONValue(kernelRegularizer),
        ])
    }

    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        let filters = try config.int("filters"), groups = try config.int("groups")
        guard filters % groups == 0 else { throw config.error("groups", "must divide filters (\(filters))") }
        return Conv2D(
            filters: filters, kernelSize: try config.size2D("kernel_size"), strides: try config.size2D("strides"),
            padding: try config.padding(), dilation: try config.size2D("dilation"), groups: groups,
            activation: try config.activation(), useBias: try config.bool("use_bias"),
            kernelInitializer: try config.initializer("kernel_initializer"),
            biasInitializer: try config.initializer("bias_initializer"),
            kernelRegularizer: try config.regularizer("kernel_regularizer"))
    }
}
