import Nabla

/// Max pooling over NHWC images: the largest value of each `poolSize` window.
///
/// `strides` defaults to `poolSize`, as in Keras.
public final class MaxPool2D: Pooling2D, @unchecked Sendable {
    public override init(poolSize: Size2D = 2, strides: Size2D? = nil, padding: Padding = .valid, name: String? = nil) {
        super.init(poolSize: poolSize, strides: strides, padding: padding, name: name)
    }

    public override func forward(_ input: Tensor) -> Tensor {
        maxPool2d(input, poolSize: poolSize.pair, strides: strides?.pair, padding: padding)
    }
}

extension MaxPool2D: SerializableLayer {
    public var config: LayerConfig { poolingConfig }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        let (size, strides, padding) = try poolingArguments(config)
        return MaxPool2D(poolSize: size, strides: strides, padding: padding)
    }
}
