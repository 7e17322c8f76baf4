// Max and average pooling on NHWC tensors, and global average pooling.

/// Returns the maximum over each `poolSize` window of NHWC `input`.
///
/// `input` is `[N, H, W, C]`; the result is `[N, OH, OW, C]`. `strides` defaults to `poolSize`,
/// as in Keras. Padded positions never win; the gradient goes to the first maximum of each window.
public func maxPool2d(
    _ input: Tensor, poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil, padding: Padding = .valid
) -> Tensor {
    require(input.dtype == .float32, "maxPool2d: expected float32, got \(input.dtype) \(input.shape)")
    let geometry = WindowGeometry(
        input: input.shape, window: poolSize, strides: strides ?? poolSize, padding: padding, dilation: (1, 1),
        op: "maxPool2d")
    let x = input.contiguous()
    let backend = x.backend
    let out = Tensor(uninitializedShape: geometry.outputShape + [geometry.channels], dtype: .float32, backend: backend)
    guard GradientMode.shouldRecord(input) else {  // no gradient: no argmax to keep
        backend.maxPool2d(x, geometry: geometry, into: out, argmax: nil)
        return out
    }
    let argmax = Tensor(uninitializedShape: out.shape, dtype: .int32, backend: backend)
    backend.maxPool2d(x, geometry: geometry, into: out, argmax: argmax)
    return out.recorded(.maxPool2d, geometry.attributes, inputs: [input]) { g in
        let dx = Tensor.zeros(input.shape, like: x)
        backend.maxPool2dBackward(g.contiguous(), argmax: argmax, geometry: geometry, into: dx)
        return [dx]
    }
}

/// Returns the mean over each `poolSize` window of NHWC `input`.
///
/// Padded positions are left out of each window's count (Keras semantics), so border windows
/// average only real pixels. `strides` defaults to `poolSize`.
public func avgPool2d(
    _ input: Tensor, poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil, padding: Padding = .valid
) -> Tensor {
    require(input.dtype == .float32, "avgPool2d: expected float32, got \(input.dtype) \(input.shape)")
    let geometry = WindowGeometry(
        input: input.shape, window: poolSize, strides: strides ?? poolSize, padding: padding, dilation: (1, 1),
        op: "avgPool2d")
    let x = input.contiguous()
    let backend = x.backend
    let out = Tensor(uninitializedShape: geometry.outputShape + [geometry.channels], dtype: .float32, backend: backend)
    backend.avgPool2d(x, geometry: geometry, into: out)
    guard GradientMode.shouldRecord(input) else { return out }
    return out.recorded(.avgPool2d, geometry.attributes, inputs: [input]) { g in
        let dx = Tensor.zeros(input.shape, like: x)
        backend.avgPool2dBackward(g.contiguous(), geometry: geometry, into: dx)
        return [dx]
    }
}

/// Returns the mean over the spatial axes of NHWC `input`: `[N, H, W, C]` → `[N, C]`.
public func globalAvgPool2d(_ input: Tensor) -> Tensor {
    require(input.rank == 4, "globalAvgPool2d: expected NHWC input of rank 4, got shape \(input.shape)")
    return input.mean(axes: [1, 2])
}
