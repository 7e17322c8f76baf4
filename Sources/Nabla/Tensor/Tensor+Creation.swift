// Creating tensors from Swift values and reading them back: the host-buffer API. Outside the core,
// tensor memory is reached only through these (and the readers and codecs use them).

extension Tensor {
    /// Creates a tensor from scalars in row-major order, on `device` (the default device if nil).
    ///
    /// - Precondition: `values.count` equals the product of `shape`.
    public init<Scalar: TensorScalar>(_ values: [Scalar], shape: [Int], device: Device? = nil) {
        require(shape.allSatisfy { $0 >= 0 }, "Tensor(_:shape:): negative dimension in \(shape)")
        require(
            values.count == Shape.count(shape),
            "Tensor(_:shape:): \(values.count) values do not fill shape \(shape) (\(Shape.count(shape)) elements)")
        self.init(uninitializedShape: shape, dtype: Scalar.dtype, backend: Backends.backend(for: device ?? .current))
        let out = self
        values.withUnsafeBytes { out.backend.write($0, into: out) }
    }

    /// Creates a one-dimensional tensor from scalars.
    public init<Scalar: TensorScalar>(_ values: [Scalar]) {
        self.init(values, shape: [values.count])
    }

    /// Creates a rank-0 float32 tensor.
    public init(_ value: Float) {
        self.init([value], shape: [])
    }

    /// Returns a rank-0 float32 tensor holding `value` on the same device as `other`.
    static func scalar(_ value: Float, like other: Tensor) -> Tensor {
        filled([], value: value, backend: other.backend)
    }

    /// Returns a tensor of the given shape with every element zero.
    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device? = nil) -> Tensor {
        full(shape, value: 0, dtype: dtype, device: device)
    }

    /// Returns a tensor of the given shape with every element one.
    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device? = nil) -> Tensor {
        full(shape, value: 1, dtype: dtype, device: device)
    }

    /// Returns a tensor of the given shape with every element equal to `value` (converted to `dtype`).
    public static func full(_ shape: [Int], value: Float, dtype: DType = .float32, device: Device? = nil) -> Tensor {
        require(shape.allSatisfy { $0 >= 0 }, "full: negative dimension in \(shape)")
        return filled(shape, value: value, dtype: dtype, backend: Backends.backend(for: device ?? .current))
    }

    /// Returns a tensor of `shape` filled with `value` on `backend`'s device.
    static func filled(_ shape: [Int], value: Float, dtype: DType = .float32, backend: any Backend) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: dtype, backend: backend)
        backend.fill(out, value: value)
        return out
    }

    /// Returns a zero-filled float32 tensor of `shape` on `other`'s device.
    static func zeros(_ shape: [Int], like other: Tensor) -> Tensor {
        filled(shape, value: 0, backend: other.backend)
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
            if n > 0 { source.backend.read(source, into: UnsafeMutableRawBufferPointer(buffer)) }
            initialized = n
        }
    }

    /// Returns the only element of a one-element tensor, converted to Float.
    public func item() -> Float {
        require(count == 1, "item: tensor of shape \(shape) has \(count) elements, not 1")
        return asType(.float32).toArray(Float.self)[0]
    }
}

extension Tensor {
    /// Creates a contiguous tensor whose elements `body` writes, as raw bytes in row-major order,
    /// on `device` (the default device if nil).
    public init(
        unsafeUninitializedShape shape: [Int], dtype: DType, device: Device? = nil,
        initializingWith body: (UnsafeMutableRawBufferPointer) throws -> Void
    ) rethrows {
        require(shape.allSatisfy { $0 >= 0 }, "Tensor(unsafeUninitializedShape:): negative dimension in \(shape)")
        self.init(uninitializedShape: shape, dtype: dtype, backend: Backends.backend(for: device ?? .current))
        let byteCount = count * dtype.byteSize
        if backend.isHostMemory {
            try body(UnsafeMutableRawBufferPointer(start: storage.base, count: byteCount))
        } else {
            // Written on the host, then copied to the device.
            let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 64)
            defer { staging.deallocate() }
            try body(staging)
            backend.write(UnsafeRawBufferPointer(staging), into: self)
        }
    }

    /// Calls `body` with the elements' bytes in row-major order (a contiguous copy when needed,
    /// in host memory).
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let source = contiguous()
        let byteCount = count * dtype.byteSize
        if source.backend.isHostMemory {
            return try body(
                UnsafeRawBufferPointer(start: source.storage.base + source.offset * dtype.byteSize, count: byteCount))
        }
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 64)
        defer { staging.deallocate() }
        source.backend.read(source, into: staging)
        return try body(UnsafeRawBufferPointer(staging))
    }
}
