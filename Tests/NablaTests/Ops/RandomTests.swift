import CNablaKernels
import Dispatch
import Nabla
import NablaTestSupport
import Testing

@Suite struct RandomTests {
    @Test func sameSeedSameValues() {
        let a = Tensor.normal([1000], generator: RandomGenerator(seed: 42))
        let b = Tensor.normal([1000], generator: RandomGenerator(seed: 42))
        let c = Tensor.normal([1000], generator: RandomGenerator(seed: 43))
        #expect(a.toArray() == b.toArray())
        #expect(a.toArray() != c.toArray())
    }

    @Test func distributionsHaveTheirMoments() {
        let g = RandomGenerator(seed: 1)
        let u = Tensor.uniform([100_000], low: -2, high: 4, generator: g)
        #expect(abs(u.mean().item() - 1) < 0.03)
        #expect(u.min().item() >= -2 && u.max().item() < 4)
        let n = Tensor.normal([100_000], mean: 1, standardDeviation: 2, generator: g)
        #expect(abs(n.mean().item() - 1) < 0.03)
        #expect(abs(n.variance().item().squareRoot() - 2) < 0.03)
        let t = Tensor.truncatedNormal([100_000], standardDeviation: 0.5, generator: g)
        #expect(t.abs().max().item() <= 1.0)
        // A normal truncated at ±2σ has standard deviation 0.8796σ.
        #expect(abs(t.variance().item().squareRoot() - 0.5 * 0.8796) < 0.01)
        let b = Tensor.bernoulli([100_000], probability: 0.3, generator: g)
        #expect(abs(b.asType(.float32).mean().item() - 0.3) < 0.01)
    }

    @Test func dropoutKeepsTheExpectedValue() {
        let x = Tensor.ones([100_000])
        let y = dropout(x, rate: 0.25, generator: RandomGenerator(seed: 9))
        let values = Set(y.toArray())
        #expect(values == [0, Float(1) / 0.75])
        #expect(abs(y.mean().item() - 1) < 0.02)
    }

    /// Dropout keeps element `i` exactly when value `i` of the uniform stream with the same seed
    /// and stream is at least the rate.
    ///
    /// The uniform fill draws its Philox blocks one at a time; dropout draws eight at once where the
    /// CPU has AVX2. Slices that start and end off a block of eight, and seeds and streams with high
    /// words set, check the two against each other.
    @Test(arguments: [(0, 1000), (5, 997), (31, 33), (33, 1), (64, 4099)])
    func dropoutFollowsTheUniformStream(start: Int, count: Int) {
        let (total, rate) = (start + count, Float(0.3))
        let x = (0..<total).map { Float($0 % 13) - 6 }
        for (seed, stream) in [(UInt64(7), UInt64(1)), (0xDEAD_BEEF_0123_4567, 0x1_0000_0003)] {
            var (u, y, mask) = (
                [Float](repeating: 0, count: total), [Float](repeating: 0, count: total),
                [Float](repeating: 0, count: total)
            )
            nbl_random_f32(Int32(NBL_RNG_UNIFORM), seed, stream, 0, 1, &u, 0, total)
            nbl_dropout_f32(x, &y, &mask, total, rate, seed, stream, start, total)
            for i in start..<total {
                let m: Float = u[i] >= rate ? 1 / (1 - rate) : 0
                #expect(mask[i] == m && y[i] == x[i] * m, "element \(i): u \(u[i]), mask \(mask[i])")
            }
        }
    }

    /// Re-seeding the global generator while other threads draw from it is safe.
    ///
    /// Tests and servers seed it concurrently; every read must get a whole, live generator.
    /// Unlocked, a reader retained a generator that a writer had just released, and the process
    /// crashed within a few hundred thousand rounds.
    @Test func reseedingWhileOtherThreadsDrawIsSafe() {
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for i in 0..<200_000 {
                if (i + thread) % 2 == 0 {
                    Random.seed(UInt64(i))
                } else {
                    _ = RandomGenerator.current.nextSeed()
                }
            }
        }
    }
}
