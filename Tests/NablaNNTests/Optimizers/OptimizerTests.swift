import Foundation
import Nabla
import NablaNN
import NablaTestSupport
import Testing

/// Each optimizer on a fixed problem with a fixed seed, against the update rules written out
/// step by step here in Double (not through the code under test).
@Suite struct OptimizerTests {
    /// The gradient of the fixed problem `f(p) = Σ (p − target)² · w` at `p`.
    static let target: [Double] = [0.5, -1, 2, 0.25]
    static let weights: [Double] = [1, 3, 0.5, 2]
    static let start: [Float] = [1, 0.5, -1, 0.3]

    static func gradient(_ p: [Double]) -> [Double] { (0..<4).map { 2 * (p[$0] - target[$0]) * weights[$0] } }

    /// Runs `steps` optimizer steps through autodiff and returns the parameter.
    static func run(_ optimizer: any Optimizer, steps: Int) throws -> [Float] {
        let parameter = Parameter(Tensor(start))
        let target = Tensor(Self.target.map(Float.init)), weights = Tensor(Self.weights.map(Float.init))
        for _ in 0..<steps {
            ((parameter.value - target).square() * weights).sum().backward()
            try optimizer.step([parameter])
        }
        return parameter.value.toArray()
    }

    /// Runs the reference update `update(p, g, t)` (t from 1) for `steps` steps.
    static func reference(steps: Int, _ update: (inout [Double], [Double], Int) -> Void) -> [Float] {
        var p = start.map(Double.init)
        for t in 1...steps { update(&p, gradient(p), t) }
        return p.map(Float.init)
    }

    @Test func sgd() throws {
        let expected = Self.reference(steps: 5) { p, g, _ in for i in 0..<4 { p[i] -= 0.05 * g[i] } }
        expectClose(try Self.run(SGD(learningRate: 0.05), steps: 5), expected, rtol: 1e-5, atol: 1e-6)
    }

    @Test(arguments: [false, true])
    func sgdWithMomentum(nesterov: Bool) throws {
        var v = [Double](repeating: 0, count: 4)
        let expected = Self.reference(steps: 6) { p, g, _ in
            for i in 0..<4 {
                v[i] = 0.9 * v[i] - 0.02 * g[i]
                p[i] += nesterov ? 0.9 * v[i] - 0.02 * g[i] : v[i]
            }
        }
        expectClose(
            try Self.run(SGD(learningRate: 0.02, momentum: 0.9, nesterov: nesterov), steps: 6), expected, rtol: 1e-5,
            atol: 1e-6)
    }

    @Test(arguments: [(false, Float(0)), (true, Float(0)), (false, Float(0.5))])
    func rmsprop(centered: Bool, momentum: Float) throws {
        var s = [Double](repeating: 0, count: 4), mg = s, vel = s
        let expected = Self.reference(steps: 6) { p, g, _ in
            for i in 0..<4 {
                s[i] = 0.9 * s[i] + 0.1 * g[i] * g[i]
                var denominator = s[i]
                if centered {
                    mg[i] = 0.9 * mg[i] + 0.1 * g[i]
                    denominator -= mg[i] * mg[i]
                }
                let increment = 0.01 * g[i] / (denominator + 1e-7).squareRoot()
                if momentum > 0 {
                    vel[i] = Double(momentum) * vel[i] + increment
                    p[i] -= vel[i]
                } else {
                    p[i] -= increment
                }
            }
        }
        let optimizer = RMSProp(learningRate: 0.01, momentum: momentum, centered: centered)
        expectClose(try Self.run(optimizer, steps: 6), expected, rtol: 1e-5, atol: 1e-6)
    }

