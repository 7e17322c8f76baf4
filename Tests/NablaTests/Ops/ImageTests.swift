import Nabla
import NablaTestSupport
import Testing

@Suite struct ImageTests {
    /// Maps for a 5×6 source: whole-pixel ones (identity, flips, padded crops, both directions)
    /// and interpolating ones (rotation, zoom, a fractional shift).
    static let maps: [(String, [Float])] = [
        ("identity", [1, 0, 0, 0, 1, 0]),
        ("flip both", [-1, 0, 4, 0, -1, 5]),
        ("crop padded", [1, 0, -2, 0, 1, 1]),
        ("flip and crop", [1, 0, 1, 0, -1, 7]),
        ("far outside", [1, 0, 9, 0, 1, -20]),
        ("rotation", [0.8, -0.6, 1.3, 0.6, 0.8, -0.9]),
        ("zoom", [1.4, 0, -0.8, 0, 1.4, -1]),
        ("half-pixel shift", [1, 0, 0.5, 0, 1, -0.25]),
    ]

    @Test(arguments: ["constant", "nearest", "reflect"], [1, 3])
    func resampleMatchesNaiveLoop(fill: String, channels: Int) {
        let (n, h, w, oh, ow) = (Self.maps.count, 5, 6, 4, 7)
        let bytes = (0..<(n * h * w * channels)).map { UInt8(($0 * 37 + 11) % 256) }
        let matrices = Self.maps.flatMap(\.1)
        let scale: [Float] = channels == 1 ? [0.5] : [0.5, -2, 1.0 / 255]
        let bias: [Float] = channels == 1 ? [-3] : [-3, 1, 0.25]
        let constant: [Float] = channels == 1 ? [7] : [7, -1, 0.5]
        let mode: FillMode = fill == "constant" ? .constant(0) : fill == "nearest" ? .nearest : .reflect
        let expected = Reference.affineResample(
            bytes.map(Float.init), N: n, H: h, W: w, C: channels, matrices: matrices, OH: oh, OW: ow, fill: fill,
            constant: constant, scale: scale, bias: bias)
        for dtype in [DType.uint8, .float32] {
            let images = Tensor(bytes, shape: [n, h, w, channels]).asType(dtype)
            let out = affineResample(
                images, matrices: matrices, outputSize: (oh, ow), fill: mode, fillValues: constant, scale: scale,
                bias: bias)
            #expect(out.shape == [n, oh, ow, channels])
            let got = out.toArray()
            for (i, (name, _)) in Self.maps.enumerated() {
                let per = oh * ow * channels
                expectClose(
                    Array(got[(i * per)..<((i + 1) * per)]), Array(expected[(i * per)..<((i + 1) * per)]), atol: 1e-3,
                    "\(name), \(fill), \(dtype)")
            }
        }
    }

    @Test func publicConstantFillIsWrittenAsGiven() {
        let x = Tensor.ones([1, 2, 2, 1])
        let out = affineResample(x, matrices: [1, 0, -1, 0, 1, 0], outputSize: (2, 2), fill: .constant(9), scale: [2])
        #expect(out.toArray() == [9, 9, 2, 2])
    }
}
