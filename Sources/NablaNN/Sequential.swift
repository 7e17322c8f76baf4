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
/// `summary()` can show shapes before training; without it, on the first call.
public final class Sequential: Model, @unchecked Sendable {
    /// The layers, in order.
    public var layers: [Layer] { children }

    public init(inputShape: [Int]? = nil, name: String? = nil, @LayerBuilder _ layers: () -> [Layer]) {
        super.init(name: name)
        for layer in layers() { addChild(layer) }
        if !Sequential.buildsLater, let shape = inputShape ?? (children.first as? InputLayer)?.shape {
            ensureBuilt(inputShape: shape)
        }
    }

    @TaskLocal static var buildsLater = false

    /// Runs `body` with every ``Sequential`` it makes left unbuilt even when given an input shape,
    /// so that code which must not stop on a shape that does not fit (a model from a file, a zoo
    /// model for data of another size) can build it with ``Layer/buildChecked(inputShape:)``.
    public static func leavingUnbuilt<Result>(_ body: () throws -> Result) rethrows -> Result {
        try $buildsLater.withValue(true, operation: body)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        var shape = inputShape
        for layer in layers {
            do { shape = try layer.buildChecked(inputShape: shape) } catch var error as NablaError {
                // The path to the layer: "vgg16: block5: max_pool2d: …".
                error.message = "\(name): " + error.message
                throw error
            }
        }
        return shape
    }

    public override func forward(_ input: Tensor) -> Tensor { run(input) { $0.forward($1) } }

    public override func checkedForward(_ input: Tensor) throws -> Tensor {
        try run(input) { try $0.checkedForward($1) }
    }

    /// Runs the layers in order, each through `step`.
    private func run(_ input: Tensor, _ step: (Layer, Tensor) throws -> Tensor) rethrows -> Tensor {
        var x = input
        var i = 0
        while i < layers.count {
            // A convolution followed by max pooling runs as one op where that can pool in cache.
            if i + 1 < layers.count, let conv = layers[i] as? Conv2D, let pool = layers[i + 1] as? MaxPool2D,
                let y = conv.forward(x, thenPooledBy: pool)
            {
                x = y
                i += 2
                continue
            }
            x = try step(layers[i], x)
            i += 1
        }
        return x
    }
}

extension Sequential: SerializableLayer {
    public static var savesChildren: Bool { true }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer { Sequential { children } }
}
