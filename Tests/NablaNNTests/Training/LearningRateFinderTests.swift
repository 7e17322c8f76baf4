import Foundation
import Nabla
import NablaNN
import Testing

/// The learning-rate range test: an exponential sweep whose suggestion lies where the loss falls,
/// and a model and optimizer left exactly as they were.
@Suite struct LearningRateFinderTests {
    static func problem() -> (Model, Tensor, Tensor) {
        Random.withSeed(11) {
            let model = Sequential(inputShape: [6]) {
                Dense(units: 16, activation: .relu)
                Dense(units: 3, activation: .softmax)
            }
            model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy())
            let x = Tensor.uniform([96, 6], low: -1, high: 1)
            // A learnable rule: the class is the largest of three sums of the features.
            let v = x.toArray(Float.self)
            let y = Tensor(
                (0..<96).map { i -> Int64 in
                    let s = [v[i * 6] + v[i * 6 + 1], v[i * 6 + 2] + v[i * 6 + 3], v[i * 6 + 4] + v[i * 6 + 5]]
                    return Int64(s.indices.max { s[$0] < s[$1] } ?? 0)
                })
            return (model, x, y)
        }
    }

    @Test func sweepsExponentiallyAndPutsEverythingBack() throws {
        let (model, x, y) = Self.problem()
        let before = model.parameters().map { $0.parameter.value.toArray(Float.self) }
        let search = try model.findLearningRate(
            TensorBatches(inputs: x, targets: y, batchSize: 8), from: 1e-5, to: 1, steps: 40)
        #expect(search.rates.first == 1e-5)
        #expect(search.losses.count == search.rates.count && search.smoothed.count == search.rates.count)
        for (a, b) in zip(search.rates, search.rates.dropFirst()) {
            #expect(abs(Double(b / a) - pow(1e5, 1.0 / 39)) < 1e-3)
        }
        // Between the steepest fall and a tenth of the minimum, in the middle on a log scale.
        let (low, high) = (min(search.steepestRate, search.minimumRate / 10), search.minimumRate / 10)
        #expect(search.suggestion >= low * 0.999 && search.suggestion <= high * 1.001 && search.suggestion > 0)
        if search.steepestRate < high {
            #expect(abs(log(search.suggestion / low) - log(high / search.suggestion)) < 1e-3)
        }
        #expect(model.parameters().map { $0.parameter.value.toArray(Float.self) } == before)
        #expect(model.optimizer?.state.iterations == 0 && model.optimizer?.learningRate == 1e-3)
        #expect(model.progress == nil && !model.stopTraining)
    }

    @Test func aDivergingLossStopsTheSweepEarly() throws {
        let (model, x, y) = Self.problem()
        let search = try model.findLearningRate(
            TensorBatches(inputs: x, targets: y, batchSize: 8), from: 1e-4, to: 1e6, steps: 200)
        #expect(search.rates.count < 200)
        #expect(search.minimumRate < 1e6)
    }

    @Test func anUncompiledModelOrABadRangeIsAnError() {
        let (model, x, y) = Self.problem()
        let data = TensorBatches(inputs: x, targets: y, batchSize: 8)
        #expect(throws: NablaError.self) { try model.findLearningRate(data, from: 1, to: 0.1) }
        let plain = Sequential(inputShape: [6]) { Dense(units: 3) }
        #expect(throws: NablaError.self) { try plain.findLearningRate(data) }
    }
}
