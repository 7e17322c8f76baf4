import Foundation
import Nabla

/// Measures a full training step of the Keras mnist_cnn (batch 128).
///
/// The step is written with the functional ops: conv-relu, conv-relu, max-pool, dropout, dense-relu, dropout, dense, softmax cross-entropy,
/// backward, SGD update. Reports samples/s and the allocations a repeated step makes after warm-up:
/// tensor buffers obtained from the system (the caching allocator's misses) and growth of the
/// heap in use (glibc mallinfo2).
enum StepAllocationsBench {
    static func parameter(_ shape: [Int], seed: UInt64) -> Tensor {
        let fanIn = shape.dropLast().reduce(1, *), fanOut = shape.last ?? 1
        let limit = (6 / Float(fanIn + fanOut)).squareRoot()
        var p = Tensor.uniform(shape, low: -limit, high: limit, generator: RandomGenerator(seed: seed))
        p.requiresGradient = true
        return p
    }

    static func run() {
        let params = [
            parameter([3, 3, 1, 32], seed: 1), parameter([32], seed: 2), parameter([3, 3, 32, 64], seed: 3),
            parameter([64], seed: 4), parameter([9216, 128], seed: 5), parameter([128], seed: 6),
            parameter([128, 10], seed: 7), parameter([10], seed: 8),
        ]
        let batch = 128
        let x = Tensor.uniform([batch, 28, 28, 1], generator: RandomGenerator(seed: 9))
        let labels = Tensor((0..<batch).map { Int64($0 % 10) })
        let generator = RandomGenerator(seed: 10)
        func step() {
            var h = (conv2d(x, params[0]) + params[1]).relu()
            h = (conv2d(h, params[2]) + params[3]).relu()
            h = dropout(maxPool2d(h), rate: 0.25, generator: generator).reshaped([batch, -1])
            h = dropout((matmul(h, params[4]) + params[5]).relu(), rate: 0.5, generator: generator)
            let logits = matmul(h, params[6]) + params[7]
            softmaxCrossEntropy(logits: logits, labels: labels).mean().backward()
            withoutGradients {
                for p in params {
                    if let g = p.gradient { p.assign(p - g * 0.01) }
                    p.zeroGradient()
                }
            }
        }
        for _ in 0..<10 { step() }
        let before = CachingAllocator.shared.statistics
        let heapBefore = CPUBackend.heapBytesInUse ?? -1
        let steps = 30
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let after = CachingAllocator.shared.statistics
        let heapAfter = CPUBackend.heapBytesInUse ?? -1
        Measure.report(
            [
                "case": "train_step_mnist_cnn", "batch": batch, "steps": steps,
                "samples_per_s": Double(batch * steps) / seconds,
                "system_buffer_allocations_per_step": Double(after.systemAllocations - before.systemAllocations)
                    / Double(steps),
                "cached_buffer_reuses_per_step": Double(after.cacheHits - before.cacheHits) / Double(steps),
                "heap_growth_bytes_per_step": (Double(heapAfter) - Double(heapBefore)) / Double(steps),
                "tensor_bytes_reserved_mb": Double(after.bytesInUse + after.bytesCached) / 1e6,
            ].merging(Measure.machine) { a, _ in a })
    }
}
