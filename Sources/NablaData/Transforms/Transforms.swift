import Foundation
import Nabla

/// A batch transform: preprocessing or augmentation applied to whole batches, NHWC.
///
/// Random transforms draw from the generator they are given (one per batch from the loader), so
/// a seeded pipeline repeats exactly.
public protocol Transform: Sendable {
    /// Returns the transformed batch.
    func callAsFunction(_ batch: Batch, generator: RandomGenerator) -> Batch
}

/// Applies transforms in order.
///
/// Consecutive rescaling, normalisation, flips and (at most one other) geometric augmentation run
/// as one pass over the batch: their affine maps are multiplied and their per-channel scales folded,
/// so a pipeline such as rescale → flip → crop → normalise reads each byte once and writes each float
/// once. The result equals applying the transforms one by one, up to float rounding, and draws the
/// same random numbers.
public struct Compose: Transform {
    public let transforms: [any Transform]
    public init(_ transforms: [any Transform]) { self.transforms = transforms }
    public func callAsFunction(_ batch: Batch, generator: RandomGenerator) -> Batch {
        var batch = batch
        var run = FusedRun()
        for transform in transforms {
            if let stage = (transform as? any FusableTransform)?.stage, run.accepts(stage) {
                run.stages.append(stage)
                continue
            }
            batch = run.apply(batch, generator: generator)
            run = FusedRun()
            if let stage = (transform as? any FusableTransform)?.stage {
                run.stages.append(stage)
            } else {
                batch = transform(batch, generator: generator)
            }
        }
        return run.apply(batch, generator: generator)
    }
}

/// Converts images to float32 and multiplies them by `scale` (1/255 by default: bytes to [0, 1]).
///
/// Only for a model without a `Rescaling` layer of its own: Nabla's convention is that data stays
/// raw (0–255) and the model rescales it (every zoo model starts with `Rescaling(1/255)`), which
/// is what a saved model expects of an image. Scaling in both places divides twice; `fit` refuses
/// such data.
public struct Rescale: FusableTransform {
    public let scale: Float
    public init(scale: Float = 1.0 / 255) { self.scale = scale }
    var stage: FusedRun.Stage { .pointwise(scale: [scale], bias: [0]) }
}

/// Per-channel standardisation: `(x − mean[c]) / std[c]`.
public struct Normalize: FusableTransform {
    public let mean: [Float], standardDeviation: [Float]
    public init(mean: [Float], standardDeviation: [Float]) {
        require(
            mean.count == standardDeviation.count && standardDeviation.allSatisfy { $0 > 0 },
            "Normalize: \(mean.count) means and \(standardDeviation.count) positive deviations expected")
        (self.mean, self.standardDeviation) = (mean, standardDeviation)
    }
    var stage: FusedRun.Stage {
        .pointwise(scale: standardDeviation.map { 1 / $0 }, bias: zip(mean, standardDeviation).map { -$0 / $1 })
    }
}

/// Subtracts a mean image `[H, W, C]` from every image (Caffe's mean-image normalisation).
public struct SubtractMeanImage: Transform {
    public let meanImage: Tensor
    public init(_ meanImage: Tensor) { self.meanImage = meanImage }
    public func callAsFunction(_ batch: Batch, generator: RandomGenerator) -> Batch {
        Batch(images: batch.images.asType(.float32) - meanImage, labels: batch.labels)
    }
}

/// Per-channel statistics of a dataset and its mean image, computed in one streaming pass.
public struct DatasetStatistics: Sendable {
    /// The mean of each channel over all pixels and images.
    public var mean: [Float]
    /// The (population) standard deviation of each channel.
    public var standardDeviation: [Float]
    /// The mean image, `[H, W, C]`.
    public var meanImage: Tensor

    /// Computes the statistics of `images` (`[N, H, W, C]`), `chunk` images at a time.
    public init(images: Tensor, chunk: Int = 1024) {
        self.init(count: images.shape[0], imageShape: Array(images.shape.dropFirst()), chunk: chunk) {
            images.slice(axis: 0, start: $0, end: $1)
        }
    }

    /// Computes the statistics of every image of `dataset`, reading `chunk` images at a time, so a
    /// set larger than memory needs no more than one chunk of it.
    ///
    /// - Throws: `NablaError` when an image cannot be read.
    public init(dataset: any Dataset, chunk: Int = 1024) throws {
        guard dataset.count > 0 else {
            throw NablaError(.invalidArgument, "cannot compute statistics of an empty dataset")
        }
        let shape = Array(try dataset.batch(at: [0]).images.shape.dropFirst())
        try self.init(count: dataset.count, imageShape: shape, chunk: chunk) {
            try dataset.batch(at: Array($0..<$1)).images
        }
    }

