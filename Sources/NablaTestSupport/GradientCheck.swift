import Nabla
import Testing

/// Checks the gradients autodiff computes for `function` against central finite differences.
///
/// The scalar checked is `Σ function(inputs) · r` for a fixed random `r`, so every output element
/// contributes with a different weight. Each input element is perturbed by `±epsilon`; the
/// analytic and numeric gradients must agree within `rtol` relative to the largest gradient
/// magnitude of that input (plus a small absolute floor for near-zero gradients). Reports at the caller's line.
public func checkGradients(
    of function: ([Tensor]) -> Tensor, at inputs: [Tensor], epsilon: Float = 1e-2, rtol: Float = Tolerance.gradient,
    seed: UInt64 = 7, _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    let probeShape = withoutGradients { function(inputs).shape }
    let weights = Tensor.uniform(probeShape, low: -1, high: 1, generator: RandomGenerator(seed: seed))
    func objective(_ xs: [Tensor]) -> Tensor { (function(xs) * weights).sum() }

    // Analytic: one backward pass on fresh leaves.
    var leaves = inputs.map { $0.contiguous().detached() }
    for i in leaves.indices where leaves[i].dtype == .float32 { leaves[i].requiresGradient = true }
    objective(leaves).backward()

    for (index, input) in inputs.enumerated() where input.dtype == .float32 {
        let analytic = leaves[index].gradient?.toArray() ?? [Float](repeating: 0, count: input.count)
        let base = input.contiguous().toArray()
        var numeric = [Float](repeating: 0, count: base.count)
        withoutGradients {
            for k in 0..<base.count {
                var plus = base, minus = base
                plus[k] += epsilon
                minus[k] -= epsilon
                var xs = inputs
                xs[index] = Tensor(plus, shape: input.shape)
                let fPlus = objective(xs).item()
                xs[index] = Tensor(minus, shape: input.shape)
                let fMinus = objective(xs).item()
                numeric[k] = (fPlus - fMinus) / (2 * epsilon)
            }
        }
        let scale = Swift.max(numeric.map(abs).max() ?? 0, 1e-3)
        var worst = (k: -1, error: Float(0))
        for k in 0..<base.count {
            let error = abs(analytic[k] - numeric[k]) / scale
            if !(error <= worst.error) || worst.k < 0 { worst = (k, error.isNaN ? .infinity : error) }
        }
        if worst.k >= 0 && worst.error > rtol {
            Issue.record(
                "\(comment) input \(index) \(input.shape), element \(worst.k): analytic \(analytic[worst.k]) vs numeric \(numeric[worst.k]) (relative error \(worst.error) > \(rtol))",
                sourceLocation: sourceLocation)
        }
    }
}

/// Returns a float32 tensor of uniform values in `[low, high)` from a fixed seed, for tests.
public func randomTensor(_ shape: [Int], low: Float = -1, high: Float = 1, seed: UInt64 = 1) -> Tensor {
    Tensor.uniform(shape, low: low, high: high, generator: RandomGenerator(seed: seed))
}
