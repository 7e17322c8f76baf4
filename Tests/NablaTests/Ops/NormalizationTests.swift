import Nabla
import NablaTestSupport
import Testing

@Suite struct NormalizationTests {
    @Test func trainingBatchNormMatchesNaiveLoop() {
        let x = randomTensor([4, 3, 5, 6], low: -3, high: 7, seed: 2)
        let scale = randomTensor([6], seed: 3), offset = randomTensor([6], seed: 4)
        let (y, mean, variance) = batchNorm(x, scale: scale, offset: offset, epsilon: 1e-3)
        let expected = Reference.batchNorm(
            x.toArray(), rows: 60, C: 6, scale: scale.toArray(), offset: offset.toArray(), epsilon: 1e-3)
        expectClose(y.toArray(), expected, atol: 1e-5)
        let flat = x.reshaped([60, 6])
        expectClose(mean, flat.mean(axes: [0]))
        expectClose(variance, flat.variance(axes: [0]), atol: 1e-5)
    }

    @Test func inferenceBatchNormUsesGivenStatistics() {
        let x = Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
        let y = batchNorm(
            x, mean: Tensor([1, 2] as [Float]), variance: Tensor([4, 1] as [Float]), scale: Tensor([2, 1] as [Float]),
            offset: Tensor([0, 1] as [Float]), epsilon: 0)
        expectClose(y.toArray(), [0, 1, 2, 3])
    }
}
