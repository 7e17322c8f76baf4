/// An n-dimensional array with a run-time element type and reverse-mode automatic differentiation.
///
/// A tensor is a value: a view (`shape`, `strides`, `offset`) over reference-counted storage on a
/// ``Device``. Operations return new tensors on their inputs' device and never change their inputs;
/// views such as ``reshaped(_:)``, ``transposed()``, ``slice(axis:start:end:step:)`` and
/// ``expanded(to:)`` share storage and copy nothing. The only writes into existing storage are the
/// optimizer's, through ``assign(_:)`` and the update ops.
///
/// Set ``requiresGradient`` on a leaf, compute a scalar from it, call ``backward()``, and read
/// ``gradient``. Inside ``withoutGradients(_:)`` nothing is recorded.
public struct Tensor: @unchecked Sendable {
    let storage: Storage
    /// The size of each dimension.
    public let shape: [Int]
    /// The distance, in elements, between neighbours along each dimension.
    public let strides: [Int]
    /// The position of the first element in the storage, in elements.
    let offset: Int
    /// The element type.
    public let dtype: DType
    /// The autodiff record: a leaf's gradient slot, or how this value was computed.
    var node: GradNode?

    init(storage: Storage, shape: [Int], strides: [Int], offset: Int, dtype: DType, node: GradNode? = nil) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.dtype = dtype
        self.node = node
    }

    /// Creates an uninitialised contiguous tensor on `backend`'s device.
    init(uninitializedShape shape: [Int], dtype: DType, backend: any Backend) {
        let count = Shape.count(shape)
        self.init(
            storage: backend.allocate(byteCount: count * dtype.byteSize), shape: shape,
            strides: Shape.contiguousStrides(shape), offset: 0, dtype: dtype)
    }

    /// Creates an uninitialised contiguous tensor on the default device.
    init(uninitializedShape shape: [Int], dtype: DType) {
        self.init(uninitializedShape: shape, dtype: dtype, backend: Backends.backend(for: .current))
    }

    /// Returns a view of `other`'s elements with another layout (shape, strides, offset), sharing storage.
    init(viewing other: Tensor, shape: [Int], strides: [Int], offset: Int? = nil) {
        self.init(
            storage: other.storage, shape: shape, strides: strides, offset: offset ?? other.offset, dtype: other.dtype)
    }

    /// Returns a tensor over the same memory that `backend` computes on (for test backends that
    /// hand their work to another backend of the same address space).
    package func aliased(on backend: any Backend) -> Tensor {
        Tensor(
            storage: Storage(aliasing: storage, backend: backend), shape: shape, strides: strides, offset: offset,
            dtype: dtype)
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The number of elements.
    public var count: Int { Shape.count(shape) }

    /// Whether the elements lie in row-major order with no gaps.
    public var isContiguous: Bool {
        var expected = 1
        for d in stride(from: rank - 1, through: 0, by: -1) where shape[d] != 1 {
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// Returns a row-major copy, or this tensor when it already is contiguous.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitializedShape: shape, dtype: dtype, backend: backend)
        backend.copy(self, into: out)
        guard GradientMode.shouldRecord(self) else { return out }
        return out.recorded(.contiguous, inputs: [self]) { [$0] }
    }

    /// Returns the elements converted to another dtype (float → integer truncates toward zero).
    ///
    /// Converting float32 to float32 returns this tensor; gradients flow only through that case.
    public func asType(_ type: DType) -> Tensor {
        if type == dtype { return self }
        let source = contiguous()
        let out = Tensor(uninitializedShape: shape, dtype: type, backend: backend)
        backend.convert(source, into: out)
        return out.traced(.convert, ["dtype": .string(type.description)], inputs: [self])
    }

    /// Overwrites this tensor's elements with `value`'s, in place, without recording gradients.
    ///
    /// This is how optimizers update parameters. Other views of the same storage see the change.
    /// - Precondition: same shape, dtype and device.
    public func assign(_ value: Tensor) {
        require(value.shape == shape, "assign: shape \(value.shape) does not match \(shape)")
        require(value.dtype == dtype, "assign: dtype \(value.dtype) does not match \(dtype)")
        let backend = Tensor.backend(of: self, value, op: "assign")
        if value.storage === storage && value.offset == offset && value.strides == strides { return }
        backend.copy(value, into: self)
    }
}