    private init(count n: Int, imageShape: [Int], chunk: Int, images: (Int, Int) throws -> Tensor) rethrows {
        let (h, w, c) = (imageShape[0], imageShape[1], imageShape[2])
        var sumImage = Tensor.zeros([h, w, c])
        var sum = [Double](repeating: 0, count: c), squares = sum
        try withoutGradients {
            for start in stride(from: 0, to: n, by: chunk) {
                let x = try images(start, Swift.min(n, start + chunk)).asType(.float32)
                sumImage = sumImage + x.sum(axes: [0])
                for (i, v) in x.sum(axes: [0, 1, 2]).toArray().enumerated() { sum[i] += Double(v) }
                for (i, v) in x.square().sum(axes: [0, 1, 2]).toArray().enumerated() { squares[i] += Double(v) }
            }
        }
        let pixels = Double(n * h * w)
        mean = sum.map { Float($0 / pixels) }
        standardDeviation = zip(sum, squares).map { s, q in
            Float(Swift.max(q / pixels - (s / pixels) * (s / pixels), 0).squareRoot())
        }
        meanImage = sumImage / Float(Swift.max(n, 1))
    }
}

/// Equalises each image's histogram per channel (values in [0, 255], as bytes or floats):
/// each value maps to `255 · (cdf(v) − cdf_min) / (count − cdf_min)`, spreading contrast evenly.
public struct HistogramEqualization: Transform {
    public init() {}
    public func callAsFunction(_ batch: Batch, generator: RandomGenerator) -> Batch {
        let x = batch.images.asType(.float32).contiguous()
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var values = x.toArray()
        for image in 0..<n {
            for channel in 0..<c {
                var histogram = [Int](repeating: 0, count: 256)
                for p in 0..<(h * w) {
                    histogram[Int(Swift.min(Swift.max(values[(image * h * w + p) * c + channel], 0), 255))] += 1
                }
                var cdf = histogram
                for i in 1..<256 { cdf[i] += cdf[i - 1] }
                let first = cdf.first { $0 > 0 } ?? 0, total = h * w
                for p in 0..<(h * w) {
                    let at = (image * h * w + p) * c + channel
                    let v = Int(Swift.min(Swift.max(values[at], 0), 255))
                    values[at] =
                        total > first ? (255 * Float(cdf[v] - first) / Float(total - first)).rounded() : values[at]
                }
            }
        }
        return Batch(images: Tensor(values, shape: x.shape), labels: batch.labels)
    }
}

/// A random affine map per image (flip, crop, zoom…), for ``affineResample(_:matrices:outputSize:fill:nearest:scale:bias:)``.
struct AffineTransform: FusableTransform {
    let fill: FillMode
    let size: (@Sendable (Int, Int) -> (Int, Int))?
    let draws: Int
    /// A flip: a permutation of the pixels that never reads outside the image.
    var isFlip = false
    let matrix: @Sendable (_ h: Int, _ w: Int, _ r: ArraySlice<Float>) -> [Float]

    var stage: FusedRun.Stage { .geometric(self) }
}

/// Transforms built on affine resampling.
public enum Augment {
    /// Flips each image left-right with probability `probability`.
    public static func horizontalFlip(probability: Float = 0.5) -> any Transform {
        AffineTransform(fill: .nearest, size: nil, draws: 1, isFlip: true) { _, w, r in
            AffineMatrix.flip(height: 0, width: w, vertical: false, horizontal: r[r.startIndex] < probability)
        }
    }

    /// Flips each image upside down with probability `probability`.
    public static func verticalFlip(probability: Float = 0.5) -> any Transform {
        AffineTransform(fill: .nearest, size: nil, draws: 1, isFlip: true) { h, _, r in
            AffineMatrix.flip(height: h, width: 0, vertical: r[r.startIndex] < probability, horizontal: false)
        }
    }

    /// Crops a random `height`×`width` window from each image zero-padded by `padding`.
    public static func randomCrop(height: Int, width: Int, padding: Int = 0) -> any Transform {
        AffineTransform(fill: .constant(0), size: { _, _ in (height, width) }, draws: 2) { h, w, r in
            AffineMatrix.crop(
                height: h, width: w, cropHeight: height, cropWidth: width, padding: padding, drawY: r[r.startIndex],
                drawX: r[r.startIndex + 1])
        }
    }

    /// Crops the central `height`×`width` window.
    public static func centerCrop(height: Int, width: Int) -> any Transform {
        AffineTransform(fill: .constant(0), size: { _, _ in (height, width) }, draws: 0) { h, w, _ in
            [1, 0, Float((h - height) / 2), 0, 1, Float((w - width) / 2)]
        }
    }

    /// Resizes every image to `height`×`width`, bilinear.
    public static func resize(height: Int, width: Int) -> any Transform {
        AffineTransform(fill: .nearest, size: { _, _ in (height, width) }, draws: 0) { h, w, _ in
            let sy = Float(h) / Float(height), sx = Float(w) / Float(width)
            return [sy, 0, 0.5 * sy - 0.5, 0, sx, 0.5 * sx - 0.5]
        }
    }

    /// Zooms by a random factor in `1 ± factor` about the centre (above 1 zooms out).
    public static func randomZoom(factor: Float, fill: FillMode = .reflect) -> any Transform {
        AffineTransform(fill: fill, size: nil, draws: 1) { h, w, r in
            AffineMatrix.zoom(height: h, width: w, scale: 1 + factor * (2 * r[r.startIndex] - 1))
        }
    }

