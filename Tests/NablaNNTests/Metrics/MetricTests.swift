import Nabla
import NablaNN
import NablaTestSupport
import Testing

@Suite struct MetricTests {
    /// Targets [0, 0, 1, 1, 2, 2], predicted [0, 1, 1, 1, 2, 0].
    func counts() -> ClassificationCounts {
        let predicted: [Int] = [0, 1, 1, 1, 2, 0]
        let scores = Tensor(
            predicted.flatMap { p in (0..<3).map { $0 == p ? Float(0.8) : Float(0.1) } }, shape: [6, 3])
        let c = ClassificationCounts(topKs: [2])
        c.update(predictions: scores.slice(axis: 0, end: 4), targets: Tensor([Int64(0), 0, 1, 1]))
        c.update(predictions: scores.slice(axis: 0, start: 4), targets: Tensor([Int64(2), 2]))
        return c
    }

    @Test func accuracyPrecisionRecallOverTheWholeEpoch() {
        let c = counts()
        #expect(c.matrix == [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
        #expect(MetricKind.accuracy.values(c).first?.1 == 4.0 / 6)
        // Precision per class: 1/2, 2/3, 1/1; recall: 1/2, 2/2, 1/2.
        let precision = MetricKind.precision(.perClass).values(c).map(\.1)
        let recall = MetricKind.recall(.perClass).values(c).map(\.1)
        expectClose(precision.map(Float.init), [0.5, 2.0 / 3, 1])
        expectClose(recall.map(Float.init), [0.5, 1, 0.5])
        expectClose([Float(MetricKind.precision(.macro).values(c)[0].1)], [Float((0.5 + 2.0 / 3 + 1) / 3)])
        let f1 = MetricKind.f1(.perClass).values(c).map { Float($0.1) }
        expectClose(f1, [0.5, 0.8, Float(2.0 / 3)])
        // Top-2 with ties (0.1, 0.1) counts every target with the second score as a hit.
        #expect(MetricKind.topKAccuracy(2).values(c)[0].1 == 1)
    }

    @Test func binaryPredictionsUseThreshold() {
        let c = ClassificationCounts()
        c.update(
            predictions: Tensor([0.9, 0.4, 0.6] as [Float], shape: [3, 1]),
            targets: Tensor([1, 1, 0] as [Float], shape: [3, 1]))
        #expect(c.matrix == [[0, 1], [1, 1]])
    }
}
