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

    public override func build(inputShape: [Int]) -> [Int] {
        require(
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

/// Flips each image horizontally and/or vertically with probability ½ during training.
public final class RandomFlip: RandomAffineLayer, @unchecked Sendable {
    public let horizontal: Bool
    public let vertical: Bool

    public init(horizontal: Bool = true, vertical: Bool = false, name: String? = nil) {
        self.horizontal = horizontal
        self.vertical = vertical
        super.init(fill: .nearest, name: name)
    }

    override var drawsPerImage: Int { 2 }
    override func matrix(h: Int, w: Int, draws: ArraySlice<Float>) -> [Float] {
        AffineMatrix.flip(
            height: h, width: w, vertical: vertical && draws[draws.startIndex] < 0.5,
            horizontal: horizontal && draws[draws.startIndex + 1] < 0.5)
    }
}

/// Crops a random `height`×`width` window during training (from the input zero-padded by
/// `padding` on every side, the usual CIFAR recipe); a centre crop at inference.
public final class RandomCrop: RandomAffineLayer, @unchecked Sendable {
    public let height: Int
    public let width: Int
    public let padding: Int

    public init(height: Int, width: Int, padding: Int = 0, name: String? = nil) {
        require(
            height > 0 && width > 0 && padding >= 0, "RandomCrop: invalid size \(height)×\(width) or padding \(padding)"
        )
        self.height = height
        self.width = width
        self.padding = padding
        super.init(fill: .constant(0), name: name)
    }

    override var drawsPerImage: Int { 2 }
    override func outputSize(h: Int, w: Int) -> (Int, Int) { (height, width) }
    override func matrix(h: Int, w: Int, draws: ArraySlice<Float>) -> [Float] {
        AffineMatrix.crop(
            height: h, width: w, cropHeight: height, cropWidth: width, padding: padding,
            drawY: draws[draws.startIndex], drawX: draws[draws.startIndex + 1])
    }

    override func inference(_ input: Tensor) -> Tensor {
        let (h, w) = (input.shape[1], input.shape[2])
        require(h >= height && w >= width, "\(name): input \(h)×\(w) is smaller than the crop \(height)×\(width)")
        let top = (h - height) / 2, left = (w - width) / 2
        return input.slice(axis: 1, start: top, end: top + height).slice(axis: 2, start: left, end: left + width)
    }
}

/// Zooms each image by a random factor in `1 ± factor` about its centre during training
/// (above 1 zooms out), filling uncovered pixels by reflection, as Keras does.
public final class RandomZoom: RandomAffineLayer, @unchecked Sendable {
    public let factor: Float

    public init(factor: Float, fill: FillMode = .reflect, name: String? = nil) {
        require(factor >= 0 && factor < 1, "RandomZoom: factor \(factor) is outside [0, 1)")
        self.factor = factor
        super.init(fill: fill, name: name)
    }

    override var drawsPerImage: Int { 1 }
    override func matrix(h: Int, w: Int, draws: ArraySlice<Float>) -> [Float] {
        AffineMatrix.zoom(height: h, width: w, scale: 1 + factor * (2 * draws[draws.startIndex] - 1))
    }
}

/// Shifts each image by a random fraction of its size, up to `heightFactor` and `widthFactor`
/// each way, during training; uncovered pixels by reflection, as Keras does.
public final class RandomTranslation: RandomAffineLayer, @unchecked Sendable {
    public let heightFactor: Float
    public let widthFactor: Float

    public init(heightFactor: Float, widthFactor: Float, fill: FillMode = .reflect, name: String? = nil) {
        require(heightFactor >= 0 && widthFactor >= 0, "RandomTranslation: negative factor")
        self.heightFactor = heightFactor
        self.widthFactor = widthFactor
        super.init(fill: fill, name: name)
    }

    override var drawsPerImage: Int { 2 }
    override func matrix(h: Int, w: Int, draws: ArraySlice<Float>) -> [Float] {
        AffineMatrix.translation(
            dy: heightFactor * Float(h) * (2 * draws[draws.startIndex] - 1),
            dx: widthFactor * Float(w) * (2 * draws[draws.startIndex + 1] - 1))
    }
}
