import Nabla

/// A densely connected layer.
///
/// Computes `activation(matmul(x, weight) + bias)` for `x` of shape `[batch, inputSize]`; `weight`
/// has shape `[inputSize, units]` and starts Glorot-uniform, `bias` starts at zero. Inputs of higher
/// rank are multiplied along their last axis.
public final class Dense: Layer, @unchecked Sendable {
    public let units: Int
    public let activation: Activation
    public let useBias: Bool
    let kernelInitializer: Initializer
    let biasInitializer: Initializer
    public private(set) var weight: Parameter?
    public private(set) var bias: Parameter?

    public init(
        units: Int, activation: Activation = .linear, useBias: Bool = true,
        kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros, name: String? = nil
    ) {
        require(units > 0, "Dense: units must be positive, got \(units)")
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) -> [Int] {
        require(
            !inputShape.isEmpty,
            "\(name): Dense needs inputs of rank ≥ 2 ([batch, features]), got a per-example shape \(inputShape)")
        weight = addParameter("weight", kernelInitializer([inputShape[inputShape.count - 1], units]))
        if useBias { bias = addParameter("bias", biasInitializer([units])) }
        return Array(inputShape.dropLast()) + [units]
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard let weight else { misuse("\(name): used before it was built") }
        var y = matmul(input, weight.value)
        if let bias { y = y + bias.value }
        return activation(y)
    }
}
