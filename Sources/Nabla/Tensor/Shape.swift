/// Shape arithmetic shared by the ops: element counts, strides, broadcasting, axis normalisation.
public enum Shape {
    /// Returns the number of elements of a shape (1 for a scalar).
    static func count(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape { n *= d }
        return n
    }

    /// Returns the row-major (C order) strides of a shape, in elements.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = s
            s *= max(shape[d], 1)
        }
        return strides
    }

    /// Returns the numpy broadcast of two shapes, or nil when they do not broadcast.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 {
                out[i] = da
            } else if da == 1 {
                out[i] = db
            } else {
                return nil
            }
        }
        return out
    }

    /// Returns `axis` in `0..<rank`, allowing negative axes counted from the end.
    static func normalize(axis: Int, rank: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        require(a >= 0 && a < rank, "\(op): axis \(axis) is out of range for rank \(rank)")
        return a
    }

    /// Returns sorted, unique, normalised axes.
    static func normalize(axes: [Int], rank: Int, op: String) -> [Int] {
        let normalized = axes.map { normalize(axis: $0, rank: rank, op: op) }
        let unique = Array(Set(normalized)).sorted()
        require(unique.count == normalized.count, "\(op): repeated axis in \(axes)")
        return unique
    }

    /// Merges adjacent dimensions that every operand walks contiguously.
    ///
    /// Kernels then run longer inner loops. Operand strides are in elements; a broadcast operand has stride 0.
    static func coalesce(_ shape: [Int], _ strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        guard shape.count > 1 else { return (shape, strides) }
        var outShape = [shape[0]]
        var outStrides = strides.map { [$0[0]] }
        for d in 1..<shape.count {
            let mergeable = strides.allSatisfy { s in s[d - 1] == s[d] * shape[d] }
            if mergeable {
                outShape[outShape.count - 1] *= shape[d]
                for o in 0..<strides.count { outStrides[o][outStrides[o].count - 1] = strides[o][d] }
            } else {
                outShape.append(shape[d])
                for o in 0..<strides.count { outStrides[o].append(strides[o][d]) }
            }
        }
        return (outShape, outStrides)
    }
}
