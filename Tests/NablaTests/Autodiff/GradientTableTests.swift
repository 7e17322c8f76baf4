import Nabla
import NablaTestSupport
import Testing

/// One differentiable op, checked against central finite differences.
struct GradientCase: CustomTestStringConvertible, Sendable {
    let name: String
    let shapes: [[Int]]
    /// Inputs are uniform in this range (kept away from kinks and poles where the op has them).
    var range: ClosedRange<Float> = -1...1
    /// Builds the op from its inputs; inputs may be made non-contiguous inside.
    let function: @Sendable ([Tensor]) -> Tensor

    var testDescription: String { "\(name) \(shapes)" }

    func inputs() -> [Tensor] {
        shapes.enumerated().map { i, s in
            randomTensor(s, low: range.lowerBound, high: range.upperBound, seed: UInt64(11 + i))
        }
    }
}

/// Keeps values away from 0 so that kinks (relu, abs, max ties) are not straddled by ±epsilon.
private func awayFromZero(_ x: Tensor) -> Tensor { x + x.sign() * 0.1 }

/// The gradient table: every differentiable op in a row, on broadcast and strided inputs too.
let gradientTable: [GradientCase] = [
    GradientCase(name: "add broadcast", shapes: [[3, 4], [4]]) { $0[0] + $0[1] },
    GradientCase(name: "sub broadcast", shapes: [[2, 1, 3], [4, 1]]) { $0[0] - $0[1] },
    GradientCase(name: "mul broadcast", shapes: [[3, 4], [3, 1]]) { $0[0] * $0[1] },
    GradientCase(name: "div", shapes: [[3, 4], [3, 4]]) { $0[0] / ($0[1].abs() + 0.5) },
    GradientCase(name: "neg transposed", shapes: [[3, 4]]) { -$0[0].transposed() },
    GradientCase(name: "exp", shapes: [[2, 5]]) { $0[0].exp() },
    GradientCase(name: "log", shapes: [[2, 5]], range: 0.5...2) { $0[0].log() },
    GradientCase(name: "sqrt", shapes: [[2, 5]], range: 0.5...2) { $0[0].sqrt() },
    GradientCase(name: "rsqrt", shapes: [[2, 5]], range: 0.5...2) { $0[0].rsqrt() },
    GradientCase(name: "square", shapes: [[2, 5]]) { $0[0].square() },
    GradientCase(name: "pow scalar", shapes: [[2, 5]], range: 0.5...2) { $0[0].pow(2.5) },
    GradientCase(name: "pow tensor", shapes: [[2, 3], [3]], range: 0.5...2) { $0[0].pow($0[1]) },
    GradientCase(name: "abs", shapes: [[3, 4]]) { awayFromZero($0[0]).abs() },
    GradientCase(name: "sign", shapes: [[3, 4]]) { awayFromZero($0[0]).sign() * $0[0] },
    GradientCase(name: "clamp", shapes: [[3, 4]]) { awayFromZero($0[0]).clamp(min: -0.5, max: 0.5) },
    GradientCase(name: "maximum", shapes: [[3, 4], [4]]) { $0[0].maximum($0[1] + 0.05) },
    GradientCase(name: "minimum", shapes: [[3, 4], [3, 4]]) { $0[0].minimum($0[1] + 0.05) },
    GradientCase(name: "where", shapes: [[3, 4], [3, 4]]) { Tensor.where($0[0] .> 0, $0[0] * 2, $0[1]) },
    GradientCase(name: "relu", shapes: [[4, 5]]) { awayFromZero($0[0]).relu() },
    GradientCase(name: "leakyRelu", shapes: [[4, 5]]) { awayFromZero($0[0]).leakyRelu(alpha: 0.2) },
    GradientCase(name: "elu", shapes: [[4, 5]]) { awayFromZero($0[0]).elu() },
    GradientCase(name: "sigmoid", shapes: [[4, 5]], range: -4...4) { $0[0].sigmoid() },
    GradientCase(name: "tanh", shapes: [[4, 5]]) { $0[0].tanh() },
    GradientCase(name: "gelu", shapes: [[4, 5]], range: -3...3) { $0[0].gelu() },
    GradientCase(name: "swish", shapes: [[4, 5]], range: -3...3) { $0[0].swish() },
    GradientCase(name: "erf", shapes: [[4, 5]], range: -2...2) { $0[0].erf() },
    GradientCase(name: "sum axes", shapes: [[2, 3, 4]]) { $0[0].sum(axes: [0, 2]) },
    GradientCase(name: "sum keepDims strided", shapes: [[4, 3]]) { $0[0].transposed().sum(axes: [1], keepDims: true) },
    GradientCase(name: "mean", shapes: [[2, 3, 4]]) { $0[0].mean(axes: [1]) },
    GradientCase(name: "max", shapes: [[3, 5]]) { $0[0].max(axes: [1]) },
    GradientCase(name: "min", shapes: [[3, 5]]) { $0[0].min(axes: [0], keepDims: true) },
    GradientCase(name: "variance", shapes: [[4, 3]]) { $0[0].variance(axes: [0]) },
    GradientCase(name: "matmul", shapes: [[3, 4], [4, 5]]) { matmul($0[0], $0[1]) },
    GradientCase(name: "matmul transposed", shapes: [[4, 3], [5, 4]]) {
        matmul($0[0].transposed(), $0[1].transposed())
    },
    GradientCase(name: "matmul batched broadcast", shapes: [[2, 3, 4], [4, 2]]) { matmul($0[0], $0[1]) },
    GradientCase(name: "matmul vector", shapes: [[4], [4, 3]]) { matmul($0[0], $0[1]) },
    GradientCase(name: "conv2d valid", shapes: [[2, 5, 5, 3], [3, 3, 3, 4]]) { conv2d($0[0], $0[1]) },
    GradientCase(name: "conv2d same stride 2", shapes: [[1, 6, 5, 2], [3, 3, 2, 3]]) {
        conv2d($0[0], $0[1], strides: (2, 2), padding: .same)
    },
    GradientCase(name: "conv2d dilation explicit", shapes: [[1, 7, 7, 2], [2, 2, 2, 2]]) {
        conv2d($0[0], $0[1], padding: .explicit(top: 1, bottom: 0, left: 0, right: 2), dilation: (2, 2))
    },
    GradientCase(name: "conv2d groups", shapes: [[1, 5, 5, 4], [3, 3, 2, 6]]) {
        conv2d($0[0], $0[1], padding: .same, groups: 2)
    },
    GradientCase(name: "conv2d depthwise", shapes: [[2, 5, 5, 3], [3, 3, 1, 6]]) {
        conv2d($0[0], $0[1], strides: (2, 1), padding: .same, groups: 3)
    },
    GradientCase(name: "conv2d pointwise", shapes: [[2, 3, 3, 4], [1, 1, 4, 5]]) { conv2d($0[0], $0[1]) },
    GradientCase(name: "maxPool2d", shapes: [[2, 4, 4, 3]]) { maxPool2d($0[0]) },
    GradientCase(name: "maxPool2d same stride 1", shapes: [[1, 5, 5, 2]]) {
        maxPool2d($0[0], poolSize: (3, 3), strides: (1, 1), padding: .same)
    },
    GradientCase(name: "avgPool2d same", shapes: [[1, 5, 5, 2]]) { avgPool2d($0[0], padding: .same) },
    GradientCase(name: "globalAvgPool2d", shapes: [[2, 3, 3, 4]]) { globalAvgPool2d($0[0]) },
    GradientCase(name: "softmax", shapes: [[3, 5]]) { $0[0].softmax() },
    GradientCase(name: "softmax axis 0", shapes: [[3, 5]]) { $0[0].softmax(axis: 0) },
    GradientCase(name: "logSoftmax", shapes: [[3, 5]]) { $0[0].logSoftmax() },
    GradientCase(name: "softmaxCrossEntropy sparse", shapes: [[4, 5]]) {
        softmaxCrossEntropy(logits: $0[0] * 3, labels: Tensor([Int64(0), 4, 2, 2]))
    },
    GradientCase(name: "softmaxCrossEntropy dense", shapes: [[3, 4], [3, 4]]) {
        softmaxCrossEntropy(logits: $0[0], labels: $0[1].softmax())
    },
    GradientCase(name: "batchNorm training", shapes: [[4, 2, 2, 3], [3], [3]]) {
        batchNorm($0[0], scale: $0[1], offset: $0[2]).output
    },
    GradientCase(name: "batchNorm inference", shapes: [[4, 3], [3], [3], [3], [3]]) {
        batchNorm($0[0], mean: $0[1], variance: $0[2].abs() + 0.5, scale: $0[3], offset: $0[4])
    },
    GradientCase(name: "dropout", shapes: [[4, 6]]) {
        dropout($0[0], rate: 0.5, generator: RandomGenerator(seed: 3))
    },
    GradientCase(name: "reshape", shapes: [[2, 6]]) { $0[0].transposed().reshaped([3, 4]) * 2 },
    GradientCase(name: "permute", shapes: [[2, 3, 4]]) { $0[0].permuted([2, 0, 1]) },
    GradientCase(name: "expand", shapes: [[3, 1]]) { $0[0].expanded(to: [2, 3, 4]) },
    GradientCase(name: "slice step", shapes: [[6, 3]]) { $0[0].slice(axis: 0, start: 1, end: 6, step: 2) },
    GradientCase(name: "subscript", shapes: [[3, 4]]) { $0[0][1] },
    GradientCase(name: "concat", shapes: [[2, 3], [2, 2]]) { concat([$0[0], $0[1]], axis: 1) },
    GradientCase(name: "stack", shapes: [[2, 3], [2, 3]]) { stack([$0[0], $0[1]], axis: 1) },
    GradientCase(name: "split", shapes: [[5, 2]]) { split($0[0], sizes: [2, 3])[1] * 3 },
    GradientCase(name: "pad", shapes: [[2, 3]]) { $0[0].padded([(1, 0), (2, 1)], value: 5) },
    GradientCase(name: "gather", shapes: [[4, 3]]) { $0[0].gathered(Tensor([Int32(3), 0, 3]), axis: 0) },
    GradientCase(name: "contiguous", shapes: [[3, 4]]) { $0[0].transposed().contiguous() },
]

