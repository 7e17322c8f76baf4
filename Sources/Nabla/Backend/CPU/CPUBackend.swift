import CNablaKernels

// The CPU backend: every primitive on the C kernels of CNablaKernels, split over the shared
// thread pool in chunks whose bounds depend only on the problem size, so results do not depend
// on scheduling. This folder is the only place in Nabla that calls a kernel.

/// The backend of ``Device/cpu``: the C kernels, the thread pool and the GEMM driver.
public final class CPUBackend: Backend, @unchecked Sendable {
    /// The one CPU backend.
    public static let shared = CPUBackend()

    /// Winograd filters for inference (``FilterCache``).
    let winogradFilterCache = FilterCache()

    public var device: Device { .cpu }
    public var isHostMemory: Bool { true }

    /// Bytes in use on the C heap (glibc's count), or nil where unknown; for allocation benchmarks.
    public static var heapBytesInUse: Int? {
        let bytes = nbl_heap_bytes_in_use()
        return bytes < 0 ? nil : bytes
    }

    // MARK: Memory

    public func allocate(byteCount: Int) -> Storage {
        let block = CachingAllocator.shared.allocate(Swift.max(byteCount, 1))
        return Storage(base: block.pointer, byteCount: byteCount, token: block.sizeClass, backend: self)
    }

    public func release(_ storage: Storage) {
        CachingAllocator.shared.release(storage.base, sizeClass: storage.token)
    }

    public func copy(_ source: Tensor, into destination: Tensor) {
        let (shape, s) = Shape.coalesce(source.shape, [source.strides, destination.strides])
        let total = source.count
        let src = UnsafeSendable(UnsafeRawPointer(source.cpuPointer)), dst = UnsafeSendable(destination.cpuPointer)
        let size = Int32(source.dtype.byteSize)
        shape.withUnsafeBufferPointer { sh in
            s[0].withUnsafeBufferPointer { ss in
                s[1].withUnsafeBufferPointer { ds in
                    ThreadPool.parallelFor(total, grain: 1 << 16) { start, end in
                        nbl_copy_strided(
                            Int32(shape.count), sh.baseAddress, src.value, ss.baseAddress, dst.value, ds.baseAddress,
                            size, start, end)
                    }
                }
            }
        }
    }

    public func convert(_ source: Tensor, into destination: Tensor) {
        let (from, to) = (source.dtype, destination.dtype)
        if to == .bool && from == .uint8 || to == .uint8 && from == .bool {
            let src = source.cpuPointer.assumingMemoryBound(to: UInt8.self)
            let dst = destination.cpuPointer.assumingMemoryBound(to: UInt8.self)
            for i in 0..<source.count { dst[i] = to == .bool ? (src[i] != 0 ? 1 : 0) : src[i] }
        } else {
            nbl_convert(from.rawValue, source.cpuPointer, to.rawValue, destination.cpuPointer, source.count)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, into destination: Tensor) {
        if let base = bytes.baseAddress, bytes.count > 0 {
            destination.cpuPointer.copyMemory(from: base, byteCount: bytes.count)
        }
    }

    public func read(_ source: Tensor, into bytes: UnsafeMutableRawBufferPointer) {
        if let base = bytes.baseAddress, bytes.count > 0 {
            base.copyMemory(from: source.cpuPointer, byteCount: bytes.count)
        }
    }

    public func fill(_ destination: Tensor, value: Float) {
        let n = destination.count
        if value == 0 && value.sign == .plus {
            destination.cpuPointer.initializeMemory(as: UInt8.self, repeating: 0, count: n * destination.dtype.byteSize)
        } else if destination.dtype == .float32 {
            destination.cpuFloats.initialize(repeating: value, count: n)
        } else {
            // One element converted as `convert` would, then repeated.
            guard n > 0 else { return }
            var single = value
            let size = destination.dtype.byteSize
            let base = destination.cpuPointer
            nbl_convert(DType.float32.rawValue, &single, destination.dtype.rawValue, base, 1)
            for i in 1..<n { (base + i * size).copyMemory(from: base, byteCount: size) }
        }
    }

    // MARK: Elementwise

    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        let (dims, strides) = Shape.coalesce(out.shape, [a.strides, b.strides, out.strides])
        let pa = UnsafeSendable(UnsafePointer(a.cpuFloats)), pb = UnsafeSendable(UnsafePointer(b.cpuFloats))
        let po = UnsafeSendable(out.cpuPointer)
        let code = op.kernelCode
        dims.withUnsafeBufferPointer { d in
            strides[0].withUnsafeBufferPointer { sa in
                strides[1].withUnsafeBufferPointer { sb in
                    ThreadPool.parallelFor(out.count, grain: 1 << 15) { start, end in
                        nbl_binary_f32(
                            code, Int32(dims.count), d.baseAddress, pa.value, sa.baseAddress, pb.value, sb.baseAddress,
                            po.value, start, end)
                    }
                }
            }
        }
    }

