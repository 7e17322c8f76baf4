import Foundation
import Nabla
import NablaNN
import NablaTestSupport
import Testing

/// Loss values against hand-computed numbers.
@Suite struct LossTests {
    let predictions = Tensor([0.5, 2, -1, 0] as [Float], shape: [2, 2])
    let targets = Tensor([1, 1, 0, 0] as [Float], shape: [2, 2])

    @Test func regressionLosses() {
        // Errors: [-0.5, 1, -1, 0].
        expectClose([MeanSquaredError()(predictions, targets).item()], [(0.25 + 1 + 1) / 4])
        expectClose([MeanAbsoluteError()(predictions, targets).item()], [2.5 / 4])
        // Huber δ=1: ½·0.25, 0.5, 0.5, 0.
        expectClose([Huber()(predictions, targets).item()], [(0.125 + 0.5 + 0.5) / 4])
    }

    @Test func binaryCrossEntropyFromProbabilitiesAndLogits() {
        let p = Tensor([0.9, 0.2] as [Float], shape: [2, 1]), y = Tensor([1, 0] as [Float], shape: [2, 1])
        let expected = -(log(0.9) + log(0.8)) / 2
        expectClose([BinaryCrossEntropy()(p, y).item()], [Float(expected)])
        let logits = Tensor([Float(log(9.0)), Float(log(0.25))], shape: [2, 1])
        expectClose([BinaryCrossEntropy(fromLogits: true)(logits, y).item()], [Float(expected)])
    }

    @Test func categoricalAndSparseAgree() {
        let logits = Tensor([2, 1, 0.1, 0.5, 2.5, 0.3] as [Float], shape: [2, 3])
        let labels = Tensor([Int64(0), 2])
        let sparse = SparseCategoricalCrossEntropy(fromLogits: true)(logits, labels).item()
        let dense = CategoricalCrossEntropy(fromLogits: true)(logits, oneHot(labels, classes: 3)).item()
        let fromProbabilities = SparseCategoricalCrossEntropy()(logits.softmax(), labels).item()
        let row0 = log(exp(2.0) + exp(1) + exp(0.1)) - 2, row1 = log(exp(0.5) + exp(2.5) + exp(0.3)) - 0.3
        expectClose(
            [sparse, dense, fromProbabilities],
            [Float((row0 + row1) / 2), Float((row0 + row1) / 2), Float((row0 + row1) / 2)])
    }

    @Test func labelSmoothingMixesWithUniform() {
        let logits = Tensor([0, 0] as [Float], shape: [1, 2])
        // Uniform predictions: the loss is log 2 for any target distribution.
        let smoothed = CategoricalCrossEntropy(fromLogits: true, labelSmoothing: 0.2)(
            logits, Tensor([1, 0] as [Float], shape: [1, 2]))
        expectClose([smoothed.item()], [Float(log(2.0))])
    }

    @Test func classWeightsScaleExamples() {
        let losses = MeanSquaredError().perExample(predictions, targets)
        let weighted = MeanSquaredError()(predictions, targets, sampleWeights: Tensor([2, 0] as [Float]))
        expectClose([weighted.item()], [losses.toArray()[0] * 2 / 2])
    }
}
