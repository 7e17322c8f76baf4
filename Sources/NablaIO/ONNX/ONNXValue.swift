import Foundation
import Nabla

/// How a float value of an imported graph is stored, against the ONNX layout it stands for.
enum ONNXLayout: String, Sendable {
    /// As ONNX has it.
    case native
    /// A rank-4 NCHW value stored NHWC (what Nabla's convolutions and poolings take).
    case nhwc
    /// A convolution filter `[M, C, KH, KW]` stored `[KH, KW, C, M]`.
    case hwio
}

/// An integer or boolean array held on the host: shapes, indices, masks.
///
/// Integer ops of an ONNX
/// graph (the shape arithmetic around a Reshape) run on these, not on tensors.
struct IntArray: Sendable, Equatable {
    var shape: [Int]
    var values: [Int64]
    /// `.int64`, `.int32`, `.uint8` or `.bool`.
    var dtype: DType

    init(shape: [Int], values: [Int64], dtype: DType = .int64) {
        (self.shape, self.values, self.dtype) = (shape, values, dtype)
    }

    init(_ values: [Int64], dtype: DType = .int64) { self.init(shape: [values.count], values: values, dtype: dtype) }

    init(scalar: Int64, dtype: DType = .int64) { self.init(shape: [], values: [scalar], dtype: dtype) }

    var count: Int { values.count }
    var ints: [Int] { values.map { Int(clamping: $0) } }

    var tensor: Tensor {
        switch dtype {
        case .bool: Tensor(values.map { $0 != 0 }, shape: shape)
        case .int32: Tensor(values.map { Int32(truncatingIfNeeded: $0) }, shape: shape)
        case .uint8: Tensor(values.map { UInt8(truncatingIfNeeded: $0) }, shape: shape)
        default: Tensor(values, shape: shape)
        }
    }

    var floatTensor: Tensor { Tensor(values.map { Float($0) }, shape: shape) }

    /// Returns the integer values of an integer or bool tensor.
    static func of(_ t: Tensor) -> IntArray {
        let values: [Int64] =
            switch t.dtype {
            case .bool: t.toArray(Bool.self).map { $0 ? 1 : 0 }
            case .float32: t.toArray(Float.self).map { Int64(exactly: $0.rounded(.towardZero)) ?? 0 }
            default: t.asType(.int64).toArray(Int64.self)
            }
        return IntArray(shape: t.shape, values: values, dtype: t.dtype == .float32 ? .int64 : t.dtype)
    }

    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = Array(repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// Returns the elements at every index of `outShape`, each read from `source(index)`.
    static func generate(_ outShape: [Int], _ source: ([Int]) -> Int64) -> [Int64] {
        let total = outShape.reduce(1, *)
        var out: [Int64] = []
        out.reserveCapacity(total)
        var index = Array(repeating: 0, count: outShape.count)
        for _ in 0..<total {
            out.append(source(index))
            var d = outShape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < outShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// Returns the element at `index` of the broadcast of this array to a shape of `index.count` dimensions.
    func broadcastElement(_ index: [Int]) -> Int64 {
        let lead = index.count - shape.count
        var offset = 0, step = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            offset += (shape[d] == 1 ? 0 : index[d + lead]) * step
            step *= shape[d]
        }
        return values[offset]
    }

    func reshaped(_ newShape: [Int]) -> IntArray { IntArray(shape: newShape, values: values, dtype: dtype) }

    func permuted(_ perm: [Int]) -> IntArray {
        let outShape = perm.map { shape[$0] }
        let s = Self.strides(shape)
        return IntArray(
            shape: outShape,
            values: Self.generate(outShape) { idx in values[zip(perm, idx).reduce(0) { $0 + s[$1.0] * $1.1 }] },
            dtype: dtype)
    }

    /// Gathers along `axis` at (already resolved, in-range) `indices` of shape `indexShape`.
    func gathered(_ indices: [Int], indexShape: [Int], axis: Int) -> IntArray {
        let outShape = Array(shape[..<axis]) + indexShape + Array(shape[(axis + 1)...])
        let s = Self.strides(shape)
        let k = indexShape.count
        let indexStrides = Self.strides(indexShape)
        return IntArray(
            shape: outShape,
            values: Self.generate(outShape) { idx in
                var flat = 0
                for i in 0..<k { flat += idx[axis + i] * indexStrides[i] }
                var offset = indices[flat] * s[axis]
                for d in 0..<axis { offset += idx[d] * s[d] }
                for d in (axis + 1)..<shape.count { offset += idx[d + k - 1] * s[d] }
                return values[offset]
            }, dtype: dtype)
    }

    static func concat(_ parts: [IntArray], axis: Int) -> IntArray {
        var shape = parts[0].shape
        shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        let outer = shape[..<axis].reduce(1, *)
        var values: [Int64] = []
        for o in 0..<outer {
            for p in parts {
                let chunk = p.shape[axis...].reduce(1, *)
                values += p.values[(o * chunk)..<((o + 1) * chunk)]
            }
        }
        return IntArray(shape: shape, values: values, dtype: parts[0].dtype)
    }
}

/// A value flowing through an imported graph.
enum ONNXValue {
    /// A float32 tensor and how it is stored.
    case float(Tensor, ONNXLayout)
    /// An integer or boolean array on the host.
    case ints(IntArray)
    /// An optional input left out.
    case none

    /// The shape as ONNX sees it.
    var shape: [Int] {
        switch self {
        case .float(let t, .native): t.shape
        case .float(let t, .nhwc): [t.shape[0], t.shape[3], t.shape[1], t.shape[2]]
        case .float(let t, .hwio): [t.shape[3], t.shape[2], t.shape[0], t.shape[1]]
        case .ints(let a): a.shape
        case .none: []
        }
    }

    var isNone: Bool { if case .none = self { true } else { false } }
    var isFloat: Bool { if case .float = self { true } else { false } }

    /// The tensor in ONNX's layout (a float tensor, or an integer one made from host values).
    var native: Tensor {
        switch self {
        case .float(let t, .native): t
        case .float(let t, .nhwc): t.permuted([0, 3, 1, 2])
        case .float(let t, .hwio): t.permuted([3, 2, 0, 1])
        case .ints(let a): a.tensor
        case .none: Tensor.zeros([0])
        }
    }
}

/// The ONNX element type codes (`TensorProto.DataType`).
enum ONNXType {
    static let float: Int64 = 1, uint8: Int64 = 2, int8: Int64 = 3, int32: Int64 = 6, int64: Int64 = 7
    static let bool: Int64 = 9, double: Int64 = 11
}
