import Nabla

/// Shifts each image by a random fraction of its size, up to `heightFactor` and `widthFactor`
/// each way, during training; uncovered pixels by reflection, as Keras does.
public final class RandomTranslation: RandomAffineLayer, @unchecked Sendable {
    public let heightFactor: Float
    public let widthFactor: Float

    public init(heightFactor: Float, widthFactor: Float, fill: FillMode = .reflect, name: String? = nil) {
        require(heightFactor >= 0 && widthFactor >= 0, "RandomTranslation: negative factor")
        self.heightFactor = heightFactor
        self.widthFactor = widthFactor
        super.init(fill: fill, name: name)
    }

    override var drawsPerImage: Int { 2 }
    override func matrix(h: Int, w: Int, draws: ArraySlice<Float>) -> [Float] {
        AffineMatrix.translation(
            dy: heightFactor * Float(h) * (2 * draws[draws.startIndex] - 1),
            dx: widthFactor * Float(w) * (2 * draws[draws.startIndex + 1] - 1))
    }
}

extension RandomTranslation: SerializableLayer {
    public var config: LayerConfig {
        LayerConfig([
            "height_factor": JSONValue(heightFactor), "width_factor": JSONValue(widthFactor), "fill": JSONValue(fill),
        ])
    }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        RandomTranslation(
            heightFactor: try config.float("height_factor", in: 0...1),
            widthFactor: try config.float("width_factor", in: 0...1),
            fill: try config.fill())
    }
}
