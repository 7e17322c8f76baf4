import Nabla

// Random augmentation layers: active only in training, the identity (or a centre crop) at
// inference. Each draws per-image numbers from the global generator, so a seeded run repeats.

/// A layer that maps each image through a random affine transform during training.
public class RandomAffineLayer: Layer, @unchecked Sendable {
    let fill: FillMode

    init(fill: FillMode, name: String?) {
        self.fill = fill
        super.init(name: name)
    }

    /// Returns the 6 affine numbers for one image of size `h`×`w`, given uniform draws in [0, 1).
    func matrix(h: Int, w: Int, draws: ArraySlice<Float>) -> [Float] { [1, 0, 0, 0, 1, 0] }
    var drawsPerImage: Int { 0 }
    func outputSize(h: Int, w: Int) -> (Int, Int) { (h, w) }
    func inference(_ input: Tensor) -> Tensor { input }

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        let (h, w) = outputSize(h: inputShape[0], w: inputShape[1])
        return [h, w, inputShape[2]]
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard isTraining else { return inference(input) }
        let (n, h, w) = (input.shape[0], input.shape[1], input.shape[2])
        let draws = drawsPerImage > 0 ? Tensor.uniform([n * drawsPerImage]).toArray() : []
        var matrices: [Float] = []
        matrices.reserveCapacity(6 * n)
        for i in 0..<n {
            matrices += matrix(h: h, w: w, draws: draws[(i * drawsPerImage)..<((i + 1) * drawsPerImage)])
        }
        return affineResample(
            input.asType(.float32), matrices: matrices, outputSize: outputSize(h: h, w: w), fill: fill)
    }
}
