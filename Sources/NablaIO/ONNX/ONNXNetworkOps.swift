import Foundation
import Nabla

// Convolutions, poolings, normalisations, resizing and the products of an imported graph. The
// window ops run on NHWC storage: a value reaching them in ONNX's NCHW layout is permuted once,
// and their results stay NHWC until an op needs ONNX's layout.

extension ONNXOps {
    /// A window op's geometry from ONNX attributes, for 1-D (lifted to 2-D) or 2-D inputs.
    struct Window {
        var kernel: [Int], strides: [Int], dilations: [Int]
        /// Begin and end padding per spatial axis.
        var begin: [Int], end: [Int]
    }

    /// Reads kernel, strides, dilations, pads and auto_pad for `spatial` input sizes.
    static func window(_ c: ONNXCall, spatial: [Int], kernel: [Int]) throws -> Window {
        let n = spatial.count
        try c.check(n == 1 || n == 2, "only 1-D and 2-D windows are supported, got \(n)-D input")
        try c.check(
            kernel.count == n && kernel.allSatisfy { $0 > 0 && $0 <= ONNXLimits.maxSize },
            "kernel \(kernel) does not fit \(n) spatial axes")
        let strides = try c.ints("strides") ?? Array(repeating: 1, count: n)
        let dilations = try c.ints("dilations") ?? Array(repeating: 1, count: n)
        try c.check(
            strides.count == n && strides.allSatisfy { $0 > 0 && $0 <= ONNXLimits.maxSize },
            "strides \(strides) are not \(n) positive sizes")
        try c.check(
            dilations.count == n && dilations.allSatisfy { $0 > 0 && $0 <= ONNXLimits.maxSize },
            "dilations \(dilations) are not \(n) positive sizes")
        var begin = Array(repeating: 0, count: n), end = begin
        switch try c.string("auto_pad", "NOTSET") {
        case "NOTSET":
            if let pads = try c.ints("pads") {
                try c.check(
                    pads.count == 2 * n && pads.allSatisfy { $0 >= 0 && $0 <= ONNXLimits.maxSize },
                    "pads \(pads) are not \(2 * n) sizes")
                (begin, end) = (Array(pads[..<n]), Array(pads[n...]))
            }
        case "VALID": break
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            for i in 0..<n {
                let out = (spatial[i] + strides[i] - 1) / strides[i]
                let total = Swift.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i])
                let small = total / 2
                (begin[i], end[i]) = mode == "SAME_UPPER" ? (small, total - small) : (total - small, small)
            }
        case let mode: throw c.error("auto_pad '\(mode)' is not supported")
        }
        return Window(kernel: kernel, strides: strides, dilations: dilations, begin: begin, end: end)
    }

    /// Runs `body` on the input as NHWC `[N, H, W, C]` with a 2-D window; a 1-D input `[N, C, L]`
    /// runs as `H = 1` and comes back as `[N, C', L']`.
    static func spatial(
        _ c: ONNXCall, _ i: Int = 0, kernel: (_ spatial: [Int]) throws -> [Int],
        _ body: (Tensor, Window) throws -> Tensor
    ) throws -> [ONNXValue] {
        let (t, layout) = try c.tensor(i)
        let shape = c.input(i).shape
        try c.check(shape.count == 3 || shape.count == 4, "expects a 1-D or 2-D input [N, C, ...], got \(shape)")
        let spatialSizes = Array(shape[2...])
        var w = try window(c, spatial: spatialSizes, kernel: try kernel(spatialSizes))
        if shape.count == 3 {
            w = Window(
                kernel: [1] + w.kernel, strides: [1] + w.strides, dilations: [1] + w.dilations, begin: [0] + w.begin,
                end: [0] + w.end)
            let x = t.permuted([0, 2, 1]).unsqueezed(axis: 1)
            let y = try body(x, w)
            return [.float(y.squeezed(axes: [1]).permuted([0, 2, 1]), .native)]
        }
        let x = layout == .nhwc ? t : ONNXValue.float(t, layout).native.permuted([0, 2, 3, 1])
        return [.float(try body(x, w), .nhwc)]
    }

    /// Checks a window against NHWC `x` and returns Nabla's geometry for it: the output it
    /// makes, `[N, OH, OW, outputChannels]` (`x`'s channels when nil), is charged against the
    /// budget before anything is allocated.
    static func geometry(_ c: ONNXCall, _ x: Tensor, _ w: Window, outputChannels: Int? = nil) throws -> Padding {
        let padding = Padding.explicit(top: w.begin[0], bottom: w.end[0], left: w.begin[1], right: w.end[1])
        let g: WindowGeometry
        do {
            g = try WindowGeometry(
                checking: x.shape, window: (w.kernel[0], w.kernel[1]), strides: (w.strides[0], w.strides[1]),
                padding: padding, dilation: (w.dilations[0], w.dilations[1]), op: c.node.op)
        } catch let e { throw c.error(e.message) }
        try c.checkShape([g.batch, g.outputHeight, g.outputWidth, outputChannels ?? g.channels])
        // The padded input, which pooling over padding and the window-row kernels read.
        try c.checkShape([
            g.batch, try c.sum(g.height, g.padTop, g.padBottom, what: "the padded height"),
            try c.sum(g.width, g.padLeft, g.padRight, what: "the padded width"), g.channels,
        ])
        return padding
    }

    /// The filter of a convolution as `[KH, KW, C/g, M]` (1-D filters gain KH = 1).
    static func filter(_ c: ONNXCall) throws -> Tensor {
        let (w, layout) = try c.tensor(1)
        if layout == .hwio { return w }
        let native = try c.native(1)
        if native.rank == 3 { return native.permuted([2, 1, 0]).unsqueezed(axis: 0) }
        try c.check(native.rank == 4, "filter \(native.shape) must be [M, C/group, kH, kW]")
        return native.permuted([2, 3, 1, 0])
    }

    static func conv(_ c: ONNXCall) throws -> [ONNXValue] {
        let w = try filter(c)
        let groups = try c.int("group", 1)
        let logicalFilter = c.input(1).shape
        let (channels, outputs) = (c.input(0).shape.count > 1 ? c.input(0).shape[1] : 0, w.shape[3])
        try c.check(
            groups > 0 && groups <= Swift.max(channels, 1) && channels % groups == 0 && outputs % groups == 0
                && w.shape[2] * groups == channels,
            "filter \(logicalFilter) with \(groups) groups does not fit input \(c.input(0).shape)")
        var bias: Tensor?
        if c.has(2) {
            bias = try c.native(2)
            try c.check(bias?.shape == [outputs], "bias \(bias?.shape ?? []) must be [\(outputs)]")
        }
        return try spatial(
            c,
            kernel: { s in
                let k = Array(logicalFilter.dropFirst(2))
                if let given = try c.ints("kernel_shape") {
                    try c.check(given == k, "kernel_shape \(given) differs from the filter's \(k)")
                }
                try c.check(k.count == s.count, "filter \(logicalFilter) does not fit input \(c.input(0).shape)")
                return k
            }
        ) { x, win in
            let padding = try geometry(c, x, win, outputChannels: w.shape[3])
            let y = conv2d(
                x, w, strides: (win.strides[0], win.strides[1]), padding: padding,
                dilation: (win.dilations[0], win.dilations[1]), groups: groups)
            return bias.map { y + $0 } ?? y
        }
    }

    /// Inserts `s - 1` zeros between the elements of NHWC `x` along spatial `axis` (1 or 2).
    static func dilate(_ x: Tensor, axis: Int, by s: Int) -> Tensor {
        guard s > 1, x.shape[axis] > 0 else { return x }
        let n = x.shape[axis]
        var pads = Array(repeating: (before: 0, after: 0), count: x.rank + 1)
        pads[axis + 1] = (0, s - 1)
        var shape = x.shape
        shape[axis] = n * s
        return x.unsqueezed(axis: axis + 1).padded(pads).reshaped(shape).slice(
            axis: axis, start: 0, end: (n - 1) * s + 1)
    }

    /// Pads (or, for negative amounts, crops) NHWC `x` on its spatial axes.
    static func padSpatial(_ x: Tensor, begin: [Int], end: [Int]) -> Tensor {
        var y = x
        for i in 0..<2 {
            let axis = i + 1
            let lo = Swift.max(0, -begin[i]), hi = y.shape[axis] - Swift.max(0, -end[i])
            if lo > 0 || hi < y.shape[axis] { y = y.slice(axis: axis, start: lo, end: Swift.max(lo, hi)) }
        }
        let pads = [
            (0, 0), (Swift.max(0, begin[0]), Swift.max(0, end[0])), (Swift.max(0, begin[1]), Swift.max(0, end[1])),
            (0, 0),
        ]
        return pads.allSatisfy({ $0 == (0, 0) }) ? y : y.padded(pads.map { (before: $0.0, after: $0.1) })
    }

    static func convTranspose(_ c: ONNXCall) throws -> [ONNXValue] {
        let native = try c.native(1)
        let groups = try c.int("group", 1)
        let inShape = c.input(0).shape
        try c.check(
            native.rank == inShape.count && (3...4).contains(native.rank),
            "filter \(native.shape) does not fit input \(inShape)")
        let (channels, perGroup) = (native.shape[0], native.shape[1])
        try c.check(
            groups > 0 && channels == inShape[1] && channels % groups == 0,
            "filter \(native.shape) with \(groups) groups does not fit input \(inShape)")
        let outputs = perGroup * groups
        let k2 = native.rank == 3 ? [1, native.shape[2]] : [native.shape[2], native.shape[3]]
        // [C, M/g, kH, kW] → flipped, as a convolution filter [kH, kW, C/g, M].
        let w4 = native.rank == 3 ? native.unsqueezed(axis: 2) : native
        var f = w4.reshaped([groups, channels / groups, perGroup, k2[0], k2[1]])
        for axis in [3, 4] where f.shape[axis] > 1 {
            let n = f.shape[axis]
            f = f.gathered(Tensor((0..<n).reversed().map { Int64($0) }, shape: [n]), axis: axis)
        }
        let filter = f.permuted([3, 4, 1, 0, 2]).reshaped([k2[0], k2[1], channels / groups, outputs])
        var bias: Tensor?
        if c.has(2) {
            bias = try c.native(2)
            try c.check(bias?.shape == [outputs], "bias \(bias?.shape ?? []) must be [\(outputs)]")
        }
        let outputPadding = try c.ints("output_padding")
        let outputShape = try c.ints("output_shape")
        try c.check(
            (outputPadding ?? []).allSatisfy { (0...ONNXLimits.maxSize).contains($0) }
                && (outputShape ?? []).allSatisfy { (1...ONNXLimits.maxSize).contains($0) },
            "output_padding \(outputPadding ?? []) and output_shape \(outputShape ?? []) must be sizes up to \(ONNXLimits.maxSize)"
        )
        let autoPad = try c.string("auto_pad", "NOTSET")
        return try spatial(
            c,
            kernel: { s in
                try c.check(k2.count == 2 && (s.count == 2 || k2[0] == 1), "filter does not fit input")
                return s.count == 1 ? [k2[1]] : k2
            }
        ) { x, winIn in
            var win = winIn
            let n = 2
            let lift = inShape.count == 3 ? 1 : 0
            var op = Array(repeating: 0, count: n)
            if let outputPadding {
                try c.check(outputPadding.count == n - lift, "output_padding \(outputPadding) has the wrong length")
                op = Array(repeating: 0, count: lift) + outputPadding
            }
            let size = [x.shape[1], x.shape[2]]
            if outputShape != nil || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
                for i in 0..<n {
                    let target: Int
                    if let outputShape {
                        try c.check(outputShape.count == n - lift, "output_shape \(outputShape) has the wrong length")
                        target = i < lift ? 1 : outputShape[i - lift]
                    } else {
                        target = size[i] * win.strides[i]
                    }
                    let total =
                        win.strides[i] * (size[i] - 1) + op[i] + (win.kernel[i] - 1) * win.dilations[i] + 1 - target
                    // A target beyond what the input covers is reached with extra output padding.
                    if total < 0 { op[i] -= total }
                    let small = Swift.max(total, 0) / 2
                    (win.begin[i], win.end[i]) =
                        autoPad == "SAME_UPPER"
                        ? (small, Swift.max(total, 0) - small) : (Swift.max(total, 0) - small, small)
                }
            }
            var out = [0, 0]
            for i in 0..<n {
                out[i] =
                    win.strides[i] * (size[i] - 1) + op[i] + (win.kernel[i] - 1) * win.dilations[i] + 1 - win.begin[i]
                    - win.end[i]
                try c.check(out[i] > 0 && win.strides[i] <= ONNXLimits.maxSize, "the output would be empty")
            }
            try c.checkShape([x.shape[0], out[0], out[1], outputs])
            try c.checkShape([x.shape[0], size[0] * win.strides[0], size[1] * win.strides[1], channels])
            var y = dilate(dilate(x, axis: 1, by: win.strides[0]), axis: 2, by: win.strides[1])
            let full = (0..<n).map { (win.kernel[$0] - 1) * win.dilations[$0] }
            y = padSpatial(
                y, begin: (0..<n).map { full[$0] - win.begin[$0] }, end: (0..<n).map { full[$0] - win.end[$0] + op[$0] }
            )
            let probe = Window(
                kernel: win.kernel, strides: [1, 1], dilations: win.dilations, begin: [0, 0], end: [0, 0])
            _ = try geometry(c, y, probe)
            let r = conv2d(y, filter, dilation: (win.dilations[0], win.dilations[1]), groups: groups)
            return bias.map { r + $0 } ?? r
        }
    }

    static func pool(_ c: ONNXCall, max isMax: Bool) throws -> [ONNXValue] {
        try c.check(c.node.outputs.count == 1, "the indices output is not supported")
        let ceil = try c.int("ceil_mode", 0) != 0
        let includePad = try c.int("count_include_pad", 0) != 0
        return try spatial(
            c,
            kernel: { s in
                guard let k = try c.ints("kernel_shape") else { throw c.error("kernel_shape is missing") }
                try c.check(k.count == s.count, "kernel_shape \(k) does not fit input \(c.input(0).shape)")
                return k
            }
        ) { x, winIn in
            var win = winIn
            try c.check(win.dilations.allSatisfy { $0 == 1 }, "dilated pooling is not supported")
            var input = x
            if includePad && !isMax {
                _ = try geometry(c, x, win)
                input = padSpatial(x, begin: win.begin, end: win.end)
                (win.begin, win.end) = ([0, 0], [0, 0])
            }
            if ceil {
                for i in 0..<2 {
                    let n = input.shape[i + 1], span = n + win.begin[i] + win.end[i]
                    guard span >= win.kernel[i] else { continue }
                    var out = (span - win.kernel[i] + win.strides[i] - 1) / win.strides[i] + 1
                    if (out - 1) * win.strides[i] >= n + win.begin[i] { out -= 1 }
                    win.end[i] += Swift.max(0, (out - 1) * win.strides[i] + win.kernel[i] - span)
                }
            }
            let padding = try geometry(c, input, win)
            let size = (win.kernel[0], win.kernel[1]), strides = (win.strides[0], win.strides[1])
            return isMax
                ? maxPool2d(input, poolSize: size, strides: strides, padding: padding)
                : avgPool2d(input, poolSize: size, strides: strides, padding: padding)
        }
    }

    static func globalPool(_ c: ONNXCall, max isMax: Bool) throws -> [ONNXValue] {
        let (t, layout) = try c.tensor(0)
        let rank = c.input(0).shape.count
        try c.check(rank >= 3, "expects [N, C, ...], got \(c.input(0).shape)")
        try c.check(c.input(0).shape.allSatisfy { $0 > 0 }, "cannot pool an empty input \(c.input(0).shape)")
        if layout == .nhwc {
            return [.float(isMax ? t.max(axes: [1, 2], keepDims: true) : t.mean(axes: [1, 2], keepDims: true), .nhwc)]
        }
        let x = try c.native(0)
        let axes = Array(2..<rank)
        return [.float(isMax ? x.max(axes: axes, keepDims: true) : x.mean(axes: axes, keepDims: true), .native)]
    }

    /// Reshapes a per-channel vector `[C]` to broadcast over channel axis 1 of a value of `rank`,
    /// or over the last axis of an NHWC value.
    static func perChannel(_ v: Tensor, rank: Int, layout: ONNXLayout) -> Tensor {
        layout == .nhwc || rank <= 2 ? v : v.reshaped([v.count] + Array(repeating: 1, count: rank - 2))
    }

    static func batchNorm(_ c: ONNXCall) throws -> [ONNXValue] {
        try c.check(
            c.node.outputs.count == 1 && (try c.int("training_mode", 0)) == 0,
            "training-mode batch normalization is not supported; import the model for inference")
        let (x, layout) = try c.tensor(0)
        let shape = c.input(0).shape
        try c.check(shape.count >= 2, "expects [N, C, ...], got \(shape)")
        let params = try (1...4).map { try c.native($0) }
        for p in params {
            try c.check(p.shape == [shape[1]], "scale, bias, mean and variance must be [\(shape[1])], got \(p.shape)")
        }
        let epsilon = try c.float("epsilon", 1e-5)
        let a = params[0] * (params[3] + epsilon).rsqrt()
        let b = params[1] - params[2] * a
        let storage = layout == .nhwc ? x : try c.native(0)
        let l: ONNXLayout = layout == .nhwc ? .nhwc : .native
        return [
            .float(
                storage * perChannel(a, rank: shape.count, layout: l) + perChannel(b, rank: shape.count, layout: l), l)
        ]
    }

    static func instanceNorm(_ c: ONNXCall) throws -> [ONNXValue] {
        let x = try c.native(0)
        try c.check(x.rank >= 3, "expects [N, C, ...], got \(x.shape)")
        let scale = try c.native(1), bias = try c.native(2)
        try c.check(scale.shape == [x.shape[1]] && bias.shape == [x.shape[1]], "scale and bias must be [\(x.shape[1])]")
        let axes = Array(2..<x.rank)
        let mean = x.mean(axes: axes, keepDims: true)
        let centered = x - mean
        let variance = (centered * centered).mean(axes: axes, keepDims: true)
        let y = centered * (variance + (try c.float("epsilon", 1e-5))).rsqrt()
        return [
            .float(
                y * perChannel(scale, rank: x.rank, layout: .native) + perChannel(bias, rank: x.rank, layout: .native),
                .native)
        ]
    }

    static func lrn(_ c: ONNXCall) throws -> [ONNXValue] {
        let size = try c.int("size", 0)
        try c.check(size > 0 && size <= ONNXLimits.maxSize, "size must be positive")
        let alpha = try c.float("alpha", 1e-4), beta = try c.float("beta", 0.75), bias = try c.float("bias", 1)
        let rank = c.input(0).shape.count
        try c.check(rank >= 3, "expects [N, C, ...], got \(c.input(0).shape)")
        let (t, layout) = try c.tensor(0)
        let x = layout == .nhwc ? t : try c.native(0)
        let axis = layout == .nhwc ? 3 : 1
        let n = x.shape[axis]
        try c.check(n > 0, "expects channels, got \(c.input(0).shape)")
        let square = x * x
        // Channel j sums the squares of channels j - before ... j + after; offsets beyond the
        // channels add only zeros, so the padding and the loop stop there (a huge size costs nothing).
        let (before, after) = ((size - 1) / 2, size - 1 - (size - 1) / 2)
        let (b, a) = (Swift.min(before, n - 1), Swift.min(after, n - 1))
        var pads = Array(repeating: (before: 0, after: 0), count: x.rank)
        pads[axis] = (b, a)
        let padded = square.padded(pads)
        var sum = padded.slice(axis: axis, start: 0, end: n)
        for start in stride(from: 1, through: b + a, by: 1) {
            sum = sum + padded.slice(axis: axis, start: start, end: start + n)
        }
        return [.float(x / (sum * (alpha / Float(size)) + bias).pow(beta), layout == .nhwc ? .nhwc : .native)]
    }

    static func gemm(_ c: ONNXCall) throws -> [ONNXValue] {
        var a = try c.native(0), b = try c.native(1)
        try c.check(a.rank == 2 && b.rank == 2, "A \(a.shape) and B \(b.shape) must be matrices")
        if try c.int("transA", 0) != 0 { a = a.transposed() }
        if try c.int("transB", 0) != 0 { b = b.transposed() }
        try c.check(a.shape[1] == b.shape[0], "A \(a.shape) and B \(b.shape) do not multiply")
        try c.checkShape([a.shape[0], b.shape[1]])
        let alpha = try c.float("alpha", 1), beta = try c.float("beta", 1)
        var y = matmul(a, b)
        if alpha != 1 { y = y * alpha }
        if c.has(2) {
            let bias = try c.native(2)
            try c.check(
                Shape.broadcast(bias.shape, y.shape) == y.shape, "C \(bias.shape) does not broadcast to \(y.shape)")
            y = y + (beta == 1 ? bias : bias * beta)
        }
        return [.float(y, .native)]
    }

    static func matMul(_ c: ONNXCall) throws -> [ONNXValue] {
        let a = try c.native(0), b = try c.native(1)
        try c.check(a.rank >= 1 && b.rank >= 1, "scalars do not multiply")
        let k1 = a.shape[a.rank - 1], k2 = b.rank == 1 ? b.shape[0] : b.shape[b.rank - 2]
        try c.check(k1 == k2, "\(a.shape) and \(b.shape) do not multiply")
        guard
            let batch = Shape.broadcast(
                Array(a.shape.dropLast(a.rank >= 2 ? 2 : 1)), Array(b.shape.dropLast(b.rank >= 2 ? 2 : 1)))
        else {
            throw c.error("batch dimensions of \(a.shape) and \(b.shape) do not broadcast")
        }
        try c.checkShape(batch + [a.rank >= 2 ? a.shape[a.rank - 2] : 1, b.rank >= 2 ? b.shape[b.rank - 1] : 1])
        return [.float(matmul(a, b), .native)]
    }

    static func softmax(_ c: ONNXCall, log: Bool) throws -> [ONNXValue] {
        let shape = c.input(0).shape
        let axis = try c.axis(try c.int("axis", c.opset >= 13 ? -1 : 1), rank: shape.count)
        let (t, layout) = try c.tensor(0)
        func f(_ x: Tensor, _ a: Int) -> Tensor { log ? x.logSoftmax(axis: a) : x.softmax(axis: a) }
        if c.opset >= 13 || axis == shape.count - 1 {
            if layout == .nhwc { return [.float(f(t, nhwcAxis[axis]), .nhwc)] }
            return [.float(f(try c.native(0), axis), .native)]
        }
        // Before opset 13 the input is seen as a matrix [prod(shape[..<axis]), prod(shape[axis...])].
        let x = try c.native(0)
        let rows = shape[..<axis].reduce(1, *)
        return [.float(f(x.reshaped([rows, x.count / Swift.max(rows, 1)]), 1).reshaped(shape), .native)]
    }

    static func reduce(_ c: ONNXCall, _ kind: String) throws -> [ONNXValue] {
        let shape = c.input(0).shape
        let axesFromInput = (kind == "ReduceSum" && c.opset >= 13) || c.opset >= 18
        let given = axesFromInput ? try c.intValues(1) : try c.ints("axes")
        let keep = try c.int("keepdims", 1) != 0
        let noop = try c.int("noop_with_empty_axes", 0) != 0
        if (given ?? []).isEmpty && noop { return [c.input(0)] }
        let axes = Array(Set(try (given ?? []).map { try c.axis($0, rank: shape.count) })).sorted()
        let all = axes.isEmpty ? Array(0..<shape.count) : axes
        try c.check(all.allSatisfy { shape[$0] > 0 }, "cannot reduce an empty axis of \(shape)")
        let (t, layout) = try c.tensor(0)
        func f(_ x: Tensor, _ a: [Int]) -> Tensor {
            switch kind {
            case "ReduceSum": x.sum(axes: a, keepDims: keep)
            case "ReduceMax": x.max(axes: a, keepDims: keep)
            case "ReduceMin": x.min(axes: a, keepDims: keep)
            default: x.mean(axes: a, keepDims: keep)
            }
        }
        if layout == .nhwc && keep { return [.float(f(t, all.map { nhwcAxis[$0] }), .nhwc)] }
        return [.float(f(try c.native(0), all), .native)]
    }

    static func pad(_ c: ONNXCall) throws -> [ONNXValue] {
        let shape = c.input(0).shape
        let rank = shape.count
        let mode = try c.string("mode", "constant")
        var pads: [Int], value: Float = 0
        var axes = Array(0..<rank)
        if c.opset < 11 {
            pads = try c.ints("pads") ?? []
            value = try c.float("value", 0)
        } else {
            pads = try c.intValues(1) ?? []
            value = try c.floatValues(2)?.first ?? 0
            if let a = try c.intValues(3) { axes = try a.map { try c.axis($0, rank: rank) } }
        }
        try c.check(
            pads.count == 2 * axes.count, "pads \(pads) must give a begin and an end for each of \(axes.count) axes")
        var begin = Array(repeating: 0, count: rank), end = begin
        for (i, a) in axes.enumerated() { (begin[a], end[a]) = (pads[i], pads[i + axes.count]) }
        let outShape = try (0..<rank).map { try c.sum(shape[$0], begin[$0], end[$0], what: "the padded size") }
        try c.check(outShape.allSatisfy { $0 >= 0 }, "pads \(pads) crop more than \(shape) holds")
        try c.checkShape(outShape)
        if mode != "constant" {
            try c.check(mode == "reflect" || mode == "edge", "mode '\(mode)' is not supported")
            for a in 0..<rank where (begin[a] > 0 || end[a] > 0) {
                try c.check(
                    shape[a] > 0 && (mode == "edge" || (shape[a] > begin[a] && shape[a] > end[a])),
                    "cannot \(mode)-pad axis \(a) of \(shape) by \(begin[a]), \(end[a])")
            }
        }
        var v = c.input(0)
        let nhwc: Bool = if case .float(_, .nhwc) = v { true } else { false }
        for a in 0..<rank {
            let n = shape[a]
            let lo = Swift.max(0, -begin[a]), hi = n - Swift.max(0, -end[a])
            if lo > 0 || hi < n { v = slice(v, axis: a, start: lo, end: hi, step: 1) }
        }
        let b = begin.map { Swift.max(0, $0) }, e = end.map { Swift.max(0, $0) }
        if b.allSatisfy({ $0 == 0 }) && e.allSatisfy({ $0 == 0 }) { return [v] }
        if case .ints(let a) = v, mode == "constant" {
            let out = outShape
            let s = IntArray.strides(a.shape)
            let fill = Int64(try c.integer(value, "the pad value of an integer tensor"))
            return [
                .ints(
                    IntArray(
                        shape: out,
                        values: IntArray.generate(out) { idx in
                            var offset = 0
                            for d in 0..<rank {
                                let i = idx[d] - b[d]
                                if i < 0 || i >= a.shape[d] { return fill }
                                offset += i * s[d]
                            }
                            return a.values[offset]
                        }, dtype: a.dtype))
            ]
        }
        if mode == "constant" {
            if nhwc, case .float(let t, _) = v {
                // Storage axes N, H, W, C hold logical axes 0, 2, 3, 1.
                let p = [0, 2, 3, 1].map { (before: b[$0], after: e[$0]) }
                return [.float(t.padded(p, value: value), .nhwc)]
            }
            return [.float(v.native.padded(zip(b, e).map { (before: $0, after: $1) }, value: value), .native)]
        }
        for a in 0..<rank where b[a] > 0 || e[a] > 0 {
            let n = v.shape[a]
            let idx = (-b[a]..<(n + e[a])).map { i -> Int in
                if mode == "edge" { return Swift.min(Swift.max(i, 0), n - 1) }
                return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i)
            }
            v = gather(v, idx, indexShape: [idx.count], axis: a)
        }
        return [v]
    }

    static func resize(_ c: ONNXCall) throws -> [ONNXValue] {
        let shape = c.input(0).shape
        let rank = shape.count
        let mode = try c.string("mode", "nearest")
        try c.check(mode == "nearest" || mode == "linear", "mode '\(mode)' is not supported")
        try c.check((try c.int("antialias", 0)) == 0, "antialias is not supported")
        let coordinate = try c.string("coordinate_transformation_mode", c.opset >= 11 ? "half_pixel" : "asymmetric")
        let nearest = try c.string("nearest_mode", "round_prefer_floor")
        var axes = Array(0..<rank)
        if let a = try c.ints("axes") { axes = try a.map { try c.axis($0, rank: rank) } }
        let scalesIndex = c.opset >= 11 ? 2 : 1
        var scales = Array(repeating: Float(1), count: rank), sizes = shape
        if c.opset >= 11, let given = try c.intValues(3), !given.isEmpty {
            try c.check(given.count == axes.count, "sizes \(given) do not match \(axes.count) axes")
            try c.check(
                (try c.string("keep_aspect_ratio_policy", "stretch")) == "stretch",
                "keep_aspect_ratio_policy is not supported")
            for (i, a) in axes.enumerated() {
                sizes[a] = given[i]
                scales[a] = Float(given[i]) / Float(Swift.max(shape[a], 1))
            }
        } else if let given = try c.floatValues(scalesIndex), !given.isEmpty {
            try c.check(given.count == axes.count, "scales \(given) do not match \(axes.count) axes")
            for (i, a) in axes.enumerated() {
                try c.check(given[i] > 0 && given[i].isFinite, "scale \(given[i]) must be positive")
                scales[a] = given[i]
                let s = (Double(shape[a]) * Double(given[i])).rounded(.down)
                try c.check(s < Double(ONNXCall.maxElements), "scale \(given[i]) is too large")
                sizes[a] = Int(s)
            }
        } else {
            throw c.error("neither scales nor sizes are given")
        }
        try c.checkShape(sizes)
        var v = c.input(0)
        // Axes are resized one at a time: each intermediate tensor is charged too (one axis grown
        // 16,384 times before another shrinks to nothing is still that large).
        var current = shape
        for a in 0..<rank where sizes[a] != shape[a] || scales[a] != 1 {
            let (n, m, s) = (shape[a], sizes[a], Double(scales[a]))
            try c.check(n > 0, "cannot resize an empty axis")
            current[a] = m
            try c.checkShape(current)
            func source(_ x: Int) throws -> Double {
                let xd = Double(x)
                switch coordinate {
                case "half_pixel": return (xd + 0.5) / s - 0.5
                case "pytorch_half_pixel": return m > 1 ? (xd + 0.5) / s - 0.5 : 0
                // The resized length here is the unrounded n · scale, as in ONNX's reference.
                case "align_corners": return m == 1 ? 0 : xd * Double(n - 1) / (Double(n) * s - 1)
                case "asymmetric": return xd / s
                case "tf_half_pixel_for_nn": return (xd + 0.5) / s
                default: throw c.error("coordinate_transformation_mode '\(coordinate)' is not supported")
                }
            }
            let coords = try (0..<m).map(source)
            if mode == "nearest" {
                let idx = try coords.map { x -> Int in
                    let r: Double
                    switch nearest {
                    case "round_prefer_floor": r = x - x.rounded(.down) == 0.5 ? x.rounded(.down) : x.rounded()
                    case "round_prefer_ceil": r = x - x.rounded(.down) == 0.5 ? x.rounded(.up) : x.rounded()
                    case "floor": r = x.rounded(.down)
                    case "ceil": r = x.rounded(.up)
                    default: throw c.error("nearest_mode '\(nearest)' is not supported")
                    }
                    return Int(Swift.min(Swift.max(r, 0), Double(n - 1)))
                }
                v = gather(v, idx, indexShape: [m], axis: a)
            } else {
                let clamped = coords.map { Swift.min(Swift.max($0, 0), Double(n - 1)) }
                let lo = clamped.map { Int($0.rounded(.down)) }
                let hi = lo.map { Swift.min($0 + 1, n - 1) }
                let w = zip(clamped, lo).map { Float($0 - Double($1)) }
                if case .ints = v { throw c.error("linear resizing of integers is not supported") }
                var weightShape = Array(repeating: 1, count: rank)
                weightShape[a] = m
                let wt = Tensor(w, shape: weightShape)
                let x0 = gather(v, lo, indexShape: [m], axis: a).native,
                    x1 = gather(v, hi, indexShape: [m], axis: a).native
                v = .float(x0 + (x1 - x0) * wt, .native)
            }
        }
        return [v]
    }

    static func network() -> [String: Kernel] {
        var k: [String: Kernel] = [:]
        k["Conv"] = conv
        k["ConvTranspose"] = convTranspose
        k["MaxPool"] = { try pool($0, max: true) }
        k["AveragePool"] = { try pool($0, max: false) }
        k["GlobalAveragePool"] = { try globalPool($0, max: false) }
        k["GlobalMaxPool"] = { try globalPool($0, max: true) }
        k["BatchNormalization"] = batchNorm
        k["InstanceNormalization"] = instanceNorm
        k["LRN"] = lrn
        k["Gemm"] = gemm
        k["MatMul"] = matMul
        k["Softmax"] = { try softmax($0, log: false) }
        k["LogSoftmax"] = { try softmax($0, log: true) }
        for r in ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"] { k[r] = { try reduce($0, r) } }
        k["Pad"] = pad
        k["Resize"] = resize
        return k
    }
}
