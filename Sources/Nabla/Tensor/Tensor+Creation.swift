import CNablaKernels

extension Tensor {
    /// Creates a tensor from scalars in row-major order.
    ///
    /// - Precondition: `values.count` equals the product of `shape`.
    public init<Scalar: TensorScalar>(_ values: [Scalar], shape: [Int]) {
        require(shape.allSatisfy { $0 >= 0 }, "Tensor(_:shape:): negative dimension in \(shape)")
        require(
            values.count == Shape.count(shape),
            "Tensor(_:shape:): \(values.count) values do not fill shape \(shape) (\(Shape.count(shape)) elements)")
        self.init(uninitializedShape: shape, dtype: Scalar.dtype)
        let destination = rawPointer
        values.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { destination.copyMemory(from: base, byteCount: bytes.count) }
        }
    }

    /// Creates a one-dimensional tensor from scalars.
    public init<Scalar: TensorScalar>(_ values: [Scalar]) {
        self.init(values, shape: [values.count])
    }

    /// Creates a rank-0 float32 tensor.
    public init(_ value: Float) {
        self.init([value], shape: [])
    }

    /// Returns a tensor of the given shape with every element zero.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(
            storage: Storage(zeroedByteCount: Shape.count(shape) * dtype.byteSize), shape: shape,
            strides: Shape.contiguousStrides(shape), offset: 0, dtype: dtype)
    }

    /// Returns a tensor of the given shape with every element one.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        full(shape, value: 1, dtype: dtype)
    }

    /// Returns a tensor of the given shape with every element equal to `value`.
    public static func full(_ shape: [Int], value: Float, dtype: DType = .float32) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: .float32)
        out.floats.initialize(repeating: value, count: out.count)
        return out.asType(dtype)
    }

    /// Returns `[start, start + step, …]` up to but excluding `end`, as float32.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        require(step != 0, "arange: step is zero")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor((0..<n).map { start + Float($0) * step }, shape: [n])
    }

    /// Returns the elements in row-major order as a Swift array.
    ///
    /// - Precondition: `Scalar` matches ``dtype``.
    public func toArray<Scalar: TensorScalar>(_ type: Scalar.Type = Float.self) -> [Scalar] {
        require(Scalar.dtype == dtype, "toArray: asked for \(Scalar.dtype) from a \(dtype) tensor")
        let source = contiguous()
        let n = count
        return [Scalar](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0, let base = buffer.baseAddress {
                UnsafeMutableRawPointer(base).copyMemory(from: source.rawPointer, byteCount: n * dtype.byteSize)
            }
            initialized = n
        }
    }

    /// Returns the only element of a one-element tensor, converted to Float.
    public func item() -> Float {
        require(count == 1, "item: tensor of shape \(shape) has \(count) elements, not 1")
        return asType(.float32).contiguous().floats[0]
    }
}

extension Tensor {
    /// Creates a contiguous tensor whose elements `body` writes, as raw bytes in row-major order.
    public init(
        unsafeUninitializedShape shape: [Int], dtype: DType,
        initializingWith body: (UnsafeMutableRawBufferPointer) throws -> Void
    ) rethrows {
        require(shape.allSatisfy { $0 >= 0 }, "Tensor(unsafeUninitializedShape:): negative dimension in \(shape)")
        self.init(uninitializedShape: shape, dtype: dtype)
        try body(UnsafeMutableRawBufferPointer(start: rawPointer, count: count * dtype.byteSize))
    }

    /// Calls `body` with the elements' bytes in row-major order (a contiguous copy when needed).
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let source = contiguous()
        return try body(UnsafeRawBufferPointer(start: source.rawPointer, count: count * dtype.byteSize))
    }

    /// Calls `body` with write access to this tensor's own elements, in place.
    ///
    /// This is the explicit in-place API that optimizers use for parameter updates; other views of
    /// the same storage see the change. No gradient is recorded.
    /// - Precondition: the tensor is contiguous.
    public func withUnsafeMutableBytes<Result>(
        _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows
        -> Result
    {
        require(isContiguous, "withUnsafeMutableBytes: tensor of shape \(shape) is a non-contiguous view")
        return try body(UnsafeMutableRawBufferPointer(start: rawPointer, count: count * dtype.byteSize))
    }
}
