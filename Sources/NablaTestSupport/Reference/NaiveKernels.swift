import Foundation
import Nabla

// Naive reference loops: the test oracles for the fast kernels. Plain nested loops in Double,
// written from the definitions, sharing no code with the kernels they check.

/// Reference kernels over flat row-major arrays.
public enum Reference {
    /// Returns A·B for row-major A (M×K) and B (K×N).
    public static func matmul(_ a: [Float], _ b: [Float], M: Int, K: Int, N: Int) -> [Float] {
        var c = [Float](repeating: 0, count: M * N)
        for i in 0..<M {
            for j in 0..<N {
                var s = 0.0
                for p in 0..<K { s += Double(a[i * K + p]) * Double(b[p * N + j]) }
                c[i * N + j] = Float(s)
            }
        }
        return c
    }

    /// Explicit padding of one spatial axis for `same`, or zero for `valid`.
    public static func samePadding(input: Int, window: Int, stride: Int, dilation: Int) -> (Int, Int, Int) {
        let effective = (window - 1) * dilation + 1
        let out = (input + stride - 1) / stride
        let total = Swift.max((out - 1) * stride + effective - input, 0)
        return (total / 2, total - total / 2, out)
    }

    /// Returns the NHWC convolution of x [N,H,W,C] with filter [KH,KW,C/groups,K] and explicit padding.
    public static func conv2d(
        _ x: [Float], _ w: [Float], N: Int, H: Int, W: Int, C: Int, KH: Int, KW: Int, K: Int, stride: (Int, Int),
        padTop: Int, padLeft: Int, OH: Int, OW: Int, dilation: (Int, Int), groups: Int
    ) -> [Float] {
        let cg = C / groups, kg = K / groups
        var out = [Float](repeating: 0, count: N * OH * OW * K)
        for n in 0..<N {
            for oh in 0..<OH {
                for ow in 0..<OW {
                    for k in 0..<K {
                        let group = k / kg
                        var s = 0.0
                        for kh in 0..<KH {
                            for kw in 0..<KW {
                                let ih = oh * stride.0 - padTop + kh * dilation.0
                                let iw = ow * stride.1 - padLeft + kw * dilation.1
                                if ih < 0 || ih >= H || iw < 0 || iw >= W { continue }
                                for c in 0..<cg {
                                    let xv = x[((n * H + ih) * W + iw) * C + group * cg + c]
                                    let wv = w[((kh * KW + kw) * cg + c) * K + k]
                                    s += Double(xv) * Double(wv)
                                }
                            }
                        }
                        out[((n * OH + oh) * OW + ow) * K + k] = Float(s)
                    }
                }
            }
        }
        return out
    }

    /// Returns NHWC max (or average, padding excluded) pooling with explicit padding.
    public static func pool2d(
        _ x: [Float], N: Int, H: Int, W: Int, C: Int, KH: Int, KW: Int, stride: (Int, Int), padTop: Int, padLeft: Int,
        OH: Int, OW: Int, isMax: Bool
    ) -> [Float] {
        var out = [Float](repeating: 0, count: N * OH * OW * C)
        for n in 0..<N {
            for oh in 0..<OH {
                for ow in 0..<OW {
                    for c in 0..<C {
                        var best = -Double.infinity, sum = 0.0, count = 0
                        for kh in 0..<KH {
                            for kw in 0..<KW {
                                let ih = oh * stride.0 - padTop + kh, iw = ow * stride.1 - padLeft + kw
                                if ih < 0 || ih >= H || iw < 0 || iw >= W { continue }
                                let v = Double(x[((n * H + ih) * W + iw) * C + c])
                                best = Swift.max(best, v)
                                sum += v
                                count += 1
                            }
                        }
                        out[((n * OH + oh) * OW + ow) * C + c] = Float(isMax ? best : sum / Double(count))
                    }
                }
            }
        }
        return out
    }

    /// Returns per-row softmax cross-entropy of logits (rows × n) against class indices.
    public static func softmaxCrossEntropy(_ logits: [Float], labels: [Int], n: Int) -> [Float] {
        labels.enumerated().map { r, label in
            let row = logits[(r * n)..<((r + 1) * n)].map(Double.init)
            let total = row.reduce(0.0) { $0 + exp($1) }
            return Float(log(total) - row[label])
        }
    }

    /// Returns batch normalisation of x (rows × C) with batch statistics (biased variance).
    public static func batchNorm(
        _ x: [Float], rows: Int, C: Int, scale: [Float], offset: [Float], epsilon: Double
    )
        -> [Float]
    {
        var out = [Float](repeating: 0, count: x.count)
        for c in 0..<C {
            var mean = 0.0
            for r in 0..<rows { mean += Double(x[r * C + c]) }
            mean /= Double(rows)
            var variance = 0.0
            for r in 0..<rows { variance += (Double(x[r * C + c]) - mean) * (Double(x[r * C + c]) - mean) }
            variance /= Double(rows)
            for r in 0..<rows {
                out[r * C + c] = Float(
                    (Double(x[r * C + c]) - mean) / (variance + epsilon).squareRoot() * Double(scale[c])
                        + Double(offset[c]))
            }
        }
        return out
    }

    /// Resamples NHWC images through one affine map each, bilinear, then `scale[c]·v + bias[c]`.
    ///
    /// Output (oy, ox) reads source (m0·oy + m1·ox + m2, m3·oy + m4·ox + m5). Outside
    /// positions clamp (`fill == "nearest"`), mirror without repeating the edge (`"reflect"`), or
    /// read `constant[c]` as is.
    public static func affineResample(
        _ x: [Float], N: Int, H: Int, W: Int, C: Int, matrices: [Float], OH: Int, OW: Int, fill: String,
        constant: [Float], scale: [Float], bias: [Float]
    ) -> [Float] {
        func index(_ i: Int, _ n: Int) -> Int? {
            if i >= 0 && i < n { return i }
            switch fill {
            case "nearest": return Swift.min(Swift.max(i, 0), n - 1)
            case "reflect":
                if n == 1 { return 0 }
                var j = i
                while j < 0 || j >= n { j = j < 0 ? -j : 2 * (n - 1) - j }
                return j
            default: return nil
            }
        }
        var out = [Float](repeating: 0, count: N * OH * OW * C)
        for n in 0..<N {
            let m = (0..<6).map { Double(matrices[6 * n + $0]) }
            for oy in 0..<OH {
                for ox in 0..<OW {
                    let sy = m[0] * Double(oy) + m[1] * Double(ox) + m[2]
                    let sx = m[3] * Double(oy) + m[4] * Double(ox) + m[5]
                    let (y0, x0) = (Int(sy.rounded(.down)), Int(sx.rounded(.down)))
                    let (fy, fx) = (sy - Double(y0), sx - Double(x0))
                    for c in 0..<C {
                        var v = 0.0
                        for (dy, wy) in [(0, 1 - fy), (1, fy)] where wy > 0 {
                            for (dx, wx) in [(0, 1 - fx), (1, fx)] where wx > 0 {
                                let tap: Double
                                if let iy = index(y0 + dy, H), let ix = index(x0 + dx, W) {
                                    tap =
                                        Double(scale[c]) * Double(x[((n * H + iy) * W + ix) * C + c]) + Double(bias[c])
                                } else {
                                    tap = Double(constant[c])
                                }
                                v += wy * wx * tap
                            }
                        }
                        out[((n * OH + oy) * OW + ox) * C + c] = Float(v)
                    }
                }
            }
        }
        return out
    }
}
