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
