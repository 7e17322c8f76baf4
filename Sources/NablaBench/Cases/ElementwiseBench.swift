import Nabla

/// Memory bandwidth of elementwise ops on 16 Mi floats: bytes read and written per second.
enum ElementwiseBench {
    static func run() throws {
        let n = 1 << 24
        let a = Tensor.uniform([n], generator: RandomGenerator(seed: 5))
        let b = Tensor.uniform([n], generator: RandomGenerator(seed: 6))
        let bias = Tensor.uniform([1024], generator: RandomGenerator(seed: 7))
        let cases: [(String, Double, () -> Void)] = [
            ("add", 12, { _ = a + b }),
            ("mul_broadcast_row", 8, { _ = a.reshaped([n / 1024, 1024]) * bias }),
            ("relu", 8, { _ = a.relu() }),
            ("sigmoid", 8, { _ = a.sigmoid() }),
            ("sum", 4, { _ = a.sum() }),
        ]
        for (name, bytesPerElement, body) in cases {
            let seconds = try Measure.median(warmup: 2, repeats: 9) { withoutGradients(body) }
            Measure.report(
                [
                    "case": "elementwise", "op": name, "elements": n,
                    "gb_per_s": bytesPerElement * Double(n) / seconds / 1e9,
                ]
                .merging(Measure.machine) { a, _ in a })
        }
    }
}
