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
    public private(set) var weight: Parameter?
    public private(set) var bias: Parameter?

    public init(
        filters: Int, kernelSize: Size2D, strides: Size2D = 1, padding: Padding = .valid, dilation: Size2D = 1,
        groups: Int = 1, activation: Activation = .linear, useBias: Bool = true,
        kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros, name: String? = nil
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
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) -> [Int] {
        require(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        let channels = inputShape[2]
        require(channels % groups == 0, "\(name): \(channels) input channels do not split into \(groups) groups")
        weight = addParameter(
            "weight", kernelInitializer([kernelSize.height, kernelSize.width, channels / groups, filters]))
        if useBias { bias = addParameter("bias", biasInitializer([filters])) }
        let (oh, ow) = windowOutputSize(
            height: inputShape[0], width: inputShape[1], window: kernelSize.pair, strides: strides.pair,
            padding: padding, dilation: dilation.pair, op: name)
        return [oh, ow, filters]
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard let weight else { misuse("\(name): used before it was built") }
        var y = conv2d(
            input, weight.value, strides: strides.pair, padding: padding, dilation: dilation.pair, groups: groups)
        if let bias { y = y + bias.value }
        return activation(y)
    }
}
