import Nabla
import NablaTestSupport
import Testing

/// Graph-level behaviour of autodiff: fan-out, accumulation, detaching, inference mode.
@Suite struct GraphTests {
    @Test func handComputedGradients() {
        // f = sum(a·b + a²) with a = [1, 2], b = [3, 4]: df/da = b + 2a = [5, 8], df/db = a = [1, 2].
        var a = Tensor([1, 2] as [Float]), b = Tensor([3, 4] as [Float])
        a.requiresGradient = true
        b.requiresGradient = true
        (a * b + a.square()).sum().backward()
        #expect(a.gradient?.toArray() == [5, 8])
        #expect(b.gradient?.toArray() == [1, 2])
    }

    @Test func valueUsedTwiceGetsBothContributions() {
        var x = Tensor([3] as [Float])
        x.requiresGradient = true
        let y = x * 2
        (y * y + y).sum().backward()  // d/dx (4x² + 2x) = 8x + 2
        #expect(x.gradient?.toArray() == [26])
    }

    @Test func gradientsAccumulateUntilZeroed() {
        var x = Tensor([1, 1] as [Float])
        x.requiresGradient = true
        (x * 3).sum().backward()
        (x * 3).sum().backward()
        #expect(x.gradient?.toArray() == [6, 6])
        x.zeroGradient()
        #expect(x.gradient == nil)
    }

    @Test func detachedStopsTheGradient() {
        var x = Tensor([2] as [Float])
        x.requiresGradient = true
        (x * x.detached()).sum().backward()
        #expect(x.gradient?.toArray() == [2])
    }

    @Test func inferenceModeRecordsNothing() {
        var x = Tensor([2] as [Float])
        x.requiresGradient = true
        let y = withoutGradients { (x * x).exp() }
        #expect(!y.requiresGradient)
        #expect((x * x).requiresGradient)
    }

    @Test func broadcastGradientsSumBackToInputShape() {
        var bias = Tensor([0, 0, 0] as [Float])
        bias.requiresGradient = true
        (Tensor.ones([4, 3]) + bias).sum().backward()
        #expect(bias.gradient?.toArray() == [4, 4, 4])
    }

    @Test func deepChainsDoNotOverflowTheStack() {
        var x = Tensor([1] as [Float])
        x.requiresGradient = true
        var y = x
        for _ in 0..<20_000 { y = y + 0 }
        y.sum().backward()
        #expect(x.gradient?.toArray() == [1])
    }
}
