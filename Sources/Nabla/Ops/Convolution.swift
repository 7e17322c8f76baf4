import CNablaKernels

// 2-D convolution on NHWC tensors: im2col + packed GEMM for dense and grouped convolutions, a
// direct kernel for depthwise ones. Work is cut into chunks of whole images whose size depends
// only on the shapes, so results do not depend on the thread count.

/// How a convolution or pooling window treats the borders.
public enum Padding: Sendable, Equatable {
    /// No padding: windows lie entirely inside the input.
    case valid
    /// Zero padding so that the output size is `ceil(input / stride)`, the extra row or column at the
    /// bottom / right when the total is odd (TensorFlow and Keras semantics).
    case same
    /// Explicit zero padding on each side.
    case explicit(top: Int, bottom: Int, left: Int, right: Int)
}

/// Spatial geometry of a window op on NHWC input, resolved from its arguments.
struct WindowGeometry {
    var raw: nbl_conv_geometry
    var outputShape: [Int] { [raw.N, raw.OH, raw.OW] }

    init(
        input: [Int], window: (Int, Int), strides: (Int, Int), padding: Padding, dilation: (Int, Int), op: String
    ) {
        require(input.count == 4, "\(op): expected NHWC input of rank 4, got shape \(input)")
        require(window.0 > 0 && window.1 > 0, "\(op): window \(window) must be positive")
        require(strides.0 > 0 && strides.1 > 0, "\(op): strides \(strides) must be positive")
        require(dilation.0 > 0 && dilation.1 > 0, "\(op): dilation \(dilation) must be positive")
        let (h, w) = (input[1], input[2])
        let effH = (window.0 - 1) * dilation.0 + 1, effW = (window.1 - 1) * dilation.1 + 1
        let top: Int, bottom: Int, left: Int, right: Int
        switch padding {
        case .valid: (top, bottom, left, right) = (0, 0, 0, 0)
        case .same:
            let oh = (h + strides.0 - 1) / strides.0, ow = (w + strides.1 - 1) / strides.1
            let ph = Swift.max((oh - 1) * strides.0 + effH - h, 0), pw = Swift.max((ow - 1) * strides.1 + effW - w, 0)
            (top, bottom, left, right) = (ph / 2, ph - ph / 2, pw / 2, pw - pw / 2)
        case .explicit(let t, let b, let l, let r):
            require(t >= 0 && b >= 0 && l >= 0 && r >= 0, "\(op): negative padding \(padding)")
            (top, bottom, left, right) = (t, b, l, r)
        }
        let oh = (h + top + bottom - effH) / strides.0 + 1, ow = (w + left + right - effW) / strides.1 + 1
        require(
            h + top + bottom >= effH && w + left + right >= effW,
            "\(op): window \(window) (dilation \(dilation)) does not fit input \(input) with padding \(padding)")
        raw = nbl_conv_geometry(
            N: input[0], H: h, W: w, C: input[3], KH: window.0, KW: window.1, strideH: strides.0,
            strideW: strides.1, padTop: top, padLeft: left, dilationH: dilation.0, dilationW: dilation.1, OH: oh,
            OW: ow)
    }
}

/// Returns the output height and width of a convolution or pooling window slid over an image of
/// `height`×`width`, without computing anything else.
///
/// - Precondition: positive window, strides and dilation; the window fits the padded image
///   (`op` names the caller in the message).
public func windowOutputSize(
    height: Int, width: Int, window: (Int, Int), strides: (Int, Int), padding: Padding, dilation: (Int, Int) = (1, 1),
    op: String
) -> (Int, Int) {
    let geometry = WindowGeometry(
        input: [1, height, width, 1], window: window, strides: strides, padding: padding, dilation: dilation, op: op)
    return (geometry.raw.OH, geometry.raw.OW)
}

