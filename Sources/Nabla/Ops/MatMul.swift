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
    let out = Tensor(uninitializedShape: batch + [M, N], dtype: .float32)
    let batchCount = Shape.count(batch)
    let aStrides = a.broadcastStrides(to: batch + [M, K]), bStrides = b.broadcastStrides(to: batch + [K, N])
    let batchStrides = Shape.contiguousStrides(batch)
    let pa = a.floats, pb = b.floats, pc = out.floats
    func offsets(_ index: Int) -> (Int, Int) {
        var (oa, ob, rem) = (0, 0, index)
        for d in 0..<batch.count {
            let i = rem / batchStrides[d]
            rem %= batchStrides[d]
            oa += i * aStrides[d]
            ob += i * bStrides[d]
        }
        return (oa, ob)
    }
    let rsA = aStrides[batch.count], csA = aStrides[batch.count + 1]
    let rsB = bStrides[batch.count], csB = bStrides[batch.count + 1]
    if batchCount >= ThreadPool.threadCount && batchCount > 1 {
        // Many small products: one per task, each single-threaded.
        let (sa, sb, sc) = (UnsafeSendable(pa), UnsafeSendable(pb), UnsafeSendable(pc))
        ThreadPool.forEachTask(batchCount) { i in
            let (oa, ob) = offsets(i)
            GEMM.multiply(
                M: M, N: N, K: K, A: sa.value + oa, rsA: rsA, csA: csA, B: sb.value + ob, rsB: rsB, csB: csB,
                C: sc.value + i * M * N, ldc: N, threads: 1)
        }
    } else {
        for i in 0..<batchCount {
            let (oa, ob) = offsets(i)
            GEMM.multiply(
                M: M, N: N, K: K, A: pa + oa, rsA: rsA, csA: csA, B: pb + ob, rsB: rsB, csB: csB, C: pc + i * M * N,
                ldc: N)
        }
    }
    guard GradientMode.shouldRecord(a, b) else { return out }
    let (ad, bd) = (a.detached(), b.detached())
    return out.recording("matmul", inputs: [a, b]) { g in
        [
            a.node == nil ? nil : matmul(g, bd.transposed()).sumTo(a.shape),
            b.node == nil ? nil : matmul(ad.transposed(), g).sumTo(b.shape),
        ]
    }
}
