import Nabla

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
