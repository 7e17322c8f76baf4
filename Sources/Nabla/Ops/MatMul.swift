// Matrix multiplication, batched with numpy broadcasting of the batch dimensions.

/// Returns the matrix product of `a` and `b`.
///
/// `a` is `[..., M, K]` and `b` is `[..., K, N]`; the batch dimensions broadcast and the result is
/// `[..., M, N]`. A 1-D `a` is a row vector and a 1-D `b` a column vector (that axis is dropped
/// from the result), as in numpy. Transposed and other strided views are read in place, without a
/// copy. Gradients: `dA = dC·Bᵀ`, `dB = Aᵀ·dC`, summed over broadcast batch dimensions.
///
/// - Precondition: both float32; inner dimensions equal; batch dimensions broadcast.
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    require(
        a.dtype == .float32 && b.dtype == .float32,
        "matmul: expected float32 operands, got \(a.dtype) \(a.shape) × \(b.dtype) \(b.shape)")
    require(a.rank >= 1 && b.rank >= 1, "matmul: scalars cannot be multiplied, got \(a.shape) × \(b.shape)")
    if a.rank == 1 { return matmul(a.unsqueezed(axis: 0), b).squeezed(axes: [-2]) }
    if b.rank == 1 { return matmul(a, b.unsqueezed(axis: 1)).squeezed(axes: [-1]) }
    let (M, K) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (K2, N) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    require(K == K2, "matmul: inner dimensions differ, \(a.shape) × \(b.shape)")
    guard let batch = Shape.broadcast(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2))) else {
        misuse("matmul: batch dimensions of \(a.shape) and \(b.shape) do not broadcast")
    }
    let backend = Tensor.backend(of: a, b, op: "matmul")
    let out = Tensor(uninitializedShape: batch + [M, N], dtype: .float32, backend: backend)
    backend.batchedMatmul(a.broadcastView(to: batch + [M, K]), b.broadcastView(to: batch + [K, N]), into: out)
    guard GradientMode.shouldRecord(a, b) else { return out }
    let (ad, bd) = (a.detached(), b.detached())
    return out.recorded(.matmul, inputs: [a, b]) { g in
        [
            a.node == nil ? nil : matmul(g, bd.transposed()).sumTo(a.shape),
            b.node == nil ? nil : matmul(ad.transposed(), g).sumTo(b.shape),
        ]
    }
}
