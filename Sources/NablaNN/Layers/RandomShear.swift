import Foundation
import Nabla

/// Shears each image by a random angle in `±maxDegrees` about its centre during training (rows
/// shift sideways in proportion to their distance from the centre row), as Keras's `shear_range`.
public final class RandomShear: RandomAffineLayer, @unchecked Sendable {
    public let maxDegrees: Float

    public init(maxDegrees: Float, fill: FillMode = .constant(0), name: String? = nil) {
        require((0..<90).contains(maxDegrees), "RandomShear: maxDegrees \(maxDegrees) is outside [0, 90)")
        self.maxDegrees = maxDegrees
        super.init(fill: fill, name: name)
    }

    override var drawsPerImage: Int { 1 }
    override func matrix(h: Int, w: Int, draws: ArraySlice<Float>) -> [Float] {
        AffineMatrix.shear(height: h, width: w, angle: maxDegrees * (2 * draws[draws.startIndex] - 1) * .pi / 180)
    }
}

extension RandomShear: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["max_degrees": JSONValue(maxDegrees), "fill": JSONValue(fill)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        let degrees = try config.float("max_degrees", in: 0...89)
        return RandomShear(maxDegrees: degrees, fill: try config.fill())
    }
}
