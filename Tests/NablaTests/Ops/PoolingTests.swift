import Nabla
import NablaTestSupport
import Testing

@Suite struct PoolingTests {
    @Test(arguments: [
        (2, 2, 2, 2, "valid"), (3, 3, 2, 2, "same"), (3, 2, 1, 2, "valid"), (3, 3, 1, 1, "same"),
        (2, 3, 2, 1, "explicit"),
    ])
    func matchesNaiveLoop(kh: Int, kw: Int, sh: Int, sw: Int, padding: String) {
        let (N, H, W, C) = (2, 7, 6, 3)
        let x = randomTensor([N, H, W, C], seed: 4)
        let pad: Padding
        let (pt, pl, oh, ow): (Int, Int, Int, Int)
        switch padding {
        case "same":
            pad = .same
            let ph = Reference.samePadding(input: H, window: kh, stride: sh, dilation: 1)
            let pw = Reference.samePadding(input: W, window: kw, stride: sw, dilation: 1)
            (pt, pl, oh, ow) = (ph.0, pw.0, ph.2, pw.2)
        case "explicit":
            pad = .explicit(top: 1, bottom: 1, left: 1, right: 0)
            (pt, pl, oh, ow) = (1, 1, (H + 2 - kh) / sh + 1, (W + 1 - kw) / sw + 1)
        default:
            pad = .valid
            (pt, pl, oh, ow) = (0, 0, (H - kh) / sh + 1, (W - kw) / sw + 1)
        }
        for isMax in [true, false] {
            let out =
                isMax
                ? maxPool2d(x, poolSize: (kh, kw), strides: (sh, sw), padding: pad)
                : avgPool2d(x, poolSize: (kh, kw), strides: (sh, sw), padding: pad)
            let expected = Reference.pool2d(
                x.toArray(), N: N, H: H, W: W, C: C, KH: kh, KW: kw, stride: (sh, sw), padTop: pt, padLeft: pl, OH: oh,
                OW: ow, isMax: isMax)
            #expect(out.shape == [N, oh, ow, C])
            expectClose(out.toArray(), expected, atol: 1e-6, isMax ? "max" : "avg")
        }
    }

    @Test func maxPoolGradientGoesToTheMaximum() {
        var x = Tensor([1, 5, 2, 3] as [Float], shape: [1, 2, 2, 1])
        x.requiresGradient = true
        maxPool2d(x).sum().backward()
        #expect(x.gradient?.toArray() == [0, 1, 0, 0])
    }

    /// With no gradient to take, max pooling keeps no argmax; its maxima are the same bits as with
    /// one: NaNs (which win, so they propagate), ties, and windows over padding alone (0).
    @Test func maxPoolWithoutArgmaxMatchesTheRecordedPath() {
        var values = randomTensor([2, 7, 6, 3], seed: 5).toArray()
        (values[4], values[40], values[10]) = (.nan, .nan, values[13])
        let x = Tensor(values, shape: [2, 7, 6, 3])
        for padding in [Padding.same, .valid, .explicit(top: 2, bottom: 1, left: 2, right: 0)] {
            let plain = maxPool2d(x, padding: padding)
            var tracked = x
            tracked.requiresGradient = true
            let recorded = maxPool2d(tracked, padding: padding)
            #expect(plain.toArray().map(\.bitPattern) == recorded.toArray().map(\.bitPattern), "\(padding)")
            #expect(plain.toArray().contains { $0.isNaN })
        }
    }

    @Test func globalAveragePoolingIsTheSpatialMean() {
        let x = Tensor((0..<8).map(Float.init), shape: [1, 2, 2, 2])
        #expect(globalAvgPool2d(x).toArray() == [3, 4])
    }
}
