import Nabla

/// Flips each image horizontally and/or vertically with probability ½ during training.
public final class RandomFlip: RandomAffineLayer, @unchecked Sendable {
    public let horizontal: Bool
    public let vertical: Bool

    public init(horizontal: Bool = true, vertical: Bool = false, name: String? = nil) {
        self.horizontal = horizontal
        self.vertical = vertical
        super.init(fill: .nearest, name: name)
    }

    override var drawsPerImage: Int { 2 }
    override func matrix(h: Int, w: Int, draws: ArraySlice<Float>) -> [Float] {
        AffineMatrix.flip(
            height: h, width: w, vertical: vertical && draws[draws.startIndex] < 0.5,
            horizontal: horizontal && draws[draws.startIndex + 1] < 0.5)
    }
}

extension RandomFlip: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["horizontal": .bool(horizontal), "vertical": .bool(vertical)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        RandomFlip(horizontal: try config.bool("horizontal"), vertical: try config.bool("vertical"))
    }
}