/// Returns the 2-D convolution (cross-correlation) of NHWC `input` with `filter`.
///
/// `input` is `[N, H, W, C]`, `filter` is `[KH, KW, C / groups, K]` (Keras HWIO layout), the result
/// is `[N, OH, OW, K]` with `out[n, oh, ow, k] = Σ input[n, oh·sh + kh·dh − pt, ow·sw + kw·dw − pl, c] ·
/// filter[kh, kw, c, k]` over the window and the channels of `k`'s group. `groups == C` is a
/// depthwise convolution (channel multiplier `K / C`).
///
/// - Precondition: float32; `C` and `K` divisible by `groups`; the filter's input channels equal `C / groups`.
public func conv2d(
    _ input: Tensor, _ filter: Tensor, strides: (Int, Int) = (1, 1), padding: Padding = .valid,
    dilation: (Int, Int) = (1, 1), groups: Int = 1
) -> Tensor {
    require(
        input.dtype == .float32 && filter.dtype == .float32,
        "conv2d: expected float32, got input \(input.dtype) and filter \(filter.dtype)")
    require(filter.rank == 4, "conv2d: filter must be [KH, KW, C/groups, K], got shape \(filter.shape)")
    let geometry = WindowGeometry(
        input: input.shape, window: (filter.shape[0], filter.shape[1]), strides: strides, padding: padding,
        dilation: dilation, op: "conv2d")
    let (C, K) = (input.shape[3], filter.shape[3])
    require(
        groups > 0 && C % groups == 0 && K % groups == 0,
        "conv2d: \(groups) groups do not divide input channels \(C) and output channels \(K)")
    require(
        filter.shape[2] == C / groups,
        "conv2d: filter \(filter.shape) expects \(filter.shape[2]) input channels per group, input \(input.shape) has \(C / groups) (groups \(groups))"
    )
    let conv = Convolution(geometry: geometry.raw, groups: groups, K: K)
    let x = input.contiguous(), w = filter.contiguous()
    let out = conv.forward(x, w)
    guard GradientMode.shouldRecord(input, filter) else { return out }
    let (xd, wd) = (x.detached(), w.detached())
    let needX = input.node != nil, needW = filter.node != nil
    return out.recording("conv2d", inputs: [input, filter]) { g in
        let (dx, dw) = conv.backward(xd, wd, g.contiguous(), needInput: needX, needFilter: needW)
        return [dx, dw]
    }
}

/// The kernels of one convolution shape.
struct Convolution {
    let geometry: nbl_conv_geometry
    let groups: Int
    let K: Int

    var rows: Int { geometry.N * geometry.OH * geometry.OW }
    var Cg: Int { geometry.C / groups }
    var Kg: Int { K / groups }
    var width: Int { geometry.KH * geometry.KW * Cg }
    var isDepthwise: Bool { groups == geometry.C && groups > 1 }
    /// A 1×1, stride-1, unpadded dense convolution is a plain GEMM on the input.
    var isPointwise: Bool {
        let g = geometry
        return groups == 1 && g.KH == 1 && g.KW == 1 && g.strideH == 1 && g.strideW == 1 && g.padTop == 0
            && g.padLeft == 0 && g.OH == g.H && g.OW == g.W
    }

    /// Images per work chunk: enough to keep an im2col buffer near 512 KiB, at least one image.
    var imagesPerChunk: Int {
        let perImage = Swift.max(geometry.OH * geometry.OW * width, 1)
        return Swift.max(1, Swift.min(geometry.N, (1 << 17) / perImage))
    }

    func forward(_ x: Tensor, _ w: Tensor) -> Tensor {
        let g = geometry
        let out = Tensor(uninitializedShape: [g.N, g.OH, g.OW, K], dtype: .float32)
        let (px, pw, po) = (UnsafeSendable(x.floats), UnsafeSendable(w.floats), UnsafeSendable(out.floats))
        if isPointwise {
            GEMM.multiply(
                M: rows, N: K, K: g.C, A: px.value, rsA: g.C, csA: 1, B: pw.value, rsB: K, csB: 1, C: po.value, ldc: K)
            return out
        }
        if isDepthwise {
            let multiplier = K / g.C
            ThreadPool.parallelFor(rows, grain: 64) { start, end in
                withUnsafePointer(to: g) { gp in
                    nbl_depthwise_conv_nhwc(gp, px.value, pw.value, multiplier, start, end - start, po.value)
                }
            }
            return out
        }
        // Row chunks of ~512 KiB of im2col, each task its own column buffer and GEMM.
        let chunkRows = Swift.max(Int(NBL_GEMM_MR), (1 << 17) / Swift.max(width, 1) / 6 * 6)
        let tasks = (rows + chunkRows - 1) / chunkRows
        let (cg, kg, width, K) = (Cg, Kg, width, K)
        ThreadPool.forEachTask(tasks) { t in
            let r0 = t * chunkRows, n = Swift.min(chunkRows, rows - r0)
            let col = Tensor(uninitializedShape: [n, width], dtype: .float32)
            for group in 0..<groups {
                withUnsafePointer(to: g) { nbl_im2col_nhwc($0, px.value, group * cg, cg, r0, n, col.floats) }
                GEMM.multiply(
                    M: n, N: kg, K: width, A: col.floats, rsA: width, csA: 1, B: pw.value + group * kg, rsB: K, csB: 1,
                    C: po.value + r0 * K + group * kg, ldc: K, threads: 1)
            }
        }
        return out
    }

