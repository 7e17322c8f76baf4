import Foundation
import Nabla

/// A backend for tests: a device of its own whose every primitive is logged by name and then run
/// by the CPU backend over the same memory.
///
/// Primitives with a default (the fused convolution backward) run as that default, through the
/// recorded ones. Its memory is not host memory as far as Nabla knows (``isHostMemory`` is false) and the CPU
/// kernels refuse its tensors, so code that reaches tensor memory without going through the
/// backend protocol traps instead of computing. Tensors made on it compute exactly what they
/// would on the CPU.
public final class RecordingBackend: Backend, @unchecked Sendable {
    public let device: Device
    private let cpu = CPUBackend.shared
    private let lock = NSLock()
    private var log: [String] = []

    /// Creates and registers a recording backend for `Device(kind: "recording", index: index)`.
    public init(index: Int) {
        device = Device(kind: "recording", index: index)
        Backends.register(self)
    }

    /// The primitives called so far, in order.
    public var calls: [String] {
        lock.lock()
        defer { lock.unlock() }
        return log
    }

    /// Forgets the calls so far.
    public func reset() {
        lock.lock()
        log = []
        lock.unlock()
    }

    private func record(_ name: String) {
        lock.lock()
        log.append(name)
        lock.unlock()
    }

    /// The same memory as a CPU tensor.
    private func host(_ t: Tensor) -> Tensor { t.aliased(on: cpu) }

    public var isHostMemory: Bool { false }

    public func allocate(byteCount: Int) -> Storage {
        Storage(aliasing: cpu.allocate(byteCount: byteCount), backend: self)
    }

    // Every storage of this backend is an alias of a CPU storage, which frees the memory.
    public func release(_ storage: Storage) {}

    public func copy(_ source: Tensor, into destination: Tensor) {
        record("copy")
        cpu.copy(host(source), into: host(destination))
    }

    public func convert(_ source: Tensor, into destination: Tensor) {
        record("convert")
        cpu.convert(host(source), into: host(destination))
    }

    public func write(_ bytes: UnsafeRawBufferPointer, into destination: Tensor) {
        record("write")
        cpu.write(bytes, into: host(destination))
    }

    public func read(_ source: Tensor, into bytes: UnsafeMutableRawBufferPointer) {
        record("read")
        cpu.read(host(source), into: bytes)
    }

