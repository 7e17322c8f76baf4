import CNablaKernels

/// An n-dimensional array with a run-time element type and reverse-mode automatic differentiation.
///
/// A tensor is a value: a view (`shape`, `strides`, `offset`) over reference-counted storage.
/// Operations return new tensors and never change their inputs; views such as ``reshaped(_:)``,
/// ``transposed(_:)``, ``slice(axis:start:end:step:)`` and ``expanded(to:)`` share storage and
/// copy nothing. The only writes into existing storage are the optimizer's, through
/// ``assign(_:)``.
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

    /// Creates an uninitialised contiguous tensor.
    init(uninitializedShape shape: [Int], dtype: DType) {
        let count = Shape.count(shape)
        self.init(
            storage: Storage(byteCount: count * dtype.byteSize), shape: shape,
            strides: Shape.contiguousStrides(shape), offset: 0, dtype: dtype)
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

    /// The address of the first element.
    package var rawPointer: UnsafeMutableRawPointer { storage.base + offset * dtype.byteSize }

    /// The first element as float32 (the tensor must be float32).
    package var floats: UnsafeMutablePointer<Float> {
        require(dtype == .float32, "expected a float32 tensor, got \(dtype)")
        return rawPointer.assumingMemoryBound(to: Float.self)
    }

    /// Returns a row-major copy, or this tensor when it already is contiguous.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitializedShape: shape, dtype: dtype)
        Tensor.copyElements(from: self, into: out.rawPointer, strides: out.strides)
        return recordUnary(out, self) { $0 }
    }

    /// Copies this view's elements into `destination` laid out with `destinationStrides`.
    static func copyElements(from source: Tensor, into destination: UnsafeMutableRawPointer, strides: [Int]) {
        let (shape, s) = Shape.coalesce(source.shape, [source.strides, strides])
        let total = source.count
        shape.withUnsafeBufferPointer { sh in
            s[0].withUnsafeBufferPointer { ss in
                s[1].withUnsafeBufferPointer { ds in
                    let src = UnsafeSendable(UnsafeRawPointer(source.rawPointer))
                    let dst = UnsafeSendable(destination)
                    ThreadPool.parallelFor(total, grain: 1 << 16) { start, end in
                        nbl_copy_strided(
                            Int32(shape.count), sh.baseAddress, src.value, ss.baseAddress, dst.value, ds.baseAddress,
                            Int32(source.dtype.byteSize), start, end)
                    }
                }
            }
        }
    }

    /// Returns the elements converted to another dtype (float → integer truncates toward zero).
    ///
    /// Converting float32 to float32 returns this tensor; gradients flow only through that case.
    public func asType(_ type: DType) -> Tensor {
        if type == dtype { return self }
        let source = contiguous()
        let out = Tensor(uninitializedShape: shape, dtype: type)
        if type == .bool && dtype == .uint8 || type == .uint8 && dtype == .bool {
            let n = count
            let src = source.rawPointer.assumingMemoryBound(to: UInt8.self)
            let dst = out.rawPointer.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { dst[i] = type == .bool ? (src[i] != 0 ? 1 : 0) : src[i] }
        } else {
            nbl_convert(dtype.rawValue, source.rawPointer, type.rawValue, out.rawPointer, count)
        }
        return out
    }

    /// Overwrites this tensor's elements with `value`'s, in place, without recording gradients.
    ///
    /// This is how optimizers update parameters. Other views of the same storage see the change.
    /// - Precondition: same shape and dtype.
    public func assign(_ value: Tensor) {
        require(value.shape == shape, "assign: shape \(value.shape) does not match \(shape)")
        require(value.dtype == dtype, "assign: dtype \(value.dtype) does not match \(dtype)")
        if value.storage === storage && value.offset == offset && value.strides == strides { return }
        Tensor.copyElements(from: value, into: rawPointer, strides: strides)
    }
}
