import Nabla

/// conv2d forward + backward GFLOP/s at the two convolution layers of the Keras mnist_cnn, batch 128.
///
/// The FLOPs are those of the direct convolution (2·N·OH·OW·K·KH·KW·C per pass), however a layer
/// runs: the second layer runs by Winograd F(2×2, 3×3), which does 16 products where the direct
/// convolution does 36, so its rate is an effective one, as each report's `flops` field says.
enum ConvBench {
    struct Layer {
        let name: String
        let input: [Int]
        let filter: [Int]
        /// The first layer sees the data: no input gradient is needed, as in training.
        let needsInputGradient: Bool
    }

    static let layers = [
        Layer(name: "28x28x1->32 3x3", input: [128, 28, 28, 1], filter: [3, 3, 1, 32], needsInputGradient: false),
        Layer(name: "26x26x32->64 3x3", input: [128, 26, 26, 32], filter: [3, 3, 32, 64], needsInputGradient: true),
    ]

    static func run(sgemmReference: Double) throws {
        var totalFlops = 0.0, totalSeconds = 0.0
        for layer in layers {
            let x0 = Tensor.uniform(layer.input, generator: RandomGenerator(seed: 3))
            let w0 = Tensor.uniform(layer.filter, low: -0.1, high: 0.1, generator: RandomGenerator(seed: 4))
            var x = x0, w = w0
            x.requiresGradient = layer.needsInputGradient
            w.requiresGradient = true
            let (n, oh, ow) = (layer.input[0], layer.input[1] - 2, layer.input[2] - 2)
            let forwardFlops = 2.0 * Double(n * oh * ow * layer.filter[3] * 9 * layer.filter[2])
            let flops = forwardFlops * (layer.needsInputGradient ? 3 : 2)
            let seed = Tensor.ones([n, oh, ow, layer.filter[3]])
            let seconds = try Measure.median(warmup: 2, repeats: 7) {
                let y = conv2d(x, w)
                y.backward(gradient: seed)
                w.zeroGradient()
                x.zeroGradient()
            }
            let forwardSeconds = try Measure.median(warmup: 1, repeats: 7) { _ = withoutGradients { conv2d(x0, w0) } }
            totalFlops += flops
            totalSeconds += seconds
            Measure.report(
                [
                    "case": "conv2d_fwd_bwd", "layer": layer.name, "batch": n, "gflops": flops / seconds / 1e9,
                    "forward_gflops": forwardFlops / forwardSeconds / 1e9,
                    "ms_per_step": seconds * 1000, "input_gradient": layer.needsInputGradient,
                    "flops": "direct convolution's count (effective rate where a layer runs by Winograd)",
                ].merging(Measure.machine) { a, _ in a })
        }
        let combined = totalFlops / totalSeconds / 1e9
        Measure.report(
            [
                "case": "conv2d_fwd_bwd", "layer": "both", "gflops": combined,
                "sgemm_1024_builtin_gflops": sgemmReference,
                "ratio_to_sgemm": combined / sgemmReference,
            ].merging(Measure.machine) { a, _ in a })
    }
}