    public func unary(_ op: UnaryOp, _ x: Tensor, alpha: Float, beta: Float, into out: Tensor) {
        let px = UnsafeSendable(UnsafePointer(x.cpuFloats)), po = UnsafeSendable(out.cpuFloats)
        let code = op.kernelCode
        ThreadPool.parallelFor(out.count, grain: 1 << 14) { start, end in
            nbl_unary_f32(code, px.value + start, po.value + start, end - start, alpha, beta)
        }
    }

    public func unaryBackward(
        _ op: UnaryOp, x: Tensor, y: Tensor, gradient: Tensor, alpha: Float, beta: Float, into dx: Tensor
    ) {
        let pg = UnsafeSendable(UnsafePointer(gradient.cpuFloats)), pd = UnsafeSendable(dx.cpuFloats)
        let px = UnsafeSendable(UnsafePointer(x.cpuFloats)), py = UnsafeSendable(UnsafePointer(y.cpuFloats))
        let code = op.kernelCode
        ThreadPool.parallelFor(dx.count, grain: 1 << 14) { start, end in
            nbl_unary_backward_f32(
                code, px.value + start, py.value + start, pg.value + start, pd.value + start, end - start, alpha, beta)
        }
    }

    public func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        let (dims, strides) = Shape.coalesce(out.shape, [condition.strides, a.strides, b.strides, out.strides])
        let pc = UnsafeSendable(UnsafePointer(condition.cpuPointer.assumingMemoryBound(to: UInt8.self)))
        let pa = UnsafeSendable(UnsafePointer(a.cpuFloats)), pb = UnsafeSendable(UnsafePointer(b.cpuFloats))
        let po = UnsafeSendable(out.cpuFloats)
        dims.withUnsafeBufferPointer { d in
            strides[0].withUnsafeBufferPointer { sc in
                strides[1].withUnsafeBufferPointer { sa in
                    strides[2].withUnsafeBufferPointer { sb in
                        ThreadPool.parallelFor(out.count, grain: 1 << 15) { start, end in
                            nbl_where_f32(
                                Int32(dims.count), d.baseAddress, pc.value, sc.baseAddress, pa.value, sa.baseAddress,
                                pb.value, sb.baseAddress, po.value, start, end)
                        }
                    }
                }
            }
        }
    }

    // MARK: Reductions

    public func reduce(_ op: ReductionOp, _ x: Tensor, axes: [Int], into out: Tensor) {
        let (code, identity): (Int32, Float) =
            switch op {
            case .sum: (Int32(NBL_RED_SUM), 0)
            case .max: (Int32(NBL_RED_MAX), -.infinity)
            case .min: (Int32(NBL_RED_MIN), .infinity)
            }
        out.cpuFloats.initialize(repeating: identity, count: out.count)
        var outStrides = out.strides
        for a in axes { outStrides[a] = 0 }
        let (dims, strides) = Shape.coalesce(x.shape, [x.strides, outStrides])
        dims.withUnsafeBufferPointer { d in
            strides[0].withUnsafeBufferPointer { sx in
                strides[1].withUnsafeBufferPointer { so in
                    nbl_reduce_f32(
                        code, Int32(dims.count), d.baseAddress, x.cpuFloats, sx.baseAddress, out.cpuFloats,
                        so.baseAddress)
                }
            }
        }
    }

    public func argExtreme(_ x: Tensor, axis: Int, isMinimum: Bool, into out: Tensor) {
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        nbl_argmax_f32(
            x.cpuFloats, outer, x.shape[axis], inner, isMinimum ? 1 : 0,
            out.cpuPointer.assumingMemoryBound(to: Int64.self))
    }

    // MARK: Matrix products

    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, accumulate: Bool) {
        GEMM.multiply(
            M: a.shape[0], N: b.shape[1], K: a.shape[1], A: a.cpuFloats, rsA: a.strides[0], csA: a.strides[1],
            B: b.cpuFloats, rsB: b.strides[0], csB: b.strides[1], C: c.cpuFloats, ldc: c.shape[1],
            accumulate: accumulate)
    }

    public func batchedMatmul(_ a: Tensor, _ b: Tensor, into c: Tensor) {
        let batch = Array(c.shape.dropLast(2))
        let (M, N, K) = (c.shape[c.rank - 2], c.shape[c.rank - 1], a.shape[a.rank - 1])
        let batchCount = Shape.count(batch)
        let (aStrides, bStrides) = (a.strides, b.strides)
        let batchStrides = Shape.contiguousStrides(batch)
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
        let (pa, pb, pc) = (a.cpuFloats, b.cpuFloats, c.cpuFloats)
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
                    M: M, N: N, K: K, A: pa + oa, rsA: rsA, csA: csA, B: pb + ob, rsB: rsB, csB: csB,
                    C: pc + i * M * N, ldc: N)
            }
        }
    }
}

