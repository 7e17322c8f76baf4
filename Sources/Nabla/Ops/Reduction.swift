// Reductions over any set of axes: sum, mean, max, min, variance; argmax / argmin along one axis.

extension Tensor {
    /// Runs a reduction primitive; returns the result with reduced axes kept as size 1.
    private func reduceKernel(_ op: ReductionOp, axes: [Int], name: String) -> Tensor {
        require(dtype == .float32, "\(name): expected float32, got \(dtype) \(shape)")
        if op != .sum {
            for a in axes { require(shape[a] > 0, "\(name): cannot reduce over empty axis \(a) of \(shape)") }
        }
        var keptShape = shape
        for a in axes { keptShape[a] = 1 }
        let out = Tensor(uninitializedShape: keptShape, dtype: .float32, backend: backend)
        backend.reduce(op, self, axes: axes, into: out)
        return out
    }

    /// Returns contiguous `kept` without the reduced axes (a view that records nothing: the
    /// reduction's record covers it).
    private func removingAxes(_ kept: Tensor, _ axes: [Int], keepDims: Bool) -> Tensor {
        if keepDims { return kept }
        let set = Set(axes)
        let shape = (0..<rank).filter { !set.contains($0) }.map { self.shape[$0] }
        return Tensor(viewing: kept, shape: shape, strides: Shape.contiguousStrides(shape))
    }

    /// Returns the sum over `axes` (all axes when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let axes = Shape.normalize(axes: axes ?? Array(0..<rank), rank: rank, op: "sum")
        let kept = reduceKernel(.sum, axes: axes, name: "sum")
        let out = removingAxes(kept, axes, keepDims: keepDims).detached()
        guard GradientMode.shouldRecord(self) else { return out }
        let keptShape = kept.shape, inputShape = shape
        return out.recorded(.sum, ["axes": .ints(axes), "keepDims": .bool(keepDims)], inputs: [self]) { g in
            [g.reshaped(keptShape).expanded(to: inputShape)]
        }
    }

    /// Returns the arithmetic mean over `axes` (all axes when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let axes = Shape.normalize(axes: axes ?? Array(0..<rank), rank: rank, op: "mean")
        let n = axes.reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDims: keepDims) / Float(Swift.max(n, 1))
    }

    /// Returns the maximum over `axes` (all axes when nil); ties share the gradient evenly.
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        extreme(.max, axes: axes, keepDims: keepDims, kind: .max)
    }

    /// Returns the minimum over `axes` (all axes when nil); ties share the gradient evenly.
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        extreme(.min, axes: axes, keepDims: keepDims, kind: .min)
    }

    private func extreme(_ op: ReductionOp, axes: [Int]?, keepDims: Bool, kind: OpKind) -> Tensor {
        let axes = Shape.normalize(axes: axes ?? Array(0..<rank), rank: rank, op: kind.rawValue)
        let kept = reduceKernel(op, axes: axes, name: kind.rawValue)
        let out = removingAxes(kept, axes, keepDims: keepDims)
        guard GradientMode.shouldRecord(self) else { return out }
        let x = detached()
        return out.recorded(kind, ["axes": .ints(axes), "keepDims": .bool(keepDims)], inputs: [self]) { g in
            let mask = (x .== kept).asType(.float32)
            let ties = mask.sum(axes: axes, keepDims: true)
            return [mask * (g.reshaped(kept.shape) / ties)]
        }
    }

    /// Returns the (biased) variance over `axes`: `mean((x - mean(x))²)`, as numpy and Keras compute it.
    public func variance(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let axes = Shape.normalize(axes: axes ?? Array(0..<rank), rank: rank, op: "variance")
        let centred = self - mean(axes: axes, keepDims: true)
        return centred.square().mean(axes: axes, keepDims: keepDims)
    }

    /// Returns the int64 index of the largest element along `axis` (the first one on ties).
    public func argmax(axis: Int = -1, keepDims: Bool = false) -> Tensor { argExtreme(axis, keepDims, isMin: false) }

    /// Returns the int64 index of the smallest element along `axis` (the first one on ties).
    public func argmin(axis: Int = -1, keepDims: Bool = false) -> Tensor { argExtreme(axis, keepDims, isMin: true) }

    private func argExtreme(_ axis: Int, _ keepDims: Bool, isMin: Bool) -> Tensor {
        let name = isMin ? "argmin" : "argmax"
        require(dtype == .float32, "\(name): expected float32, got \(dtype) \(shape)")
        let a = Shape.normalize(axis: axis, rank: rank, op: name)
        require(shape[a] > 0, "\(name): axis \(a) of \(shape) is empty")
        let x = contiguous()
        var keptShape = shape
        keptShape[a] = 1
        let out = Tensor(uninitializedShape: keptShape, dtype: .int64, backend: x.backend)
        x.backend.argExtreme(x, axis: a, isMinimum: isMin, into: out)
        let result = keepDims ? out : out.reshaped(shape.enumerated().filter { $0.offset != a }.map(\.element))
        return result.traced(isMin ? .argmin : .argmax, ["axis": .int(a), "keepDims": .bool(keepDims)], inputs: [self])
    }

    /// Sums a broadcast gradient back down to `target`, the shape of the input that was broadcast.
    func sumTo(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for (i, d) in target.enumerated() where d == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        return sum(axes: axes, keepDims: true).reshaped(target)
    }
}
