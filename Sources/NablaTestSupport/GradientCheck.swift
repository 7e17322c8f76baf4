import Nabla
import Testing

/// Checks the gradients autodiff computes for `function` against central finite differences.
///
/// The scalar checked is `Σ function(inputs) · r` for a fixed random `r`, so every output element
/// contributes with a different weight. Each input element is perturbed by `±epsilon`, and each
/// element's analytic gradient `a` must lie within `atol + rtol · |n|` of its numeric one `n`:
/// judged per element, so a small error in a small gradient is not hidden by a large one
/// elsewhere. The allowance has a floor: `atol`, plus the rounding error of the difference
/// itself, `2 · Σ |r_j| · ulp(y_j) / (2 · epsilon)` over the outputs `y_j` the perturbation changed
/// (the weighted sum is taken in Double, so unchanged outputs cancel exactly). Large outputs thus
/// widen the allowance only by what float32 cannot resolve. NaN on either side is a failure.
/// Reports at the caller's line; rethrows what `function` throws.
public func checkGradients(
    of function: ([Tensor]) throws -> Tensor, at inputs: [Tensor], epsilon: Float = 1e-2,
    rtol: Float = Tolerance.gradient, atol: Float = Tolerance.gradientFloor, seed: UInt64 = 7, _ comment: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) rethrows {
    let probeShape = try withoutGradients { try function(inputs).shape }
    let weights = Tensor.uniform(probeShape, low: -1, high: 1, generator: RandomGenerator(seed: seed))
    let r = weights.toArray(Float.self)
    func objective(_ xs: [Tensor]) throws -> Tensor { (try function(xs) * weights).sum() }
    func outputs(_ xs: [Tensor]) throws -> [Float] {
        try function(xs).asType(.float32).contiguous().toArray(Float.self)
    }

    // Analytic: one backward pass on fresh leaves.
    var leaves = inputs.map { $0.contiguous().detached() }
    for i in leaves.indices where leaves[i].dtype == .float32 { leaves[i].requiresGradient = true }
    try objective(leaves).backward()

    for (index, input) in inputs.enumerated() where input.dtype == .float32 {
        let analytic = leaves[index].gradient?.toArray() ?? [Float](repeating: 0, count: input.count)
        let base = input.contiguous().toArray()
        var numeric = [Float](repeating: 0, count: base.count)
        var floor = [Float](repeating: atol, count: base.count)
        try withoutGradients {
            for k in 0..<base.count {
                var plus = base, minus = base
                plus[k] += epsilon
                minus[k] -= epsilon
                var xs = inputs
                xs[index] = Tensor(plus, shape: input.shape)
                let yPlus = try outputs(xs)
                xs[index] = Tensor(minus, shape: input.shape)
                let yMinus = try outputs(xs)
                var difference = 0.0, rounding = 0.0
                for j in r.indices where yPlus[j] != yMinus[j] || yPlus[j].isNaN {
                    difference += Double(r[j]) * (Double(yPlus[j]) - Double(yMinus[j]))
                    rounding += Double(abs(r[j])) * Double(Swift.max(yPlus[j].magnitude, yMinus[j].magnitude).ulp)
                }
                numeric[k] = Float(difference / (2 * Double(epsilon)))
                floor[k] += Float(2 * rounding / (2 * Double(epsilon)))
            }
        }
        for k in 0..<base.count {
            let error = abs(analytic[k] - numeric[k]), allowed = floor[k] + rtol * abs(numeric[k])
            guard !(error <= allowed) else { continue }
            Issue.record(
                "\(comment) input \(index) \(input.shape), element \(k): analytic \(analytic[k]) vs numeric \(numeric[k]) (allowed \(floor[k]) + \(rtol)·|numeric|)",
                sourceLocation: sourceLocation)
            break
        }
    }
}

/// Returns a float32 tensor of uniform values in `[low, high)` from a fixed seed, for tests.
public func randomTensor(_ shape: [Int], low: Float = -1, high: Float = 1, seed: UInt64 = 1) -> Tensor {
    Tensor.uniform(shape, low: low, high: high, generator: RandomGenerator(seed: seed))
}