    /// Shifts by up to `fraction` of the size each way.
    public static func randomTranslation(fraction: Float, fill: FillMode = .reflect) -> any Transform {
        AffineTransform(fill: fill, size: nil, draws: 2) { h, w, r in
            AffineMatrix.translation(
                dy: fraction * Float(h) * (2 * r[r.startIndex] - 1),
                dx: fraction * Float(w) * (2 * r[r.startIndex + 1] - 1))
        }
    }

    /// Shears by a random angle in `±maxDegrees` about the centre (Keras's `shear_range`).
    public static func randomShear(maxDegrees: Float, fill: FillMode = .constant(0)) -> any Transform {
        AffineTransform(fill: fill, size: nil, draws: 1) { h, w, r in
            AffineMatrix.shear(height: h, width: w, angle: maxDegrees * (2 * r[r.startIndex] - 1) * Float.pi / 180)
        }
    }

    /// Rotates by a random angle in `±maxDegrees` about the centre.
    public static func randomRotation(maxDegrees: Float, fill: FillMode = .constant(0)) -> any Transform {
        AffineTransform(fill: fill, size: nil, draws: 1) { h, w, r in
            let angle = maxDegrees * (2 * r[r.startIndex] - 1) * Float.pi / 180
            let (c, s) = (cos(angle), sin(angle))
            let cy = Float(h - 1) / 2, cx = Float(w - 1) / 2
            // Source = R · (output − centre) + centre.
            return [c, -s, cy - c * cy + s * cx, s, c, cx - s * cy - c * cx]
        }
    }
}

/// Sets a random `size`×`size` square of each image to `value` with probability `probability`
/// (cutout / random erasing). - Paper: https://arxiv.org/abs/1708.04552
public struct RandomErasing: Transform {
    public let size: Int, probability: Float, value: Float
    public init(size: Int, probability: Float = 0.5, value: Float = 0) {
        (self.size, self.probability, self.value) = (size, probability, value)
    }

    public func callAsFunction(_ batch: Batch, generator: RandomGenerator) -> Batch {
        let x = batch.images.asType(.float32).contiguous()
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let r = Tensor.uniform([n * 3], generator: generator).toArray()
        var values = x.toArray()
        for i in 0..<n where r[3 * i] < probability {
            let top = Int(r[3 * i + 1] * Float(h)) - size / 2, left = Int(r[3 * i + 2] * Float(w)) - size / 2
            for y in Swift.max(top, 0)..<Swift.min(top + size, h) where y >= 0 {
                for xx in Swift.max(left, 0)..<Swift.max(Swift.min(left + size, w), Swift.max(left, 0)) {
                    for ch in 0..<c { values[((i * h + y) * w + xx) * c + ch] = value }
                }
            }
        }
        return Batch(images: Tensor(values, shape: x.shape), labels: batch.labels)
    }
}

/// Scales brightness and contrast by random factors in `1 ± brightness` and `1 ± contrast`:
/// `x' = (x − mean)·contrast + mean·brightness`, per image.
public struct ColorJitter: Transform {
    public let brightness: Float, contrast: Float
    public init(brightness: Float = 0, contrast: Float = 0) {
        (self.brightness, self.contrast) = (brightness, contrast)
    }

    public func callAsFunction(_ batch: Batch, generator: RandomGenerator) -> Batch {
        let x = batch.images.asType(.float32)
        let n = x.shape[0]
        let r = Tensor.uniform([n, 2], low: -1, high: 1, generator: generator)
        let b = (r.slice(axis: 1, end: 1) * brightness + 1).reshaped([n, 1, 1, 1])
        let k = (r.slice(axis: 1, start: 1) * contrast + 1).reshaped([n, 1, 1, 1])
        let mean = x.mean(axes: [1, 2, 3], keepDims: true)
        return Batch(images: (x - mean) * k + mean * b, labels: batch.labels)
    }
}

/// Layout conversions between channels-last (NHWC, Nabla's) and channels-first (NCHW).
public enum Layout {
    /// Returns `[N, H, W, C]` images as `[N, C, H, W]` (a copy).
    public static func toCHW(_ images: Tensor) -> Tensor {
        require(images.rank == 4, "toCHW: expected [N, H, W, C], got \(images.shape)")
        return images.permuted([0, 3, 1, 2]).contiguous()
    }

    /// Returns `[N, C, H, W]` images as `[N, H, W, C]` (a copy).
    public static func toHWC(_ images: Tensor) -> Tensor {
        require(images.rank == 4, "toHWC: expected [N, C, H, W], got \(images.shape)")
        return images.permuted([0, 2, 3, 1]).contiguous()
    }
}

extension InMemoryDataset {
    /// Returns the class names of the most probable class in each row of `predictions` (`[N, classes]`).
    public func classNames(for predictions: Tensor) -> [String] {
        predictions.argmax(axis: -1).toArray(Int64.self).map { classNames[Int($0)] }
    }
}
