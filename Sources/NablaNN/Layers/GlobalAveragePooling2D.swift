import Nabla

/// The mean over the spatial axes: `[batch, H, W, C]` → `[batch, C]`.
public final class GlobalAveragePooling2D: Layer, @unchecked Sendable {
    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        return [inputShape[2]]
    }

    public override func forward(_ input: Tensor) -> Tensor { globalAvgPool2d(input) }
}

extension GlobalAveragePooling2D: SerializableLayer {
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer { GlobalAveragePooling2D() }
}
