import Nabla

/// Reshapes each example to `targetShape` (one entry may be -1).
public final class Reshape: Layer, @unchecked Sendable {
    public let targetShape: [Int]

    public init(_ targetShape: [Int], name: String? = nil) {
        self.targetShape = targetShape
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        let count = try Layer.elementCount(inputShape, "\(name): input")
        let fixed = targetShape.filter { $0 != -1 }
        let known = try Layer.elementCount(fixed, "\(name): target shape")
        let shape = targetShape.map { $0 == -1 ? count / known : $0 }
        try check(
            targetShape.count - fixed.count <= 1 && count % known == 0 && shape.reduce(1, *) == count,
            "\(name): cannot reshape \(inputShape) to \(targetShape)")
        return shape
    }

    public override func forward(_ input: Tensor) -> Tensor { input.reshaped([input.shape[0]] + targetShape) }
}

extension Reshape: SerializableLayer {
    public var config: LayerConfig { LayerConfig(["target_shape": JSONValue(targetShape)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        Reshape(try config.ints("target_shape", in: -1...LayerConfig.maxSize))
    }
}
