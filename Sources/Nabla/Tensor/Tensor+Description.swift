extension Tensor: CustomStringConvertible {
    /// A readable rendering: the values (nested by dimension, at most 6 per dimension with `…`
    /// in between), then the shape and dtype.
    public var description: String {
        func rendering<Scalar: TensorScalar>(_ tensor: Tensor, _ type: Scalar.Type) -> (Int) -> String {
            let values = tensor.toArray(type)
            return { "\(values[$0])" }
        }
        let element: (Int) -> String
        switch dtype {
        case .float32: element = rendering(self, Float.self)
        case .int32: element = rendering(self, Int32.self)
        case .int64: element = rendering(self, Int64.self)
        case .uint8: element = rendering(self, UInt8.self)
        case .bool:
            let values = asType(.uint8).toArray(UInt8.self)
            element = { values[$0] != 0 ? "true" : "false" }
        }
        let strides = Shape.contiguousStrides(shape)
        func render(_ dim: Int, _ base: Int) -> String {
            if dim == rank { return element(base) }
            let n = shape[dim]
            let shown: [Int] = n <= 6 ? Array(0..<n) : [0, 1, 2, -1, n - 3, n - 2, n - 1]
            let parts = shown.map { $0 < 0 ? "…" : render(dim + 1, base + $0 * strides[dim]) }
            return "["
                + parts.joined(separator: dim == rank - 1 ? ", " : ",\n" + String(repeating: " ", count: dim + 1)) + "]"
        }
        let body = count == 0 ? "[]" : render(0, 0)
        return "\(body), shape \(shape), \(dtype)"
    }
}
