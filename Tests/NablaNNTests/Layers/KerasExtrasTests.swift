import Foundation
import Nabla
import NablaNN
import Testing

/// What the Keras getting-started examples use: Adadelta, kernel regularizers, an input layer,
/// shear augmentation.
@Suite struct KerasExtrasTests {
    /// Two Adadelta steps against the update rule computed by hand, in Double.
    @Test func adadeltaFollowsTheUpdateRule() throws {
        let start: [Float] = [0.5, -1, 2]
        let parameter = Parameter(Tensor(start))
        let optimizer = Adadelta(learningRate: 1, rho: 0.9, epsilon: 1e-6)
        var (p, eg, ed) = (start.map(Double.init), [0.0, 0, 0], [0.0, 0, 0])
        for step in 1...2 {
            // The gradient of Σ (p² + step·p) is 2p + step.
            let g = p.map { 2 * $0 + Double(step) }
            (parameter.value.square() + parameter.value * Float(step)).sum().backward()
            try optimizer.step([parameter])
            for i in 0..<3 {
                eg[i] = 0.9 * eg[i] + 0.1 * g[i] * g[i]
                let delta = (ed[i] + 1e-6).squareRoot() / (eg[i] + 1e-6).squareRoot() * g[i]
                ed[i] = 0.9 * ed[i] + 0.1 * delta * delta
                p[i] -= delta
            }
        }
        for (got, want) in zip(parameter.value.toArray(), p) { #expect(abs(Double(got) - want) < 1e-6) }
    }

    @Test func kernelRegularizersAddTheirPenaltyToTheLoss() throws {
        let model = Sequential(inputShape: [3]) {
            Dense(units: 2, kernelRegularizer: .l2(0.1))
            Dense(units: 1, kernelRegularizer: .l1l2(l1: 0.01, l2: 0.02))
        }
        let w1 = model.layers[0].parameters()[0].parameter.value.toArray()
        let w2 = model.layers[1].parameters()[0].parameter.value.toArray()
        let expected =
            0.1 * w1.reduce(0) { $0 + $1 * $1 } + 0.01 * w2.reduce(0) { $0 + abs($1) } + 0.02
            * w2.reduce(0) { $0 + $1 * $1 }
        let penalty = try #require(model.regularizationLoss).item()
        #expect(abs(penalty - expected) < 1e-5)
        model.compile(optimizer: SGD(learningRate: 0), loss: MeanSquaredError())
        let x = Tensor.uniform([4, 3]), y = Tensor.zeros([4, 1])
        let history = try model.fit(x: x, y: y, batchSize: 4, verbose: .silent, seed: 1)
        let plain = MeanSquaredError()(try model.predict(x), y).item()
        #expect(abs(Float(history["loss"][0]) - (plain + penalty)) < 1e-5)
        #expect(abs(Float(try model.evaluate(x: x, y: y)["loss"] ?? 0) - (plain + penalty)) < 1e-5)
        let path = NSTemporaryDirectory() + "nabla-reg-\(UUID().uuidString).nabla"
        try model.save(to: path)
        let loaded = try #require(try Model.load(path) as? Sequential)
        #expect((loaded.layers[1] as? Dense)?.kernelRegularizer == .l1l2(l1: 0.01, l2: 0.02))
        #expect(Regularizer(name: "l2(-1)") == nil && Regularizer(name: "l3(1)") == nil)
    }

    @Test func anInputLayerBuildsTheModelAtOnce() throws {
        let model = Sequential {
            InputLayer(shape: [28, 28, 1])
            Flatten()
            Dense(units: 10)
        }
        #expect(model.outputShape == [10])
        #expect(model.summary().contains("input (InputLayer)"))
        let path = NSTemporaryDirectory() + "nabla-input-\(UUID().uuidString).nabla"
        try model.save(to: path)
        #expect(try Model.load(path).outputShape == [10])
    }

    /// A shear moves each row sideways by tan(angle) times its distance from the centre row.
    @Test func shearMovesRowsInProportionToTheirDistanceFromTheCentre() {
        let m = AffineMatrix.shear(height: 5, width: 5, angle: .pi / 4)
        // Output (y, x) reads source (y, x + (y − 2)).
        for y in 0..<5 {
            let sourceX = m[3] * Float(y) + m[4] * 3 + m[5]
            #expect(abs(sourceX - Float(3 + y - 2)) < 1e-5 && m[0] == 1 && m[1] == 0 && m[2] == 0)
        }
        let layer = RandomShear(maxDegrees: 20)
        let images = Tensor.uniform([2, 6, 6, 1])
        #expect(layer(images).toArray() == images.toArray())
        layer.isTraining = true
        #expect(layer(images).toArray() != images.toArray())
    }
}
