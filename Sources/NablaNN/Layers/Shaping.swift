import Nabla

/// Flattens each example to one dimension: `[batch, d1, d2, ...]` → `[batch, d1·d2·...]`.
public final class Flatten: Layer, @unchecked Sendable {
    public override func build(inputShape: [Int]) -> [Int] { [inputShape.reduce(1, *)] }
    public override func forward(_ input: Tensor) -> Tensor { input.reshaped([input.shape[0], -1]) }
}

/// Reshapes each example to `targetShape` (one entry may be -1).
public final class Reshape: Layer, @unchecked Sendable {
    public let targetShape: [Int]

    public init(_ targetShape: [Int], name: String? = nil) {
        self.targetShape = targetShape
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) -> [Int] {
        let count = inputShape.reduce(1, *)
        let known = targetShape.filter { $0 != -1 }.reduce(1, *)
        let shape = targetShape.map { $0 == -1 ? count / Swift.max(known, 1) : $0 }
        require(shape.reduce(1, *) == count, "\(name): cannot reshape \(inputShape) to \(targetShape)")
        return shape
    }

    public override func forward(_ input: Tensor) -> Tensor { input.reshaped([input.shape[0]] + targetShape) }
}

/// Pads NHWC images with zeros: `padding` rows on top and bottom, columns left and right.
public final class ZeroPadding2D: Layer, @unchecked Sendable {
    public let padding: (top: Int, bottom: Int, left: Int, right: Int)

    public init(padding: Size2D = 1, name: String? = nil) {
        self.padding = (padding.height, padding.height, padding.width, padding.width)
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) -> [Int] {
        require(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        return [
            inputShape[0] + padding.top + padding.bottom, inputShape[1] + padding.left + padding.right, inputShape[2],
        ]
    }

    public override func forward(_ input: Tensor) -> Tensor {
        input.padded([(0, 0), (padding.top, padding.bottom), (padding.left, padding.right), (0, 0)])
    }
}

/// Applies an activation function as a layer.
public final class ActivationLayer: Layer, @unchecked Sendable {
    public let activation: Activation

    public init(_ activation: Activation, name: String? = nil) {
        self.activation = activation
        super.init(name: name ?? "activation")
    }

    public override func forward(_ input: Tensor) -> Tensor { activation(input) }
}

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

/// Adds its inputs elementwise (for residual connections): `Add()([a, b])`.
public final class Add: Layer, @unchecked Sendable {
    /// Returns the elementwise sum of `inputs`, which must have equal shapes.
    public func callAsFunction(_ inputs: [Tensor]) -> Tensor {
        require(inputs.count >= 2, "\(name): needs at least two inputs, got \(inputs.count)")
        for t in inputs.dropFirst() {
            require(t.shape == inputs[0].shape, "\(name): input shapes differ, \(inputs[0].shape) and \(t.shape)")
        }
        return inputs.dropFirst().reduce(inputs[0], +)
    }
}

/// Joins its inputs along `axis` (the channel axis by default): `Concatenate()([a, b])`.
public final class Concatenate: Layer, @unchecked Sendable {
    public let axis: Int

    public init(axis: Int = -1, name: String? = nil) {
        self.axis = axis
        super.init(name: name)
    }

    /// Returns `concat(inputs, axis:)`.
    public func callAsFunction(_ inputs: [Tensor]) -> Tensor {
        require(!inputs.isEmpty, "\(name): no inputs")
        return concat(inputs, axis: axis)
    }
}
