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