@Suite struct GradientTableTests {
    @Test(arguments: gradientTable)
    func matchesFiniteDifferences(_ row: GradientCase) {
        checkGradients(of: row.function, at: row.inputs(), row.name)
    }

    @Test func tableCoversEveryDifferentiableOp() {
        // Every op kind that records a backward step (OpKind, from the op records) needs a row
        // whose name starts with the kind's name.
        let covered = Set(gradientTable.map { String($0.name.split(separator: " ")[0]) })
        for kind in OpKind.allCases where kind.isDifferentiable {
            #expect(covered.contains(kind.rawValue), "no gradient row for \(kind.rawValue)")
        }
        // Composite ops (built from the recorded ones) keep rows of their own.
        for composite in ["mean", "variance", "globalAvgPool2d", "subscript", "stack", "split"] {
            #expect(covered.contains(composite), "no gradient row for \(composite)")
        }
    }
}

/// Binary and unary elementwise ops on randomly drawn shapes: broadcast pairs and strided views.
@Suite struct RandomShapeGradientTests {
    /// Returns a random shape of rank 1…3 and a shape that broadcasts against it.
    static func shapes(seed: UInt64) -> ([Int], [Int]) {
        let draws = Tensor.uniform([8], generator: RandomGenerator(seed: seed)).toArray()
        let rank = 1 + Int(draws[0] * 3)
        let a = (0..<rank).map { 1 + Int(draws[1 + $0] * 4) }
        // b drops leading dimensions and turns some others into 1.
        let keep = Int(draws[4] * Float(rank + 1)).clamped(1, rank)
        let b = a.suffix(keep).enumerated().map { i, d in draws[5 + i % 3] < 0.4 ? 1 : d }
        return (a, b)
    }

