import Nabla

/// A pooling window slid over NHWC images; the subclasses choose the reduction.
public class Pooling2D: Layer, @unchecked Sendable {
    public let poolSize: Size2D
    public let strides: Size2D?
    public let padding: Padding

    init(poolSize: Size2D, strides: Size2D?, padding: Padding, name: String?) {
        self.poolSize = poolSize
        self.strides = strides
        self.padding = padding
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) -> [Int] {
        require(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        let (oh, ow) = windowOutputSize(
            height: inputShape[0], width: inputShape[1], window: poolSize.pair, strides: (strides ?? poolSize).pair,
            padding: padding, op: name)
        return [oh, ow, inputShape[2]]
    }
}

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

/// Average pooling over NHWC images (padding excluded from each window's count).
public final class AvgPool2D: Pooling2D, @unchecked Sendable {
    public override init(poolSize: Size2D = 2, strides: Size2D? = nil, padding: Padding = .valid, name: String? = nil) {
        super.init(poolSize: poolSize, strides: strides, padding: padding, name: name)
    }

    public override func forward(_ input: Tensor) -> Tensor {
        avgPool2d(input, poolSize: poolSize.pair, strides: strides?.pair, padding: padding)
    }
}

/// The mean over the spatial axes: `[batch, H, W, C]` → `[batch, C]`.
public final class GlobalAveragePooling2D: Layer, @unchecked Sendable {
    public override func build(inputShape: [Int]) -> [Int] {
        require(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        return [inputShape[2]]
    }

    public override func forward(_ input: Tensor) -> Tensor { globalAvgPool2d(input) }
}
