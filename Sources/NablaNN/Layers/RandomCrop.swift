import Nabla

/// Crops a random `height`×`width` window during training (from the input zero-padded by
/// `padding` on every side, the usual CIFAR recipe); a centre crop at inference.
public final class RandomCrop: RandomAffineLayer, @unchecked Sendable {
    public let height: Int
    public let width: Int
    public let padding: Int

    public init(height: Int, width: Int, padding: Int = 0, name: String? = nil) {
        require(
            height > 0 && width > 0 && padding >= 0, "RandomCrop: invalid size \(height)×\(width) or padding \(padding)"
        )
        self.height = height
        self.width = width
        self.padding = padding
        super.init(fill: .constant(0), name: name)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(
            inputShape.count == 3 && inputShape[0] >= height && inputShape[1] >= width,
            "\(name): the crop \(height)×\(width) needs NHWC input at least as large, got per-example shape \(inputShape)"
        )
        return try super.build(inputShape: inputShape)
    }

    override var drawsPerImage: Int { 2 }
    override func outputSize(h: Int, w: Int) -> (Int, Int) { (height, width) }
    override func matrix(h: Int, w: Int, draws: ArraySlice<Float>) -> [Float] {
        AffineMatrix.crop(
            height: h, width: w, cropHeight: height, cropWidth: width, padding: padding,
            drawY: draws[draws.startIndex], drawX: draws[draws.startIndex + 1])
    }

    override func inference(_ input: Tensor) -> Tensor {
        let (h, w) = (input.shape[1], input.shape[2])
        require(h >= height && w >= width, "\(name): input \(h)×\(w) is smaller than the crop \(height)×\(width)")
        let top = (h - height) / 2, left = (w - width) / 2
        return input.slice(axis: 1, start: top, end: top + height).slice(axis: 2, start: left, end: left + width)
    }
}

extension RandomCrop: SerializableLayer {
    public var config: LayerConfig {
        LayerConfig(["height": JSONValue(height), "width": JSONValue(width), "padding": JSONValue(padding)])
    }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        RandomCrop(
            height: try config.int("height"), width: try config.int("width"),
            padding: try config.int("padding", in: 0...LayerConfig.maxSize))
    }
}
