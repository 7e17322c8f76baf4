import Nabla

/// Pads NHWC images with zeros: `padding` rows on top and bottom, columns left and right.
public final class ZeroPadding2D: Layer, @unchecked Sendable {
    public let padding: (top: Int, bottom: Int, left: Int, right: Int)

    public init(padding: Size2D = 1, name: String? = nil) {
        self.padding = (padding.height, padding.height, padding.width, padding.width)
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        return [
            inputShape[0] + padding.top + padding.bottom, inputShape[1] + padding.left + padding.right, inputShape[2],
        ]
    }

    public override func forward(_ input: Tensor) -> Tensor {
        input.padded([(0, 0), (padding.top, padding.bottom), (padding.left, padding.right), (0, 0)])
    }
}

extension ZeroPadding2D: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["padding": JSONValue([padding.top, padding.left])]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        ZeroPadding2D(padding: try config.size2D("padding", in: 0...LayerConfig.maxSize))
    }
}
