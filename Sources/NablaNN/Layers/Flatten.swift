import Nabla

/// Flattens each example to one dimension: `[batch, d1, d2, ...]` → `[batch, d1·d2·...]`.
public final class Flatten: Layer, @unchecked Sendable {
    public override func build(inputShape: [Int]) throws -> [Int] { [inputShape.reduce(1, *)] }
    public override func forward(_ input: Tensor) -> Tensor { input.reshaped([input.shape[0], -1]) }
}

extension Flatten: SerializableLayer {
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer { Flatten() }
}
