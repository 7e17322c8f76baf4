import Nabla
import NablaTestSupport
import Testing

@Suite struct SoftmaxTests {
    @Test func crossEntropyMatchesNaiveLoopSparseAndOneHot() {
        let logits = randomTensor([6, 10], low: -5, high: 5, seed: 3)
        let labels = [3, 0, 9, 9, 4, 1]
        let expected = Reference.softmaxCrossEntropy(logits.toArray(), labels: labels, n: 10)
        let sparse = softmaxCrossEntropy(logits: logits, labels: Tensor(labels.map(Int64.init)))
        expectClose(sparse.toArray(), expected)
        let dense = softmaxCrossEntropy(logits: logits, labels: oneHot(Tensor(labels.map(Int32.init)), classes: 10))
        expectClose(dense.toArray(), expected)
    }

    @Test func softmaxIsStableForHugeLogits() {
        let x = Tensor([1000, 1001, 1002] as [Float], shape: [1, 3])
        let p = x.softmax().toArray()
        expectClose(p, [0.09003057, 0.24472847, 0.66524096])
        let l = x.logSoftmax().toArray()
        expectClose(l, [-2.40760596, -1.40760596, -0.40760596])
        let loss = softmaxCrossEntropy(logits: x * 100, labels: Tensor([Int64(0)]))
        #expect(loss.item().isFinite)
    }

    @Test func crossEntropyGradientIsSoftmaxMinusOneHot() {
        var logits = Tensor([1, 2, 3, 1, 1, 1] as [Float], shape: [2, 3])
        logits.requiresGradient = true
        softmaxCrossEntropy(logits: logits, labels: Tensor([Int32(2), 0])).sum().backward()
        let p = logits.detached().softmax().toArray()
        let expected = [p[0], p[1], p[2] - 1, p[3] - 1, p[4], p[5]]
        expectClose(logits.gradient?.toArray() ?? [], expected)
    }
}
