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

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        let channels = inputShape[2], out = channels * depthMultiplier
        let (oh, ow) = try windowOutputSize(
            height: inputShape[0], width: inputShape[1], window: kernelSize.pair, strides: strides.pair,
            padding: padding, op: name)
        weight = try addParameter(
            "weight", shape: [kernelSize.height, kernelSize.width, 1, out], initializer: kernelInitializer)
        if useBias { bias = try addParameter("bias", shape: [out], initializer: .zeros) }
        return [oh, ow, out]
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard let weight else { misuse("\(name): used before it was built") }
        var y = conv2d(input, weight.value, strides: strides.pair, padding: padding, groups: input.shape[3])
        if let bias { y = y + bias.value }
        return activation(y)
    }
}

extension DepthwiseConv2D: SerializableLayer {
    public var config: LayerConfig {
        LayerConfig([
            "kernel_size": JSONValue(kernelSize), "strides": JSONValue(strides), "padding": JSONValue(padding),
            "depth_multiplier": JSONValue(depthMultiplier), "activation": .string(activation.description),
            "use_bias": .bool(useBias), "kernel_initializer": .string(kernelInitializer.name),
        ])
    }

    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        DepthwiseConv2D(
            kernelSize: try config.size2D("kernel_size"), strides: try config.size2D("strides"),
            padding: try config.padding(), depthMultiplier: try config.int("depth_multiplier", in: 1...4096),
            activation: try config.activation(), useBias: try config.bool("use_bias"),
            kernelInitializer: try config.initializer("kernel_initializer"))
    }
}
