import Nabla

/// Builds a list of layers from a `{ … }` block.
@resultBuilder
public enum LayerBuilder {
    public static func buildExpression(_ layer: Layer) -> [Layer] { [layer] }
    public static func buildExpression(_ layers: [Layer]) -> [Layer] { layers }
    public static func buildBlock(_ parts: [Layer]...) -> [Layer] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [Layer]?) -> [Layer] { part ?? [] }
    public static func buildEither(first: [Layer]) -> [Layer] { first }
    public static func buildEither(second: [Layer]) -> [Layer] { second }
    public static func buildArray(_ parts: [[Layer]]) -> [Layer] { parts.flatMap { $0 } }
}

/// A model that applies its layers one after another.
///
/// `Snippets/TrainFashionMNIST.swift` builds the Keras mnist_cnn this way.
///
/// With `inputShape` (per example, without the batch) every layer is built at once, so
/// ``Model/summary()`` can show shapes before training; without it, on the first call.
public final class Sequential: Model, @unchecked Sendable {
    /// The layers, in order.
    public var layers: [Layer] { children }

    public init(inputShape: [Int]? = nil, name: String? = nil, @LayerBuilder _ layers: () -> [Layer]) {
        super.init(name: name)
        for layer in layers() { addChild(layer) }
        if let inputShape { ensureBuilt(inputShape: inputShape) }
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        var shape = inputShape
        for layer in layers { shape = try layer.buildChecked(inputShape: shape) }
        return shape
    }

    public override func forward(_ input: Tensor) -> Tensor {
        var x = input
        for layer in layers { x = layer.forward(x) }
        return x
    }
}

extension Sequential: SerializableLayer {
    public static var savesChildren: Bool { true }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer { Sequential { children } }
}
