import Nabla

/// Average pooling over NHWC images (padding excluded from each window's count).
public final class AvgPool2D: Pooling2D, @unchecked Sendable {
    public override init(poolSize: Size2D = 2, strides: Size2D? = nil, padding: Padding = .valid, name: String? = nil) {
        super.init(poolSize: poolSize, strides: strides, padding: padding, name: name)
    }

    public override func forward(_ input: Tensor) -> Tensor {
        avgPool2d(input, poolSize: poolSize.pair, strides: strides?.pair, padding: padding)
    }
}

extension AvgPool2D: SerializableLayer {
    public var config: LayerConfig { poolingConfig }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        let (size, strides, padding) = try poolingArguments(config)
        return AvgPool2D(poolSize: size, strides: strides, padding: padding)
    }
}