    /// Returns (dInput, dFilter), each nil unless asked for.
    func backward(_ x: Tensor, _ w: Tensor, _ dout: Tensor, needInput: Bool, needFilter: Bool) -> (Tensor?, Tensor?) {
        let g = geometry
        let dx = needInput ? Tensor.zeros([g.N, g.H, g.W, g.C]) : nil
        let dw = needFilter ? Tensor.zeros(w.shape) : nil
        let (px, pw, pd) = (UnsafeSendable(x.floats), UnsafeSendable(w.floats), UnsafeSendable(dout.floats))
        let pdx = UnsafeSendable(dx?.floats), pdw = UnsafeSendable(dw?.floats)
        if isPointwise {
            if let dxp = pdx.value {
                GEMM.multiply(
                    M: rows, N: g.C, K: K, A: pd.value, rsA: K, csA: 1, B: pw.value, rsB: 1, csB: K, C: dxp, ldc: g.C)
            }
            if let dwp = pdw.value {
                GEMM.multiply(
                    M: g.C, N: K, K: rows, A: px.value, rsA: 1, csA: g.C, B: pd.value, rsB: K, csB: 1, C: dwp, ldc: K)
            }
            return (dx, dw)
        }
        let per = imagesPerChunk
        let tasks = (g.N + per - 1) / per
        let pixels = g.OH * g.OW
        // Filter gradients are summed per chunk, then the chunks in order: deterministic.
        let partials = needFilter ? Tensor.zeros([tasks] + w.shape) : nil
        let pp = UnsafeSendable(partials?.floats)
        let filterCount = w.count
        let (cg, kg, width, K, depthwise) = (Cg, Kg, width, K, isDepthwise)
        ThreadPool.forEachTask(tasks) { t in
            let n0 = t * per, n1 = Swift.min(g.N, n0 + per)
            if depthwise {
                withUnsafePointer(to: g) { gp in
                    nbl_depthwise_conv_backward_nhwc(
                        gp, px.value, pw.value, K / g.C, pd.value, n0, n1, pdx.value,
                        pp.value.map { $0 + t * filterCount })
                }
                return
            }
            let r0 = n0 * pixels, n = (n1 - n0) * pixels
            let col = Tensor(uninitializedShape: [n, width], dtype: .float32)
            for group in 0..<groups {
                let doutGroup = pd.value + r0 * K + group * kg
                if let partial = pp.value {
                    withUnsafePointer(to: g) { nbl_im2col_nhwc($0, px.value, group * cg, cg, r0, n, col.floats) }
                    // dW_g[width, Kg] = colᵀ · dOut_g
                    GEMM.multiply(
                        M: width, N: kg, K: n, A: col.floats, rsA: 1, csA: width, B: doutGroup, rsB: K, csB: 1,
                        C: partial + t * filterCount + group * kg, ldc: K, threads: 1)
                }
                if let dxp = pdx.value {
                    // dCol[n, width] = dOut_g · W_gᵀ, then scattered back onto the input.
                    GEMM.multiply(
                        M: n, N: width, K: kg, A: doutGroup, rsA: K, csA: 1, B: pw.value + group * kg, rsB: 1, csB: K,
                        C: col.floats, ldc: width, threads: 1)
                    withUnsafePointer(to: g) { nbl_col2im_nhwc($0, col.floats, group * cg, cg, r0, n, dxp) }
                }
            }
        }
        if let partials, let dw {
            let sum = withoutGradients { partials.sum(axes: [0]) }
            dw.assign(sum)
        }
        return (dx, dw)
    }
}