extension Tensor {
    /// The address of the first element, for the CPU backend's kernels.
    ///
    /// - Precondition: the tensor is the CPU backend's (a tensor of another device must reach the
    ///   kernels through its own backend).
    @inline(__always)
    var cpuPointer: UnsafeMutableRawPointer {
        require(
            storage.backend === CPUBackend.shared,
            "CPU kernel called on a tensor on device \(device); ops must dispatch through the tensor's backend")
        return storage.base + offset * dtype.byteSize
    }

    /// The first element as float32, for the CPU backend's kernels.
    @inline(__always)
    var cpuFloats: UnsafeMutablePointer<Float> { cpuPointer.assumingMemoryBound(to: Float.self) }
}

extension BinaryOp {
    var kernelCode: Int32 {
        switch self {
        case .add: Int32(NBL_BIN_ADD)
        case .subtract: Int32(NBL_BIN_SUB)
        case .multiply: Int32(NBL_BIN_MUL)
        case .divide: Int32(NBL_BIN_DIV)
        case .maximum: Int32(NBL_BIN_MAX)
        case .minimum: Int32(NBL_BIN_MIN)
        case .power: Int32(NBL_BIN_POW)
        case .equal: Int32(NBL_CMP_EQ)
        case .notEqual: Int32(NBL_CMP_NE)
        case .less: Int32(NBL_CMP_LT)
        case .lessEqual: Int32(NBL_CMP_LE)
        case .greater: Int32(NBL_CMP_GT)
        case .greaterEqual: Int32(NBL_CMP_GE)
        }
    }
}

extension UnaryOp {
    var kernelCode: Int32 {
        switch self {
        case .negate: Int32(NBL_UN_NEG)
        case .exp: Int32(NBL_UN_EXP)
        case .log: Int32(NBL_UN_LOG)
        case .sqrt: Int32(NBL_UN_SQRT)
        case .rsqrt: Int32(NBL_UN_RSQRT)
        case .square: Int32(NBL_UN_SQUARE)
        case .abs: Int32(NBL_UN_ABS)
        case .sign: Int32(NBL_UN_SIGN)
        case .clamp: Int32(NBL_UN_CLAMP)
        case .powerScalar: Int32(NBL_UN_POW_SCALAR)
        case .relu: Int32(NBL_UN_RELU)
        case .leakyRelu: Int32(NBL_UN_LEAKY_RELU)
        case .elu: Int32(NBL_UN_ELU)
        case .sigmoid: Int32(NBL_UN_SIGMOID)
        case .tanh: Int32(NBL_UN_TANH)
        case .gelu: Int32(NBL_UN_GELU)
        case .swish: Int32(NBL_UN_SWISH)
        case .erf: Int32(NBL_UN_ERF)
        }
    }
}
