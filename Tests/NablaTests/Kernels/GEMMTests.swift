import Nabla
import NablaTestSupport
import Testing

/// The packed SGEMM against the naive loop, for every ISA this machine runs, on sizes that are not
/// multiples of the 6×16 micro-tile or the cache blocks.
@Suite(.serialized) struct GEMMTests {
    static var isas: [String] { GEMM.supportedISAs }

    static let sizes: [(Int, Int, Int)] = [
        (1, 1, 1), (7, 13, 5), (6, 16, 256), (17, 33, 257), (121, 19, 300), (64, 130, 70), (5, 200, 3),
    ]

    func run(isa: String, _ body: () -> Void) {
        GEMM.withBuiltinISA(isa, body)
    }

    @Test(arguments: isas)
    func matchesNaiveLoopOnOddSizes(isa: String) {
        run(isa: isa) {
            for (M, N, K) in Self.sizes {
                let a = randomTensor([M, K], seed: 1), b = randomTensor([K, N], seed: 2)
                let expected = Reference.matmul(a.toArray(), b.toArray(), M: M, K: K, N: N)
                expectClose(matmul(a, b).toArray(), expected, rtol: Tolerance.kernel, atol: 1e-5, "\(M)×\(K)×\(N)")
            }
        }
    }

    @Test(arguments: isas)
    func transposedOperandsAreReadInPlace(isa: String) {
        run(isa: isa) {
            let (M, N, K) = (37, 29, 41)
            let at = randomTensor([K, M], seed: 3), bt = randomTensor([N, K], seed: 4)
            let a = at.transposed(), b = bt.transposed()
            #expect(!a.isContiguous && !b.isContiguous)
            let expected = Reference.matmul(a.contiguous().toArray(), b.contiguous().toArray(), M: M, K: K, N: N)
            expectClose(matmul(a, b).toArray(), expected, atol: 1e-5)
        }
    }

    @Test func accumulateAddsIntoC() {
        let (M, N, K) = (9, 20, 300)
        let a = randomTensor([M, K], seed: 5), b = randomTensor([K, N], seed: 6)
        let c = Tensor.ones([M, N])
        CPUBackend.shared.gemm(a, b, into: c, accumulate: true)
        let expected = Reference.matmul(a.toArray(), b.toArray(), M: M, K: K, N: N).map { $0 + 1 }
        expectClose(c.toArray(), expected, atol: 1e-5)
    }

    @Test func batchedMatmulBroadcastsBatchDimensions() {
        let a = randomTensor([2, 1, 4, 3], seed: 7), b = randomTensor([3, 3, 5], seed: 8)
        let out = matmul(a, b)
        #expect(out.shape == [2, 3, 4, 5])
        for i in 0..<2 {
            for j in 0..<3 {
                let expected = Reference.matmul(a[i][0].toArray(), b[j].toArray(), M: 4, K: 3, N: 5)
                expectClose(out[i][j].toArray(), expected, atol: 1e-6)
            }
        }
    }

    @Test func largeProductSplitAcrossThreadsMatches() {
        // Big enough to be split over the pool and to cross the K and M cache blocks.
        let (M, N, K) = (250, 70, 600)
        let a = randomTensor([M, K], seed: 9), b = randomTensor([K, N], seed: 10)
        let expected = Reference.matmul(a.toArray(), b.toArray(), M: M, K: K, N: N)
        expectClose(matmul(a, b).toArray(), expected, atol: 1e-4)
    }

    /// A few rows (a batch of one through a dense layer) take the unpacked path on AVX2; each
    /// row comes out bit for bit as it does inside a larger product, and close to the reference.
    @Test func fewRowsMatchTheSameRowsOfALargerProduct() {
        let (K, N) = (700, 77)  // K crosses a cache block; N has a 32-wide part and a tail
        let b = randomTensor([K, N], seed: 12)
        let many = randomTensor([12, K], seed: 11)
        let whole = matmul(many, b).toArray()
        for m in 1...4 {
            let rows = matmul(many.slice(axis: 0, start: 0, end: m).contiguous(), b).toArray()
            #expect(rows == Array(whole[0..<(m * N)]), "\(m) rows")
            let expected = Reference.matmul(Array(many.toArray()[0..<(m * K)]), b.toArray(), M: m, K: K, N: N)
            expectClose(rows, expected, atol: 1e-4)
        }
    }

    /// A narrow product (N ≤ 64, as in convolutions) reads a row-major A in place on AVX2; its
    /// columns come out bit for bit as the same columns of a wider, packed product, so splitting
    /// N over threads cannot change a result.
    @Test func narrowProductsMatchTheSameColumnsOfAWiderOne() {
        let (M, K) = (131, 700)  // M has a partial tile of rows; K crosses two cache blocks
        let a = randomTensor([M, K], seed: 13), wide = randomTensor([K, 80], seed: 14)
        let whole = matmul(a, wide)
        for n in [16, 40, 64] {
            let narrow = matmul(a, wide.slice(axis: 1, start: 0, end: n).contiguous())
            #expect(narrow.toArray() == whole.slice(axis: 1, start: 0, end: n).contiguous().toArray(), "N = \(n)")
        }
    }

    /// A narrow product whose A is stored transposed (contiguous along M, as Vᵀ in the Winograd
    /// filter gradient) reads it in place; the result is bit for bit that of the contiguous A, on
    /// every ISA.
    @Test(arguments: isas)
    func transposedANarrowProductsMatchTheContiguousOnes(isa: String) {
        run(isa: isa) {
            let (M, K) = (131, 700)
            let at = randomTensor([K, M], seed: 17), b = randomTensor([K, 64], seed: 18)
            for n in [16, 40, 64] {
                let bn = b.slice(axis: 1, start: 0, end: n).contiguous()
                #expect(
                    matmul(at.transposed(), bn).toArray() == matmul(at.transposed().contiguous(), bn).toArray(),
                    "N = \(n)")
            }
        }
    }

    /// The AVX-512 kernel sums every element as the AVX2 kernel does, so the two give the same
    /// bits: packed and in-place A, partial tiles of rows and columns, K over several blocks,
    /// accumulating into C, and the convolution with its bias and ReLU in the kernel.
    @Test(.enabled(if: GEMM.supportedISAs.contains("avx512")))
    func avx512GivesTheBitsOfAVX2() {
        func onBoth(_ body: () -> [Float]) -> ([Float], [Float]) {
            (GEMM.withBuiltinISA("avx2-fma", body), GEMM.withBuiltinISA("avx512", body))
        }
        for (M, N, K) in [(131, 40, 700), (131, 100, 700), (12, 16, 96), (25, 77, 300), (7, 64, 33)] {
            let a = randomTensor([M, K], seed: 15), b = randomTensor([K, N], seed: 16)
            let (avx2, avx512) = onBoth {
                let c = Tensor.ones([M, N])
                CPUBackend.shared.gemm(a, b, into: c, accumulate: true)
                return matmul(a, b).toArray() + c.toArray()
            }
            #expect(avx2 == avx512, "\(M)×\(K)×\(N)")
        }
        let x = randomTensor([2, 13, 14, 32], seed: 17), w = randomTensor([3, 3, 32, 40], seed: 18)
        let bias = randomTensor([40], seed: 19)
        let (avx2, avx512) = onBoth {
            withoutGradients { conv2d(x, w, bias: bias, relu: true, padding: .same).toArray() }
        }
        #expect(avx2 == avx512, "convolution")
    }
}
