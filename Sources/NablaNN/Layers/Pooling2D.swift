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
