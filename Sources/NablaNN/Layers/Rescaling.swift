import Nabla

/// Computes `input * scale + offset` (for example `scale: 1 / 255` to bring bytes into `[0, 1]`).
///
/// Integer inputs (such as uint8 images) are converted to float32 first.
public final class Rescaling: Layer, @unchecked Sendable {
    public let scale: Float
    public let offset: Float

    public init(scale: Float, offset: Float = 0, name: String? = nil) {
        self.scale = scale
        self.offset = offset
        super.init(name: name)
    }

    public override var convertsIntegerInputs: Bool { true }

    public override func forward(_ input: Tensor) -> Tensor {
        let x = input.asType(.float32) * scale
        return offset == 0 ? x : x + offset
    }
}

extension Rescaling: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["scale": JSONValue(scale), "offset": JSONValue(offset)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        Rescaling(scale: try config.float("scale"), offset: try config.float("offset"))
    }
}