    @Test(arguments: [Float(0), Float(0.1)])
    func adamAndAdamW(weightDecay: Float) throws {
        var m = [Double](repeating: 0, count: 4), v = m
        let (lr, b1, b2, eps) = (0.01, 0.9, 0.999, 1e-7)
        let expected = Self.reference(steps: 8) { p, g, t in
            for i in 0..<4 {
                p[i] -= lr * Double(weightDecay) * p[i]
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                let mHat = m[i] / (1 - pow(b1, Double(t))), vHat = v[i] / (1 - pow(b2, Double(t)))
                p[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
        }
        let optimizer: Optimizer =
            weightDecay > 0 ? AdamW(learningRate: 0.01, weightDecay: weightDecay) : Adam(learningRate: 0.01)
        expectClose(try Self.run(optimizer, steps: 8), expected, rtol: 1e-5, atol: 1e-6)
    }

    @Test func adagrad() throws {
        var a = [Double](repeating: 0.1, count: 4)
        let expected = Self.reference(steps: 6) { p, g, _ in
            for i in 0..<4 {
                a[i] += g[i] * g[i]
                p[i] -= 0.1 * g[i] / (a[i] + 1e-7).squareRoot()
            }
        }
        expectClose(try Self.run(Adagrad(learningRate: 0.1), steps: 6), expected, rtol: 1e-5, atol: 1e-6)
    }

    @Test func gradientClippingByNormAndValue() throws {
        // One SGD step with learning rate 1 moves the parameter by exactly the clipped gradient.
        let g = Self.gradient(Self.start.map(Double.init))
        let norm = g.map { $0 * $0 }.reduce(0, +).squareRoot()
        let byNorm = zip(Self.start, g).map { Float(Double($0) - $1 * 1 / norm) }
        expectClose(try Self.run(SGD(learningRate: 1, clipNorm: 1), steps: 1), byNorm, rtol: 1e-5, atol: 1e-6)
        let byValue = zip(Self.start, g).map { Float(Double($0) - Swift.min(Swift.max($1, -0.5), 0.5)) }
        expectClose(try Self.run(SGD(learningRate: 1, clipValue: 0.5), steps: 1), byValue, rtol: 1e-5, atol: 1e-6)
    }

    @Test func schedulesFollowTheirFormulas() throws {
        expectClose([StepDecay(initial: 1, stepSize: 10, factor: 0.5).learningRate(at: 25)], [0.25])
        expectClose(
            [ExponentialDecay(initial: 1, decaySteps: 10, rate: 0.5).learningRate(at: 5)], [Float(0.5.squareRoot())])
        expectClose([CosineDecay(initial: 1, decaySteps: 100).learningRate(at: 50)], [0.5], atol: 1e-6)
        expectClose([CosineDecay(initial: 1, decaySteps: 100, warmupSteps: 10).learningRate(at: 4)], [0.5])
        let cycle = OneCycle(maximum: 1, totalSteps: 101, percentStart: 0.3)
        expectClose([cycle.learningRate(at: 30), cycle.learningRate(at: 0)], [1, 0.04])
        let optimizer = SGD(learningRate: 1, schedule: StepDecay(initial: 0.1, stepSize: 1, factor: 0.5))
        _ = try Self.run(optimizer, steps: 2)
        expectClose([optimizer.learningRate], [0.025])
    }

    /// Multiplies every gradient by a constant.
    struct ScaleGradients: GradientHook {
        let factor: Float
        func process(_ gradients: [Tensor], of parameters: [Parameter]) -> [Tensor] { gradients.map { $0 * factor } }
    }

    @Test func gradientHookRunsBetweenBackwardAndTheUpdate() throws {
        // loss = Σ p, so the gradient is 1 everywhere: SGD moves each element by −lr · (hook factor).
        let plain = SGD(learningRate: 0.1)
        let hooked = SGD(learningRate: 0.1)
        hooked.gradientHooks = [ScaleGradients(factor: 3)]
        var results: [[Float]] = []
        for optimizer in [plain, hooked] {
            let parameter = Parameter(Tensor([Float(1), 2]))
            parameter.value.sum().backward()
            try optimizer.step([parameter])
            results.append(parameter.value.toArray())
            #expect(parameter.gradient == nil)
        }
        expectClose(results[0], [0.9, 1.9], atol: 1e-6)
        expectClose(results[1], [0.7, 1.7], atol: 1e-6)
    }

    @Test func reduceLROnPlateauActsOnAScheduledOptimizer() throws {
        // A schedule of 1, 0.5, 0.25, … by step; the callback's write used to be ignored under one.
        let optimizer = SGD(learningRate: 1, schedule: StepDecay(initial: 1, stepSize: 1, factor: 0.5))
        let model = Sequential(inputShape: [1]) { Dense(units: 1) }
        model.compile(optimizer: optimizer, loss: MeanSquaredError())
        let callback = ReduceLROnPlateau(monitor: "loss", factor: 0.1, patience: 1)
        try callback.onEpochEnd(0, logs: ["loss": 1], model: model)
        #expect(optimizer.learningRate == 1)
        try callback.onEpochEnd(1, logs: ["loss": 2], model: model)
        expectClose([optimizer.learningRate], [0.1])
        // Later steps follow the schedule's shape, scaled.
        let parameter = Parameter(Tensor([Float(0)]))
        parameter.value.sum().backward()
        try optimizer.step([parameter])
        expectClose([optimizer.learningRate], [0.05])
        // A constant rate is replaced outright.
        let constant = SGD(learningRate: 0.2)
        constant.learningRate = 0.02
        #expect(constant.learningRate == 0.02)
    }
}
