import Nabla

/// A depthwise 2-D convolution: each input channel convolved with its own `depthMultiplier` filters.
///
/// `weight` has shape `[KH, KW, 1, C · depthMultiplier]`; output channel `c·M + m` reads channel `c`.
public final class DepthwiseConv2D: Layer, @unchecked Sendable {
    public let kernelSize: Size2D
    public let strides: Size2D
    public let padding: Padding
    public let depthMultiplier: Int
    public let activation: Activation
    public let useBias: Bool
    public private(set) var weight: Parameter?
    public private(set) var bias: Parameter?
    let kernelInitializer: Initializer

    public init(
        kernelSize: Size2D, strides: Size2D = 1, padding: Padding = .valid, depthMultiplier: Int = 1,
        activation: Activation = .linear, useBias: Bool = true, kernelInitializer: Initializer = .glorotUniform,
        name: String? = nil
    ) {
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.depthMultiplier = depthMultiplier
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) -> [Int] {
        require(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        let channels = inputShape[2], out = channels * depthMultiplier
        weight = addParameter("weight", kernelInitializer([kernelSize.height, kernelSize.width, 1, out]))
        if useBias { bias = addParameter("bias", Tensor.zeros([out])) }
        let (oh, ow) = windowOutputSize(
            height: inputShape[0], width: inputShape[1], window: kernelSize.pair, strides: strides.pair,
            padding: padding, op: name)
        return [oh, ow, out]
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard let weight else { misuse("\(name): used before it was built") }
        var y = conv2d(input, weight.value, strides: strides.pair, padding: padding, groups: input.shape[3])
        if let bias { y = y + bias.value }
        return activation(y)
    }
}
