// 2-D convolution on NHWC tensors: the checks, the window geometry and the backward, over the
// backend's forward, backward-data and backward-filter primitives.

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

/// The geometry of a window op (convolution, pooling) on NHWC input, resolved from its arguments:
/// what every backend's window primitives take.
public struct WindowGeometry: Sendable, Equatable {
    /// The input: batch, height, width and channels.
    public let batch: Int, height: Int, width: Int, channels: Int
    /// The window.
    public let windowHeight: Int, windowWidth: Int
    /// The step between windows.
    public let strideHeight: Int, strideWidth: Int
    /// Zero padding on each side.
    public let padTop: Int, padBottom: Int, padLeft: Int, padRight: Int
    /// The spacing of window taps.
    public let dilationHeight: Int, dilationWidth: Int
    /// The output height and width.
    public let outputHeight: Int, outputWidth: Int

    /// The output shape without channels: `[batch, outputHeight, outputWidth]`.
    var outputShape: [Int] { [batch, outputHeight, outputWidth] }

    /// Resolves the geometry of a window slid over NHWC `input`.
    ///
    /// - Precondition: rank-4 input; positive window, strides and dilation; the window fits the
    ///   padded input (`op` names the caller in the message).
    public init(
        input: [Int], window: (Int, Int), strides: (Int, Int), padding: Padding, dilation: (Int, Int), op: String
    ) {
        do {
            try self.init(
                checking: input, window: window, strides: strides, padding: padding, dilation: dilation, op: op)
        } catch { misuse(error.message) }
    }

    /// Resolves the geometry of a window slid over NHWC `input`, throwing instead of stopping.
    ///
    /// - Throws: ``NablaError`` (`.invalidArgument`) for what the other initializer's precondition
    ///   names (sizes from a file are checked this way).
    public init(
        checking input: [Int], window: (Int, Int), strides: (Int, Int), padding: Padding, dilation: (Int, Int),
        op: String
    ) throws(NablaError) {
        func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(NablaError) {
            if !condition { throw NablaError(.invalidArgument, message()) }
        }
        try check(input.count == 4, "\(op): expected NHWC input of rank 4, got shape \(input)")
        try check(window.0 > 0 && window.1 > 0, "\(op): window \(window) must be positive")
        try check(strides.0 > 0 && strides.1 > 0, "\(op): strides \(strides) must be positive")
        try check(dilation.0 > 0 && dilation.1 > 0, "\(op): dilation \(dilation) must be positive")
        let (h, w) = (input[1], input[2])
        let (effH, o1) = (window.0 - 1).multipliedReportingOverflow(by: dilation.0)
        let (effW, o2) = (window.1 - 1).multipliedReportingOverflow(by: dilation.1)
        try check(!o1 && !o2 && effH < Int.max / 4 && effW < Int.max / 4, "\(op): window \(window) is too large")
        let top: Int, bottom: Int, left: Int, right: Int
        switch padding {
        case .valid: (top, bottom, left, right) = (0, 0, 0, 0)
        case .same:
            let oh = (h + strides.0 - 1) / strides.0, ow = (w + strides.1 - 1) / strides.1
            let ph = Swift.max((oh - 1) * strides.0 + effH + 1 - h, 0)
            let pw = Swift.max((ow - 1) * strides.1 + effW + 1 - w, 0)
            (top, bottom, left, right) = (ph / 2, ph - ph / 2, pw / 2, pw - pw / 2)
        case .explicit(let t, let b, let l, let r):
            try check(t >= 0 && b >= 0 && l >= 0 && r >= 0, "\(op): negative padding \(padding)")
            (top, bottom, left, right) = (t, b, l, r)
        }
        try check(
            h + top + bottom > effH && w + left + right > effW,
            "\(op): window \(window) (dilation \(dilation)) does not fit input \(input) with padding \(padding)")
        (batch, height, width, channels) = (input[0], h, w, input[3])
        (windowHeight, windowWidth, strideHeight, strideWidth) = (window.0, window.1, strides.0, strides.1)
        (padTop, padBottom, padLeft, padRight) = (top, bottom, left, right)
        (dilationHeight, dilationWidth) = (dilation.0, dilation.1)
        outputHeight = (h + top + bottom - effH - 1) / strides.0 + 1
        outputWidth = (w + left + right - effW - 1) / strides.1 + 1
    }

    /// The attributes of an op record for this window: kernel, strides, pads (top, bottom, left,
    /// right) and dilations.
    var attributes: [String: OpAttribute] {
        [
            "kernel": .ints([windowHeight, windowWidth]), "strides": .ints([strideHeight, strideWidth]),
            "pads": .ints([padTop, padBottom, padLeft, padRight]), "dilations": .ints([dilationHeight, dilationWidth]),
        ]
    }
}

/// Returns the output height and width of a convolution or pooling window slid over an image of
/// `height`×`width`, without computing anything else.
///
/// - Throws: ``NablaError`` (`.invalidArgument`, naming `op`) unless the window, strides and
///   dilation are positive and the window fits the padded image.
public func windowOutputSize(
    height: Int, width: Int, window: (Int, Int), strides: (Int, Int), padding: Padding, dilation: (Int, Int) = (1, 1),
    op: String
) throws(NablaError) -> (Int, Int) {
    let geometry = try WindowGeometry(
        checking: [1, height, width, 1], window: window, strides: strides, padding: padding, dilation: dilation,
        op: op)
    return (geometry.outputHeight, geometry.outputWidth)
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
    convolution(input, filter, bias: nil, relu: false, strides, padding, dilation, groups)
}

