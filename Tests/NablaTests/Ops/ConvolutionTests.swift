import Nabla
import NablaTestSupport
import Testing

/// conv2d against the naive loop, over every combination of padding, stride, dilation and groups,
/// with 6 and with 24 input channels (window rows of 48 floats: read in place on AVX2).
@Suite struct ConvolutionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let padding: String
        let stride: (Int, Int)
        let dilation: (Int, Int)
        let groups: Int
        var testDescription: String { "\(padding) stride \(stride) dilation \(dilation) groups \(groups)" }
    }

    static let cases: [Case] = {
        var list: [Case] = []
        for padding in ["valid", "same", "explicit"] {
            for stride in [(1, 1), (2, 2), (1, 3)] {
                for dilation in [(1, 1), (2, 1)] {
                    for groups in [1, 2, 6] {
                        list.append(Case(padding: padding, stride: stride, dilation: dilation, groups: groups))
                    }
                }
            }
        }
        return list
    }()

    @Test(arguments: cases)
    func matchesNaiveLoop(_ c: Case) {
        for C in [6, 24] { checkAgainstNaiveLoop(c, channels: C, filters: c.groups == 6 ? 12 : 4) }
    }

    /// conv2d of a 2×9×8×C input and a 3×2 filter (or `window`) against the naive loop for case `c`
    /// (with `dilation` in place of the case's when given); returns the operands and the output.
    @discardableResult
    func checkAgainstNaiveLoop(
        _ c: Case, channels C: Int, filters K: Int, dilation: (Int, Int)? = nil, seeds: (UInt64, UInt64) = (1, 2),
        window: (Int, Int) = (3, 2)
    ) -> (x: Tensor, w: Tensor, padding: Padding, out: Tensor) {
        let (N, H, W, KH, KW) = (2, 9, 8, window.0, window.1)
        let dilation = dilation ?? c.dilation
        let x = randomTensor([N, H, W, C], seed: seeds.0), w = randomTensor([KH, KW, C / c.groups, K], seed: seeds.1)
        let padding: Padding
        let pads: (top: Int, left: Int, oh: Int, ow: Int)
        let effH = (KH - 1) * dilation.0 + 1, effW = (KW - 1) * dilation.1 + 1
        switch c.padding {
        case "same":
            padding = .same
            let ph = Reference.samePadding(input: H, window: KH, stride: c.stride.0, dilation: dilation.0)
            let pw = Reference.samePadding(input: W, window: KW, stride: c.stride.1, dilation: dilation.1)
            pads = (ph.0, pw.0, ph.2, pw.2)
        case "explicit":
            padding = .explicit(top: 2, bottom: 1, left: 0, right: 3)
            pads = (2, 0, (H + 3 - effH) / c.stride.0 + 1, (W + 3 - effW) / c.stride.1 + 1)
        default:
            padding = .valid
            pads = (0, 0, (H - effH) / c.stride.0 + 1, (W - effW) / c.stride.1 + 1)
        }
        let out = conv2d(x, w, strides: c.stride, padding: padding, dilation: dilation, groups: c.groups)
        #expect(out.shape == [N, pads.oh, pads.ow, K])
        let expected = Reference.conv2d(
            x.toArray(), w.toArray(), N: N, H: H, W: W, C: C, KH: KH, KW: KW, K: K, stride: c.stride,
            padTop: pads.top, padLeft: pads.left, OH: pads.oh, OW: pads.ow, dilation: dilation, groups: c.groups)
        expectClose(out.toArray(), expected, atol: 1e-5)
        return (x, w, padding, out)
    }

    /// 3×3, stride-1 convolutions of 8 or more channels run by Winograd F(2×2, 3×3): against the
    /// naive loop with every padding (odd output sizes: a last tile of one row or column), channel
    /// counts that are not multiples of eight, and with the bias and ReLU, which must match the
    /// separate ops bit for bit.
    @Test(arguments: ["valid", "same", "explicit"])
    func winogradMatchesNaiveLoop(padding: String) {
        let c = Case(padding: padding, stride: (1, 1), dilation: (1, 1), groups: 1)
        for (C, K) in [(8, 8), (12, 20), (32, 64)] {
            let (x, w, pad, out) = checkAgainstNaiveLoop(c, channels: C, filters: K, window: (3, 3))
            let b = randomTensor([K], seed: 3)
            let fused = withoutGradients { conv2d(x, w, bias: b, relu: true, padding: pad) }
            #expect(fused.toArray() == (out + b).relu().toArray(), "C \(C), K \(K)")
        }
    }

    /// The input gradient of a Winograd layer (itself a Winograd convolution of the output gradient
    /// with the flipped filters) against the naive sum, with a weighted output gradient, for every
    /// padding and odd sizes.
    @Test(arguments: ["valid", "same", "explicit"])
    func winogradInputGradientMatchesTheNaiveSum(padding: String) {
        let (N, H, W, C, K) = (2, 9, 8, 12, 20)
        let pad: Padding =
            padding == "same" ? .same : padding == "valid" ? .valid : .explicit(top: 2, bottom: 1, left: 0, right: 2)
        let (top, left) = padding == "same" ? (1, 1) : padding == "valid" ? (0, 0) : (2, 0)
        var x = randomTensor([N, H, W, C], seed: 51)
        x.requiresGradient = true
        let w = randomTensor([3, 3, C, K], seed: 52)
        let y = conv2d(x, w, padding: pad)
        let r = randomTensor(y.shape, seed: 53)
        (y * r).sum().backward()
        let (OH, OW) = (y.shape[1], y.shape[2])
        let (rs, ws) = (r.toArray(), w.toArray())
        var expected = [Float](repeating: 0, count: N * H * W * C)
        for n in 0..<N {
            for oh in 0..<OH {
                for ow in 0..<OW {
                    for kh in 0..<3 {
                        for kw in 0..<3 {
                            let (ih, iw) = (oh - top + kh, ow - left + kw)
                            guard (0..<H).contains(ih), (0..<W).contains(iw) else { continue }
                            for c in 0..<C {
                                for k in 0..<K {
                                    expected[((n * H + ih) * W + iw) * C + c] +=
                                        rs[((n * OH + oh) * OW + ow) * K + k] * ws[((kh * 3 + kw) * C + c) * K + k]
                                }
                            }
                        }
                    }
                }
            }
        }
        expectClose(x.gradient?.toArray() ?? [], expected, atol: 1e-5)
    }

    /// At inference the transformed Winograd filters are kept for the weights they were made from;
    /// weights changed in place are transformed again, never served stale.
    @Test func winogradFiltersKeptAtInferenceFollowWeightsChangedInPlace() {
        let x = randomTensor([2, 9, 8, 12], seed: 61), w = randomTensor([3, 3, 12, 16], seed: 62)
        for step in 0..<3 {
            let kept = withoutGradients { conv2d(x, w) }
            #expect(kept.toArray() == conv2d(x, w).toArray(), "step \(step)")  // recording: transformed afresh
            w.assign(w * 0.5 + Float(step + 1))
        }
    }

    @Test func pointwiseConvolutionIsAPlainProduct() {
        let x = randomTensor([2, 3, 4, 5], seed: 3), w = randomTensor([1, 1, 5, 7], seed: 4)
        let expected = Reference.conv2d(
            x.toArray(), w.toArray(), N: 2, H: 3, W: 4, C: 5, KH: 1, KW: 1, K: 7, stride: (1, 1), padTop: 0,
            padLeft: 0, OH: 3, OW: 4, dilation: (1, 1), groups: 1)
        expectClose(conv2d(x, w).toArray(), expected, atol: 1e-5)
    }

    @Test("mnist_cnn first layers: 28×28×1→32 and 26×26×32→64, forward and backward")
    func kerasMnistCnnShapes() {
        let x = randomTensor([2, 28, 28, 1], seed: 5), w1 = randomTensor([3, 3, 1, 32], low: -0.3, high: 0.3, seed: 6)
        let h = conv2d(x, w1)
        expectClose(
            h.toArray(),
            Reference.conv2d(
                x.toArray(), w1.toArray(), N: 2, H: 28, W: 28, C: 1, KH: 3, KW: 3, K: 32, stride: (1, 1), padTop: 0,
                padLeft: 0, OH: 26, OW: 26, dilation: (1, 1), groups: 1), atol: 1e-5)
        let w2 = randomTensor([3, 3, 32, 64], low: -0.1, high: 0.1, seed: 7)
        var xv = h.detached()
        xv.requiresGradient = true
        var wv = w2
        wv.requiresGradient = true
        let y = conv2d(xv, wv)
        #expect(y.shape == [2, 24, 24, 64])
        y.sum().backward()
        // d(sum)/dW[kh,kw,c,k] = Σ over output pixels of the input under the window: independent of k.
        let xs = h.toArray()
        var expected = [Float](repeating: 0, count: 3 * 3 * 32)
        for n in 0..<2 {
            for oh in 0..<24 {
                for ow in 0..<24 {
                    for kh in 0..<3 {
                        for kw in 0..<3 {
                            for c in 0..<32 {
                                expected[(kh * 3 + kw) * 32 + c] += xs[((n * 26 + oh + kh) * 26 + ow + kw) * 32 + c]
                            }
                        }
                    }
                }
            }
        }
        let dw = wv.gradient?.reshaped([288, 64]).slice(axis: 1, start: 5, end: 6).flattened().toArray() ?? []
        expectClose(dw, expected, rtol: 1e-4, atol: 1e-3)
    }

    /// A one-channel input (a grayscale first layer: windows of a few floats, so im2col and a short
    /// product) against the naive loop over padding, stride and dilation, with 8 filters and with 32
    /// (dilated along W too); bias and ReLU fused give bit for bit what the separate ops give.
    @Test(arguments: cases.filter { $0.groups == 1 })
    func oneChannelInputMatchesNaiveLoop(_ c: Case) {
        for (K, dilation) in [(8, c.dilation), (32, (c.dilation.0, 2))] {
            let (x, w, padding, out) = checkAgainstNaiveLoop(
                c, channels: 1, filters: K, dilation: dilation, seeds: (41, 42))
            let b = randomTensor([K], seed: 43)
            let fused = withoutGradients {
                conv2d(x, w, bias: b, relu: true, strides: c.stride, padding: padding, dilation: dilation)
            }
            #expect(fused.toArray() == (out + b).relu().toArray(), "\(c), \(K) filters, dilation \(dilation)")
        }
    }

    /// The filter gradient against the naive sum, for shapes whose unfolded input is packed row by
    /// row for the product: 625 and 361 output pixels per image (K blocks of the product that do not
    /// divide them evenly) and windows of 72 and 45 floats (a partial panel of sixteen); and by
    /// Winograd (12 and 16 channels into 20 and 8 filters: odd and even output sizes, channel tails,
    /// images of more than one chunk of tiles).
    @Test(arguments: [(27, 8, 4), (21, 5, 4), (13, 12, 20), (20, 16, 8)])
    func filterGradientMatchesTheNaiveSum(size: Int, channels C: Int, filters K: Int) {
        let (N, O) = (2, size - 2)
        let x = randomTensor([N, size, size, C], seed: 31), g = randomTensor([N, O, O, K], seed: 32)
        var w = randomTensor([3, 3, C, K], seed: 33)
        w.requiresGradient = true
        (conv2d(x, w) * g).sum().backward()
        let (xs, gs) = (x.toArray(), g.toArray())
        var expected = [Float](repeating: 0, count: 9 * C * K)
        for n in 0..<N {
            for oh in 0..<O {
                for ow in 0..<O {
                    for kh in 0..<3 {
                        for kw in 0..<3 {
                            for c in 0..<C {
                                let v = xs[((n * size + oh + kh) * size + ow + kw) * C + c]
                                for k in 0..<K {
                                    expected[((kh * 3 + kw) * C + c) * K + k] += v * gs[((n * O + oh) * O + ow) * K + k]
                                }
                            }
                        }
                    }
                }
            }
        }
        expectClose(w.gradient?.toArray() ?? [], expected, rtol: 1e-4, atol: 1e-4)
    }

    /// The fused bias and ReLU give bit for bit what the convolution, an addition and a ReLU give
    /// one after the other, for a general convolution (12 channels: window rows read in place, with
    /// tiles partly inside and partly gathered; 24 filters: a full and a partial panel of the
    /// micro-kernel, which applies them), a pointwise and a depthwise one.
    @Test(arguments: [(3, 1, 24), (1, 1, 8), (3, 4, 24)])
    func fusedBiasAndReluMatchTheUnfusedOps(kernel: Int, groupsFactor: Int, filters: Int) {
        let channels = 12
        let groups = groupsFactor == 1 ? 1 : channels
        let x = randomTensor([2, 9, 9, channels], seed: 21)
        let w = randomTensor([kernel, kernel, channels / groups, filters], seed: 22)
        let b = randomTensor([filters], seed: 23)
        for relu in [false, true] {
            let fused = withoutGradients {
                conv2d(x, w, bias: b, relu: relu, padding: .same, groups: groups)
            }
            let sum = conv2d(x, w, padding: .same, groups: groups) + b
            let composed = relu ? sum.relu() : sum
            #expect(fused.toArray() == composed.toArray(), "kernel \(kernel), groups \(groups), relu \(relu)")
        }
    }

    /// A batch is cut into chunks of rows (forward) and of images (backward) that depend on its
    /// size and the thread count; each image comes out bit for bit the same alone as inside a
    /// batch of five, forward and for both gradients of the inputs, for a plain and a grouped
    /// convolution: the chunking cannot change a result.
    @Test(arguments: [1, 2])
    func imagesComeOutTheSameAloneAsInABatch(groups: Int) {
        let x = randomTensor([5, 11, 13, 6], seed: 31)
        let w = randomTensor([3, 3, 6 / groups, 10], seed: 32)
        func run(_ input: Tensor) -> (out: [Float], dx: [Float]) {
            var xv = input.detached()
            xv.requiresGradient = true
            let y = conv2d(xv, w, padding: .same, groups: groups)
            (y * y).sum().backward()
            return (y.toArray(), xv.gradient?.toArray() ?? [])
        }
        let batch = run(x)
        let (outPer, inPer) = (11 * 13 * 10, 11 * 13 * 6)
        for n in 0..<5 {
            let alone = run(x.slice(axis: 0, start: n, end: n + 1).contiguous())
            #expect(alone.out == Array(batch.out[n * outPer..<(n + 1) * outPer]), "image \(n), output")
            #expect(alone.dx == Array(batch.dx[n * inPer..<(n + 1) * inPer]), "image \(n), input gradient")
        }
    }

    /// Recorded, the fused convolution is one op whose backward masks the gradient by the ReLU
    /// and sums it for the bias, chunk by chunk: its output and the input and filter gradients
    /// are bit for bit those of the three ops run one after the other, and the bias gradient
    /// (summed image by image, then over the images) agrees to rounding.
    @Test(arguments: [(3, 1), (3, 4), (1, 1)])
    func fusedRecordedGradientsMatchTheUnfusedOps(kernel: Int, groups: Int) {
        let x = randomTensor([2, 7, 8, 4], seed: 41)
        let w = randomTensor([kernel, kernel, 4 / groups, 8], seed: 42)
        let b = randomTensor([8], low: -0.5, high: 0.5, seed: 43)
        for relu in [false, true] {
            var grads: [[[Float]]] = []
            var outputs: [[Float]] = []
            for fused in [true, false] {
                var (xv, wv, bv) = (x.detached(), w.detached(), b.detached())
                xv.requiresGradient = true
                wv.requiresGradient = true
                bv.requiresGradient = true
                var y: Tensor
                if fused {
                    y = conv2d(xv, wv, bias: bv, relu: relu, padding: .same, groups: groups)
                } else {
                    y = conv2d(xv, wv, padding: .same, groups: groups) + bv
                    if relu { y = y.relu() }
                }
                (y * y).sum().backward()
                outputs.append(y.toArray())
                grads.append([xv, wv, bv].map { $0.gradient?.toArray() ?? [] })
            }
            #expect(outputs[0] == outputs[1], "output, relu \(relu)")
            #expect(grads[0][0] == grads[1][0] && grads[0][1] == grads[1][1], "gradients, relu \(relu)")
            expectClose(grads[0][2], grads[1][2], atol: 1e-4, "bias gradient, relu \(relu)")
            #expect(grads[0].allSatisfy { !$0.isEmpty })
        }
    }

    /// Pooled as one op, the convolution gives the same bits as conv2d and then maxPool2d: image by
    /// image in cache (five images, 36-float window rows), and one after the other (one image;
    /// grouped; 1×1), with output sizes the pool does not divide, with and without bias and ReLU.
    @Test(arguments: [(5, 3, 1), (1, 3, 1), (5, 3, 4), (5, 1, 1)])
    func pooledConvolutionMatchesTheTwoOps(images: Int, kernel: Int, groups: Int) {
        let x = randomTensor([images, 13, 14, 12], seed: 41)
        let w = randomTensor([kernel, kernel, 12 / groups, 24], seed: 42)
        let b = randomTensor([24], seed: 43)
        for (bias, relu) in [(b, true), (nil, false), (b, false)] {
            let pooled = conv2dMaxPool(x, w, bias: bias, relu: relu, groups: groups, poolSize: (2, 2))
            let expected = maxPool2d(conv2d(x, w, bias: bias, relu: relu, groups: groups))
            #expect(pooled.shape == expected.shape)
            #expect(pooled.toArray() == expected.toArray(), "bias \(bias != nil), relu \(relu)")
        }
    }
}
