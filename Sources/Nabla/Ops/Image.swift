import Foundation

// Geometric resampling of NHWC images: one affine map per image (flip, crop, zoom, translation,
// rotation) and bilinear resize. These feed data augmentation; they record no gradient.

/// What a resampled position outside the image reads.
public enum FillMode: Sendable, Equatable {
    /// A constant value.
    case constant(Float)
    /// The nearest edge pixel.
    case nearest
    /// The image mirrored about its edges (`d c b | a b c d | c b a`).
    case reflect
}

/// Returns each image of `images` resampled through its own affine map, each value then scaled and
/// shifted per channel.
///
/// `images` is `[N, H, W, C]`, float32 or uint8; `matrices` holds 6 numbers per image, `(m0 … m5)`,
/// mapping an output position `(oy, ox)` to the source position `(m0·oy + m1·ox + m2, m3·oy + m4·ox + m5)`
/// (pixel centres at integer coordinates). Each sampled value `v` of channel `c` becomes
/// `scale[c]·v + bias[c]` (one entry applies to every channel); a constant fill is written as given.
/// The result is float32 `[N, outputSize.0, outputSize.1, C]`. Maps that send whole pixels to whole
/// pixels (flips, crops, integer shifts) copy rows directly.
/// - Precondition: `matrices.count == 6 · N`; `images` does not require gradients.
public func affineResample(
    _ images: Tensor, matrices: [Float], outputSize: (Int, Int), fill: FillMode = .constant(0), nearest: Bool = false,
    scale: [Float] = [1], bias: [Float] = [0]
) -> Tensor {
    let value: Float = if case .constant(let v) = fill { v } else { 0 }
    return affineResample(
        images, matrices: matrices, outputSize: outputSize, fill: fill, fillValues: [value], nearest: nearest,
        scale: scale, bias: bias)
}

/// ``affineResample(_:matrices:outputSize:fill:nearest:scale:bias:)`` with a constant fill per channel
/// (`fillValues`, one entry or one per channel; read when `fill` is `.constant`).
package func affineResample(
    _ images: Tensor, matrices: [Float], outputSize: (Int, Int), fill: FillMode, fillValues: [Float],
    nearest: Bool = false, scale: [Float], bias: [Float]
) -> Tensor {
    require(
        images.rank == 4 && (images.dtype == .float32 || images.dtype == .uint8),
        "affineResample: expected float32 or uint8 [N, H, W, C], got \(images.dtype) \(images.shape)")
    require(
        matrices.count == 6 * images.shape[0],
        "affineResample: \(matrices.count) matrix entries for \(images.shape[0]) images (6 each)")
    require(!images.requiresGradient, "affineResample: no gradient flows through resampling; apply it to input data")
    require(outputSize.0 > 0 && outputSize.1 > 0, "affineResample: output size \(outputSize) must be positive")
    let (n, c) = (images.shape[0], images.shape[3])
    func perChannel(_ values: [Float], _ what: String) -> [Float] {
        require(
            values.count == 1 || values.count == c,
            "affineResample: \(values.count) \(what) values for \(c) channels (give 1 or \(c))")
        return values.count == c ? values : [Float](repeating: values[0], count: c)
    }
    let (scales, biases, fills) = (perChannel(scale, "scale"), perChannel(bias, "bias"), perChannel(fillValues, "fill"))
    let x = images.contiguous()
    let out = Tensor(uninitializedShape: [n, outputSize.0, outputSize.1, c], dtype: .float32, backend: x.backend)
    x.backend.affineResample(
        x, matrices: matrices, fill: fill, fills: fills, scales: scales, biases: biases, nearest: nearest, into: out)
    return out.traced(.affineResample, inputs: [images])
}

/// Returns `images` (`[N, H, W, C]`) resized to `size` with bilinear interpolation (half-pixel centres).
public func resizeBilinear(_ images: Tensor, size: (Int, Int)) -> Tensor {
    require(images.rank == 4, "resizeBilinear: expected [N, H, W, C], got \(images.shape)")
    let sy = Float(images.shape[1]) / Float(size.0), sx = Float(images.shape[2]) / Float(size.1)
    let matrix: [Float] = [sy, 0, 0.5 * sy - 0.5, 0, sx, 0.5 * sx - 0.5]
    let matrices = (0..<images.shape[0]).flatMap { _ in matrix }
    return affineResample(images, matrices: matrices, outputSize: size, fill: .nearest)
}

/// The affine maps of the usual augmentations, as the 6 numbers `affineResample(_:matrices:outputSize:fill:nearest:)`
/// takes (output position → source position), for an image of `height`×`width`.
public enum AffineMatrix {
    /// Mirrors rows (`vertical`) and/or columns (`horizontal`).
    public static func flip(height: Int, width: Int, vertical: Bool, horizontal: Bool) -> [Float] {
        [
            vertical ? -1 : 1, 0, vertical ? Float(height - 1) : 0, 0, horizontal ? -1 : 1,
            horizontal ? Float(width - 1) : 0,
        ]
    }

    /// Takes a `cropHeight`×`cropWidth` window of the image zero-padded by `padding`, placed by two
    /// uniform draws in [0, 1) over every possible position.
    /// - Precondition: the window fits the padded image.
    public static func crop(
        height: Int, width: Int, cropHeight: Int, cropWidth: Int, padding: Int, drawY: Float, drawX: Float
    ) -> [Float] {
        let rangeY = height + 2 * padding - cropHeight, rangeX = width + 2 * padding - cropWidth
        require(
            rangeY >= 0 && rangeX >= 0,
            "crop: window \(cropHeight)×\(cropWidth) is larger than the padded image \(height + 2 * padding)×\(width + 2 * padding)"
        )
        let dy = Swift.min(Int(drawY * Float(rangeY + 1)), rangeY) - padding
        let dx = Swift.min(Int(drawX * Float(rangeX + 1)), rangeX) - padding
        return [1, 0, Float(dy), 0, 1, Float(dx)]
    }

    /// Scales by `scale` about the image centre (above 1 zooms out).
    public static func zoom(height: Int, width: Int, scale s: Float) -> [Float] {
        let cy = Float(height - 1) / 2, cx = Float(width - 1) / 2
        return [s, 0, cy - s * cy, 0, s, cx - s * cx]
    }

    /// Shears by `angle` radians about the centre: each row shifts sideways by `tan(angle)` times
    /// its distance from the centre row.
    public static func shear(height: Int, width: Int, angle: Float) -> [Float] {
        let t = Float(Foundation.tan(Double(angle))), cy = Float(height - 1) / 2
        return [1, 0, 0, t, 1, -t * cy]
    }

    /// Shifts the content by whole pixels (`dy` down, `dx` right; fractions are rounded).
    public static func translation(dy: Float, dx: Float) -> [Float] { [1, 0, -dy.rounded(), 0, 1, -dx.rounded()] }
}
