import Nabla

/// Zooms each image by a random factor in `1 ± factor` about its centre during training
/// (above 1 zooms out), filling uncovered pixels by reflection, as Keras does.
public final class RandomZoom: RandomAffineLayer, @unchecked Sendable {
    public let factor: Float

    public init(factor: Float, fill: FillMode = .reflect, name: String? = nil) {
        require(factor >= 0 && factor < 1, "RandomZoom: factor \(factor) is outside [0, 1)")
        self.factor = factor
        super.init(fill: fill, name: name)
    }

    override var drawsPerImage: Int { 1 }
    override func matrix(h: Int, w: Int, draws: ArraySlice<Float>) -> [Float] {
        AffineMatrix.zoom(height: h, width: w, scale: 1 + factor * (2 * draws[draws.startIndex] - 1))
    }
}

extension RandomZoom: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["factor": JSONValue(factor), "fill": JSONValue(fill)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        let factor = try config.float("factor", in: 0...1)
        guard factor < 1 else { throw config.error("factor", "must be below 1") }
        return RandomZoom(factor: factor, fill: try config.fill())
    }
}