/// Returns `conv2d(input, filter) + bias`, then ReLU when `relu`: a convolution layer's output.
///
/// The bias and ReLU are applied to each block of the output while it is in cache, instead of in
/// two more passes over memory, and when gradients are recorded the three steps are one record
/// whose backward masks the gradient, sums it for the bias and runs the convolution's backward.
/// Under a trace (a graph being exported) the three ops run and record one by one. The results
/// and gradients are the same bit for bit either way.
///
/// - Precondition: as ``conv2d(_:_:strides:padding:dilation:groups:)``; `bias` is `[K]`.
public func conv2d(
    _ input: Tensor, _ filter: Tensor, bias: Tensor?, relu: Bool, strides: (Int, Int) = (1, 1),
    padding: Padding = .valid, dilation: (Int, Int) = (1, 1), groups: Int = 1
) -> Tensor {
    guard Tracer.current == nil, bias.map({ $0.dtype == .float32 }) ?? true else {
        var y = conv2d(input, filter, strides: strides, padding: padding, dilation: dilation, groups: groups)
        if let bias { y = y + bias }
        return relu ? y.relu() : y
    }
    return convolution(input, filter, bias: bias, relu: relu, strides, padding, dilation, groups)
}

/// Returns `maxPool2d(conv2d(input, filter, bias: bias, relu: relu, ...), poolSize: poolSize)` with
/// pooling windows that tile the convolution's output (valid padding, strides equal to the pool
/// size): Keras's `Conv2D` followed by `MaxPooling2D`.
///
/// When nothing records (inference), the backend may pool each part of the convolution's output
/// while it is in cache instead of writing it out and reading it back; the result is the same bit
/// for bit. When gradients are recorded, or under a trace, the two ops run and record one by one.
public func conv2dMaxPool(
    _ input: Tensor, _ filter: Tensor, bias: Tensor?, relu: Bool, strides: (Int, Int) = (1, 1),
    padding: Padding = .valid, dilation: (Int, Int) = (1, 1), groups: Int = 1, poolSize: (Int, Int)
) -> Tensor {
    let inputs = [input, filter] + (bias.map { [$0] } ?? [])
    guard Tracer.current == nil, !GradientMode.shouldRecord(inputs), bias.map({ $0.dtype == .float32 }) ?? true
    else {
        let y = conv2d(
            input, filter, bias: bias, relu: relu, strides: strides, padding: padding, dilation: dilation,
            groups: groups)
        return maxPool2d(y, poolSize: poolSize)
    }
    let (geometry, x, w, backend) = convolution(input, filter, bias, strides, padding, dilation, groups)
    let K = w.shape[3]
    let pool = WindowGeometry(
        input: geometry.outputShape + [K], window: poolSize, strides: poolSize, padding: .valid, dilation: (1, 1),
        op: "maxPool2d")
    let out = Tensor(uninitializedShape: pool.outputShape + [K], dtype: .float32, backend: backend)
    backend.conv2dMaxPool(
        x, w, bias: bias?.contiguous(), relu: relu, geometry: geometry, groups: groups, pool: pool, into: out)
    return out
}

/// The convolution, with the bias and ReLU when given, as one op and one record.
private func convolution(
    _ input: Tensor, _ filter: Tensor, bias: Tensor?, relu: Bool, _ strides: (Int, Int), _ padding: Padding,
    _ dilation: (Int, Int), _ groups: Int
) -> Tensor {
    let (geometry, x, w, backend) = convolution(input, filter, bias, strides, padding, dilation, groups)
    let K = w.shape[3]
    let out = Tensor(uninitializedShape: geometry.outputShape + [K], dtype: .float32, backend: backend)
    backend.conv2d(x, w, bias: bias?.contiguous(), relu: relu, geometry: geometry, groups: groups, into: out)
    let inputs = [input, filter] + (bias.map { [$0] } ?? [])
    guard GradientMode.shouldRecord(inputs) else { return out }
    let (xd, wd, needX, needW) = (x.detached(), w.detached(), input.node != nil, filter.node != nil)
    var attributes = geometry.attributes
    attributes["groups"] = .int(groups)
    return out.recorded(.conv2d, attributes, inputs: inputs) { g in
        let dw = needW ? Tensor(uninitializedShape: wd.shape, dtype: .float32, backend: backend) : nil
        let dx = needX ? Tensor.zeros(xd.shape, like: xd) : nil
        let db = bias.map { Tensor(uninitializedShape: $0.shape, dtype: .float32, backend: backend) }
        // ReLU's output is positive exactly where its input is, so it serves as the mask.
        backend.conv2dBackward(
            xd, wd, gradient: g.contiguous(), reluOutput: relu ? out : nil, geometry: geometry, groups: groups, dx: dx,
            dw: dw, dbias: db)
        return [dx, dw] + (db.map { [$0] } ?? [])
    }
}

/// The checks of a convolution (and of its bias, when given) and what its kernels take: the
/// geometry, contiguous operands and the backend.
private func convolution(
    _ input: Tensor, _ filter: Tensor, _ bias: Tensor?, _ strides: (Int, Int), _ padding: Padding,
    _ dilation: (Int, Int), _ groups: Int
) -> (WindowGeometry, Tensor, Tensor, any Backend) {
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
    if let bias { require(bias.shape == [K], "conv2d: bias \(bias.shape) must be [\(K)] for filter \(filter.shape)") }
    let x = input.contiguous(), w = filter.contiguous()
    return (geometry, x, w, Tensor.backend(of: x, w, op: "conv2d"))
}
