import CNablaKernels

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
        op: "maxPool2d"
    ).raw
    let x = input.contiguous()
    let out = Tensor(uninitializedShape: [geometry.N, geometry.OH, geometry.OW, geometry.C], dtype: .float32)
    let argmax = Tensor(uninitializedShape: out.shape, dtype: .int32)
    let (px, po) = (UnsafeSendable(x.floats), UnsafeSendable(out.floats))
    let pa = UnsafeSendable(argmax.rawPointer.assumingMemoryBound(to: Int32.self))
    ThreadPool.parallelFor(geometry.N, grain: 1) { n0, n1 in
        withUnsafePointer(to: geometry) { nbl_maxpool_nhwc($0, px.value, n0, n1, po.value, pa.value) }
    }
    guard GradientMode.shouldRecord(input) else { return out }
    return out.recording("maxPool2d", inputs: [input]) { g in
        let gc = g.contiguous()
        let dx = Tensor.zeros(input.shape)
        let (pg, pdx) = (UnsafeSendable(gc.floats), UnsafeSendable(dx.floats))
        let pa = UnsafeSendable(argmax.rawPointer.assumingMemoryBound(to: Int32.self))
        ThreadPool.parallelFor(geometry.N, grain: 1) { n0, n1 in
            withUnsafePointer(to: geometry) { nbl_maxpool_backward_nhwc($0, pg.value, pa.value, n0, n1, pdx.value) }
        }
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
        op: "avgPool2d"
    ).raw
    let x = input.contiguous()
    let out = Tensor(uninitializedShape: [geometry.N, geometry.OH, geometry.OW, geometry.C], dtype: .float32)
    let (px, po) = (UnsafeSendable(x.floats), UnsafeSendable(out.floats))
    ThreadPool.parallelFor(geometry.N, grain: 1) { n0, n1 in
        withUnsafePointer(to: geometry) { nbl_avgpool_nhwc($0, px.value, n0, n1, po.value) }
    }
    guard GradientMode.shouldRecord(input) else { return out }
    return out.recording("avgPool2d", inputs: [input]) { g in
        let gc = g.contiguous()
        let dx = Tensor.zeros(input.shape)
        let (pg, pdx) = (UnsafeSendable(gc.floats), UnsafeSendable(dx.floats))
        ThreadPool.parallelFor(geometry.N, grain: 1) { n0, n1 in
            withUnsafePointer(to: geometry) { nbl_avgpool_backward_nhwc($0, pg.value, n0, n1, pdx.value) }
        }
        return [dx]
    }
}

/// Returns the mean over the spatial axes of NHWC `input`: `[N, H, W, C]` → `[N, C]`.
public func globalAvgPool2d(_ input: Tensor) -> Tensor {
    require(input.rank == 4, "globalAvgPool2d: expected NHWC input of rank 4, got shape \(input.shape)")
    return input.mean(axes: [1, 2])
}