    @Test(arguments: 0..<12)
    func broadcastBinaryOps(seed: Int) {
        let (sa, sb) = Self.shapes(seed: UInt64(seed))
        let a = randomTensor(sa, seed: UInt64(100 + seed)),
            b = randomTensor(sb, low: 0.5, high: 1.5, seed: UInt64(200 + seed))
        let ops: [(String, ([Tensor]) -> Tensor)] = [
            ("add", { $0[0] + $0[1] }), ("sub", { $0[0] - $0[1] }), ("mul", { $0[0] * $0[1] }),
            ("div", { $0[0] / $0[1] }), ("maximum", { $0[0].maximum($0[1] - 1) }),
        ]
        for (name, op) in ops { checkGradients(of: op, at: [a, b], "\(name) \(sa) \(sb)") }
        // The same through strided (reversed-axes) views of the first operand.
        if sa.count >= 2 {
            let t = randomTensor(sa.reversed(), seed: UInt64(300 + seed))
            checkGradients(
                of: { $0[0].permuted(Array((0..<sa.count).reversed())) * $0[1] }, at: [t, b], "strided \(sa)")
        }
    }
}

extension Int {
    fileprivate func clamped(_ low: Int, _ high: Int) -> Int { Swift.min(Swift.max(self, low), high) }
}