    public func fill(_ destination: Tensor, value: Float) {
        record("fill")
        cpu.fill(host(destination), value: value)
    }

    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        record("binary.\(op)")
        cpu.binary(op, host(a), host(b), into: host(out))
    }

    public func unary(_ op: UnaryOp, _ x: Tensor, alpha: Float, beta: Float, into out: Tensor) {
        record("unary.\(op)")
        cpu.unary(op, host(x), alpha: alpha, beta: beta, into: host(out))
    }

    public func unaryBackward(
        _ op: UnaryOp, x: Tensor, y: Tensor, gradient: Tensor, alpha: Float, beta: Float, into dx: Tensor
    ) {
        record("unaryBackward.\(op)")
        cpu.unaryBackward(
            op, x: host(x), y: host(y), gradient: host(gradient), alpha: alpha, beta: beta, into: host(dx))
    }

    public func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        record("select")
        cpu.select(host(condition), host(a), host(b), into: host(out))
    }

    public func reduce(_ op: ReductionOp, _ x: Tensor, axes: [Int], into out: Tensor) {
        record("reduce.\(op)")
        cpu.reduce(op, host(x), axes: axes, into: host(out))
    }

    public func argExtreme(_ x: Tensor, axis: Int, isMinimum: Bool, into out: Tensor) {
        record("argExtreme")
        cpu.argExtreme(host(x), axis: axis, isMinimum: isMinimum, into: host(out))
    }

    public func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, accumulate: Bool) {
        record("gemm")
        cpu.gemm(host(a), host(b), into: host(c), accumulate: accumulate)
    }

    public func batchedMatmul(_ a: Tensor, _ b: Tensor, into c: Tensor) {
        record("batchedMatmul")
        cpu.batchedMatmul(host(a), host(b), into: host(c))
    }

    public func conv2d(_ x: Tensor, _ w: Tensor, geometry: WindowGeometry, groups: Int, into out: Tensor) {
        record("conv2d")
        cpu.conv2d(host(x), host(w), geometry: geometry, groups: groups, into: host(out))
    }

    public func conv2dBackwardData(
        _ gradient: Tensor, _ w: Tensor, geometry: WindowGeometry, groups: Int, into dx: Tensor
    ) {
        record("conv2dBackwardData")
        cpu.conv2dBackwardData(host(gradient), host(w), geometry: geometry, groups: groups, into: host(dx))
    }

    public func conv2dBackwardFilter(
        _ x: Tensor, _ gradient: Tensor, geometry: WindowGeometry, groups: Int, into dw: Tensor
    ) {
        record("conv2dBackwardFilter")
        cpu.conv2dBackwardFilter(host(x), host(gradient), geometry: geometry, groups: groups, into: host(dw))
    }

    public func conv2dBackward(
        _ x: Tensor, _ w: Tensor, gradient: Tensor, reluOutput: Tensor?, geometry: WindowGeometry, groups: Int,
        dx: Tensor?, dw: Tensor?, dbias: Tensor?
    ) {
        record("conv2dBackward")
        cpu.conv2dBackward(
            host(x), host(w), gradient: host(gradient), reluOutput: reluOutput.map(host), geometry: geometry,
            groups: groups, dx: dx.map(host), dw: dw.map(host), dbias: dbias.map(host))
    }

    public func maxPool2d(_ x: Tensor, geometry: WindowGeometry, into out: Tensor, argmax: Tensor?) {
        record("maxPool2d")
        cpu.maxPool2d(host(x), geometry: geometry, into: host(out), argmax: argmax.map(host))
    }

    public func maxPool2dBackward(_ gradient: Tensor, argmax: Tensor, geometry: WindowGeometry, into dx: Tensor) {
        record("maxPool2dBackward")
        cpu.maxPool2dBackward(host(gradient), argmax: host(argmax), geometry: geometry, into: host(dx))
    }

    public func avgPool2d(_ x: Tensor, geometry: WindowGeometry, into out: Tensor) {
        record("avgPool2d")
        cpu.avgPool2d(host(x), geometry: geometry, into: host(out))
    }

    public func avgPool2dBackward(_ gradient: Tensor, geometry: WindowGeometry, into dx: Tensor) {
        record("avgPool2dBackward")
        cpu.avgPool2dBackward(host(gradient), geometry: geometry, into: host(dx))
    }

    public func softmax(_ x: Tensor, isLog: Bool, into out: Tensor) {
        record("softmax")
        cpu.softmax(host(x), isLog: isLog, into: host(out))
    }

    public func softmaxBackward(_ y: Tensor, gradient: Tensor, isLog: Bool, into dx: Tensor) {
        record("softmaxBackward")
        cpu.softmaxBackward(host(y), gradient: host(gradient), isLog: isLog, into: host(dx))
    }

    public func softmaxCrossEntropy(
        logits: Tensor, sparse: Tensor?, dense: Tensor?, loss: Tensor, probabilities: Tensor
    ) -> Int? {
        record("softmaxCrossEntropy")
        return cpu.softmaxCrossEntropy(
            logits: host(logits), sparse: sparse.map(host), dense: dense.map(host), loss: host(loss),
            probabilities: host(probabilities))
    }

    public func channelMoments(_ x: Tensor, mean: Tensor, variance: Tensor) {
        record("channelMoments")
        cpu.channelMoments(host(x), mean: host(mean), variance: host(variance))
    }

    public func batchNormForward(
        _ x: Tensor, mean: Tensor, invstd: Tensor, scale: Tensor?, offset: Tensor?, into y: Tensor
    ) {
        record("batchNormForward")
        cpu.batchNormForward(
            host(x), mean: host(mean), invstd: host(invstd), scale: scale.map(host), offset: offset.map(host),
            into: host(y))
    }

    public func batchNormBackward(
        _ x: Tensor, gradient: Tensor, mean: Tensor, invstd: Tensor, scale: Tensor?, dx: Tensor, dscale: Tensor,
        doffset: Tensor
    ) {
        record("batchNormBackward")
        cpu.batchNormBackward(
            host(x), gradient: host(gradient), mean: host(mean), invstd: host(invstd), scale: scale.map(host),
            dx: host(dx), dscale: host(dscale), doffset: host(doffset))
    }

    public func random(_ distribution: RandomDistribution, seed: UInt64, stream: UInt64, into out: Tensor) {
        record("random")
        cpu.random(distribution, seed: seed, stream: stream, into: host(out))
    }

    public func dropout(_ x: Tensor, rate: Float, seed: UInt64, stream: UInt64, into y: Tensor, mask: Tensor) {
        record("dropout")
        cpu.dropout(host(x), rate: rate, seed: seed, stream: stream, into: host(y), mask: host(mask))
    }

    public func gather(_ x: Tensor, indices: Tensor, axis: Int, into out: Tensor) {
        record("gather")
        cpu.gather(host(x), indices: host(indices), axis: axis, into: host(out))
    }

    public func scatterAdd(_ gradient: Tensor, indices: Tensor, axis: Int, into dx: Tensor) {
        record("scatterAdd")
        cpu.scatterAdd(host(gradient), indices: host(indices), axis: axis, into: host(dx))
    }

    public func oneHot(_ labels: Tensor, classes: Int, into out: Tensor) {
        record("oneHot")
        cpu.oneHot(host(labels), classes: classes, into: host(out))
    }

    public func affineResample(
        _ x: Tensor, matrices: [Float], fill: FillMode, fills: [Float], scales: [Float], biases: [Float],
        nearest: Bool, into out: Tensor
    ) {
        record("affineResample")
        cpu.affineResample(
            host(x), matrices: matrices, fill: fill, fills: fills, scales: scales, biases: biases, nearest: nearest,
            into: host(out))
    }

    public func sgdStep(
        _ parameter: Tensor, gradient: Tensor, velocity: Tensor?, learningRate: Float, momentum: Float,
        nesterov: Bool, weightDecay: Float
    ) {
        record("sgdStep")
        cpu.sgdStep(
            host(parameter), gradient: host(gradient), velocity: velocity.map(host), learningRate: learningRate,
            momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
    }

    public func rmspropStep(
        _ parameter: Tensor, gradient: Tensor, meanSquare: Tensor, meanGradient: Tensor?, velocity: Tensor?,
        learningRate: Float, rho: Float, momentum: Float, epsilon: Float, weightDecay: Float
    ) {
        record("rmspropStep")
        cpu.rmspropStep(
            host(parameter), gradient: host(gradient), meanSquare: host(meanSquare),
            meanGradient: meanGradient.map(host),
            velocity: velocity.map(host), learningRate: learningRate, rho: rho, momentum: momentum, epsilon: epsilon,
            weightDecay: weightDecay)
    }

    public func adamStep(
        _ parameter: Tensor, gradient: Tensor, m: Tensor, v: Tensor, learningRate: Float, beta1: Float,
        beta2: Float, epsilon: Float, step: Int, weightDecay: Float
    ) {
        record("adamStep")
        cpu.adamStep(
            host(parameter), gradient: host(gradient), m: host(m), v: host(v), learningRate: learningRate,
            beta1: beta1, beta2: beta2, epsilon: epsilon, step: step, weightDecay: weightDecay)
    }

    public func adagradStep(
        _ parameter: Tensor, gradient: Tensor, accumulator: Tensor, learningRate: Float, epsilon: Float,
        weightDecay: Float
    ) {
        record("adagradStep")
        cpu.adagradStep(
            host(parameter), gradient: host(gradient), accumulator: host(accumulator), learningRate: learningRate,
            epsilon: epsilon, weightDecay: weightDecay)
    }
}
