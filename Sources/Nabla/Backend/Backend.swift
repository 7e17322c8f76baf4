import Foundation

// The seam between the tensor ops and the code that computes them. Ops check their arguments,
// allocate results on their inputs' device and call one of these primitives; a backend implements
// the primitives for its device. Every primitive works on `Tensor` descriptors (storage, shape,
// strides, offset); outputs are allocated by the caller, contiguous, on the same backend.
//
// Families with a default implementation compose it from other primitives (through tensor ops on
// the backend's own device), so a new backend can start with the required ones and replace
// defaults with fused kernels later. `CPUBackend` implements everything with the C kernels.

/// Allocation and data movement: what every backend needs first.
public protocol MemoryBackend: AnyObject, Sendable {
    /// The device this backend computes on.
    var device: Device { get }
    /// Whether tensor memory is ordinary host memory that the CPU can address directly.
    var isHostMemory: Bool { get }
    /// Returns uninitialised memory of at least `byteCount` bytes (at least one byte).
    func allocate(byteCount: Int) -> Storage
    /// Takes back memory from ``allocate(byteCount:)``, once its last view is gone.
    func release(_ storage: Storage)
    /// Copies `source` (any strides) into `destination` (any strides) of the same shape and dtype.
    func copy(_ source: Tensor, into destination: Tensor)
    /// Converts contiguous `source` into contiguous `destination` of another dtype (float → integer
    /// truncates toward zero; bool is 0 or 1).
    func convert(_ source: Tensor, into destination: Tensor)
    /// Copies host bytes into contiguous `destination`.
    func write(_ bytes: UnsafeRawBufferPointer, into destination: Tensor)
    /// Copies contiguous `source` into host memory.
    func read(_ source: Tensor, into bytes: UnsafeMutableRawBufferPointer)
    /// Sets every element of contiguous `destination` to `value` converted to its dtype.
    func fill(_ destination: Tensor, value: Float)
}

/// Elementwise arithmetic, comparisons and activations.
public protocol ElementwiseBackend {
    /// `out = a op b`, with `a` and `b` views already broadcast to `out`'s shape (zero strides on
    /// repeated axes); comparisons write `bool`.
    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into out: Tensor)
    /// `out = f(x)` for contiguous float32 `x`; `alpha`, `beta` are the op's constants.
    func unary(_ op: UnaryOp, _ x: Tensor, alpha: Float, beta: Float, into out: Tensor)
    /// `dx = g · f'(x)`, given the forward input `x` and output `y`, all contiguous.
    func unaryBackward(
        _ op: UnaryOp, x: Tensor, y: Tensor, gradient: Tensor, alpha: Float, beta: Float, into dx: Tensor)
    /// `out = condition ? a : b`, with all three views broadcast to `out`'s shape.
    func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor, into out: Tensor)
}

/// Reductions over axes and arg-extrema.
public protocol ReductionBackend {
    /// Folds `x` (any strides) over `axes` into contiguous `out`, which has `x`'s shape with 1 on
    /// the reduced axes. Sums accumulate in double on the CPU.
    func reduce(_ op: ReductionOp, _ x: Tensor, axes: [Int], into out: Tensor)
    /// The int64 index of the largest (smallest when `isMinimum`) element along `axis` of
    /// contiguous `x`, into contiguous `out` (size 1 on `axis`); the first on ties.
    func argExtreme(_ x: Tensor, axis: Int, isMinimum: Bool, into out: Tensor)
}

/// Matrix products.
public protocol MatMulBackend {
    /// `c = a·b` (or `c += a·b`) for `a` `[M, K]` and `b` `[K, N]` of any strides; `c` is a
    /// contiguous `[M, N]`.
    func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, accumulate: Bool)
    /// `c[i] = a[i]·b[i]` over broadcast batch dimensions: `a` is `[batch…, M, K]` and `b`
    /// `[batch…, K, N]`, both already broadcast to the batch shape of contiguous `c`.
    func batchedMatmul(_ a: Tensor, _ b: Tensor, into c: Tensor)
}

/// 2-D convolution on NHWC tensors, with filters `[KH, KW, C / groups, K]`; the three passes
/// are separate primitives so that libraries that provide them separately (cuDNN) fit.
public protocol ConvolutionBackend {
    /// `out[n, oh, ow, k] = Σ x[n, oh·sh + kh·dh − pt, ow·sw + kw·dw − pl, c] · w[kh, kw, c, k]`.
    func conv2d(_ x: Tensor, _ w: Tensor, geometry: WindowGeometry, groups: Int, into out: Tensor)
    /// ``conv2d(_:_:geometry:groups:into:)`` followed by `+ bias` (`[K]`, when given) and ReLU
    /// (when `relu`): the inference path of a convolution layer. The default runs the three
    /// steps; a backend may apply the last two while each block of the output is in cache.
    func conv2d(
        _ x: Tensor, _ w: Tensor, bias: Tensor?, relu: Bool, geometry: WindowGeometry, groups: Int, into out: Tensor)
    /// The gradient with respect to the input, into zero-filled `dx`.
    func conv2dBackwardData(
        _ gradient: Tensor, _ w: Tensor, geometry: WindowGeometry, groups: Int, into dx: Tensor)
    /// The gradient with respect to the filter, into `dw` (overwritten).
    func conv2dBackwardFilter(
        _ x: Tensor, _ gradient: Tensor, geometry: WindowGeometry, groups: Int, into dw: Tensor)
    /// The gradients of a convolution layer, each when its output is given (`dx` zero-filled, `dw`
    /// and `dbias` (`[K]`) overwritten); with `reluOutput` the layer ended in a ReLU, whose output
    /// masks `gradient` first (kept where positive).
    ///
    /// The default masks and sums in whole passes and calls the two primitives above; a backend may
    /// fuse them (the CPU's masks and sums each chunk in cache, and shares one im2col buffer).
    func conv2dBackward(
        _ x: Tensor, _ w: Tensor, gradient: Tensor, reluOutput: Tensor?, geometry: WindowGeometry, groups: Int,
        dx: Tensor?, dw: Tensor?, dbias: Tensor?)
}

extension ConvolutionBackend {
    public func conv2d(
        _ x: Tensor, _ w: Tensor, bias: Tensor?, relu: Bool, geometry: WindowGeometry, groups: Int, into out: Tensor
    ) {
        conv2d(x, w, geometry: geometry, groups: groups, into: out)
        guard bias != nil || relu else { return }
        composing {
            var y = out
            if let bias { y = y + bias }
            if relu { y = y.relu() }
            out.backend.copy(y, into: out)
        }
    }

    public func conv2dBackward(
        _ x: Tensor, _ w: Tensor, gradient: Tensor, reluOutput: Tensor?, geometry: WindowGeometry, groups: Int,
        dx: Tensor?, dw: Tensor?, dbias: Tensor?
    ) {
        // ReLU's output is 0 or positive: its sign is the mask.
        let g = composing { reluOutput.map { gradient * $0.sign() } ?? gradient }
        if let dbias { composing { dbias.backend.copy(g.sumTo(dbias.shape), into: dbias) } }
        if let dw { conv2dBackwardFilter(x, g, geometry: geometry, groups: groups, into: dw) }
        if let dx { conv2dBackwardData(g, w, geometry: geometry, groups: groups, into: dx) }
    }
}

/// Max and average pooling on NHWC tensors.
public protocol PoolingBackend {
    /// Window maxima into `out`, and into int32 `argmax` (unless nil: no gradient will be taken) the
    /// flat index (within its image) of each.
    func maxPool2d(_ x: Tensor, geometry: WindowGeometry, into out: Tensor, argmax: Tensor?)
    /// Adds each output gradient at its recorded argmax position of zero-filled `dx`.
    func maxPool2dBackward(_ gradient: Tensor, argmax: Tensor, geometry: WindowGeometry, into dx: Tensor)
    /// ``ConvolutionBackend/conv2d(_:_:bias:relu:geometry:groups:into:)`` and then window maxima over
    /// `pool`, whose windows tile the convolution's output, into `out`; for inference (no argmax).
    func conv2dMaxPool(
        _ x: Tensor, _ w: Tensor, bias: Tensor?, relu: Bool, geometry: WindowGeometry, groups: Int,
        pool: WindowGeometry, into out: Tensor)
    /// Window means, padded positions left out of each count.
    func avgPool2d(_ x: Tensor, geometry: WindowGeometry, into out: Tensor)
    /// The gradient of ``avgPool2d(_:geometry:into:)``, into zero-filled `dx`.
    func avgPool2dBackward(_ gradient: Tensor, geometry: WindowGeometry, into dx: Tensor)
}

/// Softmax, the fused softmax cross-entropy and batch normalisation (rows × last axis).
public protocol NeuralNetworkBackend {
    /// Softmax (log-softmax when `isLog`) of each row of contiguous `x` over its last axis.
    func softmax(_ x: Tensor, isLog: Bool, into out: Tensor)
    /// The gradient of ``softmax(_:isLog:into:)`` given its output `y`.
    func softmaxBackward(_ y: Tensor, gradient: Tensor, isLog: Bool, into dx: Tensor)
    /// Per-row cross-entropy of `softmax(logits)` against int64 class indices (`sparse`) or
    /// probabilities (`dense`); writes `loss` and `probabilities`. Returns the first row whose
    /// sparse label is outside the classes, or nil.
    func softmaxCrossEntropy(
        logits: Tensor, sparse: Tensor?, dense: Tensor?, loss: Tensor, probabilities: Tensor
    ) -> Int?
    /// Per-channel (last axis) mean and biased variance of contiguous `x`.
    func channelMoments(_ x: Tensor, mean: Tensor, variance: Tensor)
    /// `y = (x − mean) · invstd · scale + offset` per channel.
    func batchNormForward(
        _ x: Tensor, mean: Tensor, invstd: Tensor, scale: Tensor?, offset: Tensor?, into y: Tensor)
    /// The closed-form batch-norm backward with batch statistics.
    func batchNormBackward(
        _ x: Tensor, gradient: Tensor, mean: Tensor, invstd: Tensor, scale: Tensor?, dx: Tensor, dscale: Tensor,
        doffset: Tensor)
}

/// Counter-based random numbers: the value at position `i` depends only on `(seed, stream, i)`.
public protocol RandomBackend {
    /// Fills contiguous float32 `out` from stream `stream` of `seed`.
    func random(_ distribution: RandomDistribution, seed: UInt64, stream: UInt64, into out: Tensor)
    /// Inverted dropout: `mask = uniform ≥ rate ? 1 / (1 − rate) : 0`, `y = x · mask`.
    func dropout(_ x: Tensor, rate: Float, seed: UInt64, stream: UInt64, into y: Tensor, mask: Tensor)
}

/// Gathering, scattering and one-hot rows.
public protocol IndexingBackend {
    /// `out[o, k, i] = x[o, indices[k], i]` for contiguous `x` viewed as `[outer, n, inner]` and
    /// int64 `indices` already checked to lie in `0..<n`.
    func gather(_ x: Tensor, indices: Tensor, axis: Int, into out: Tensor)
    /// `dx[o, indices[k], i] += g[o, k, i]`: the gradient of ``gather(_:indices:axis:into:)``,
    /// into zero-filled `dx`.
    func scatterAdd(_ gradient: Tensor, indices: Tensor, axis: Int, into dx: Tensor)
    /// Float32 one-hot rows for int64 `labels` already checked to lie in `0..<classes`.
    func oneHot(_ labels: Tensor, classes: Int, into out: Tensor)
}

/// Geometric resampling of NHWC images (augmentation, resizing).
public protocol ImageBackend {
    /// See ``affineResample(_:matrices:outputSize:fill:nearest:scale:bias:)``; `fills`, `scales`
    /// and `biases` have one entry per channel.
    func affineResample(
        _ x: Tensor, matrices: [Float], fill: FillMode, fills: [Float], scales: [Float], biases: [Float],
        nearest: Bool, into out: Tensor)
}

/// In-place optimizer updates of one contiguous float32 parameter from its gradient.
///
/// Weight decay is decoupled: `p −= lr · weightDecay · p` first.
public protocol OptimizerBackend {
    /// SGD, with a velocity when `velocity` is given.
    func sgdStep(
        _ parameter: Tensor, gradient: Tensor, velocity: Tensor?, learningRate: Float, momentum: Float,
        nesterov: Bool, weightDecay: Float)
    /// RMSProp; centred when `meanGradient` is given, with momentum when `velocity` is.
    func rmspropStep(
        _ parameter: Tensor, gradient: Tensor, meanSquare: Tensor, meanGradient: Tensor?, velocity: Tensor?,
        learningRate: Float, rho: Float, momentum: Float, epsilon: Float, weightDecay: Float)
    /// Adam with bias correction at 1-based `step`.
    func adamStep(
        _ parameter: Tensor, gradient: Tensor, m: Tensor, v: Tensor, learningRate: Float, beta1: Float,
        beta2: Float, epsilon: Float, step: Int, weightDecay: Float)
    /// Adagrad.
    func adagradStep(
        _ parameter: Tensor, gradient: Tensor, accumulator: Tensor, learningRate: Float, epsilon: Float,
        weightDecay: Float)
}

/// Everything a device must provide for every op of Nabla to run on it.
public protocol Backend: MemoryBackend, ElementwiseBackend, ReductionBackend, MatMulBackend, ConvolutionBackend,
    PoolingBackend, NeuralNetworkBackend, RandomBackend, IndexingBackend, ImageBackend, OptimizerBackend
{}

// MARK: - The constants primitives take

/// Broadcasting binary operations; the comparisons produce `bool`.
public enum BinaryOp: Sendable, CaseIterable {
    case add, subtract, multiply, divide, maximum, minimum, power
    case equal, notEqual, less, lessEqual, greater, greaterEqual

    /// Whether the result is `bool`.
    public var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: true
        default: false
        }
    }
}

/// Unary float32 operations; `alpha` / `beta` carry their constants (slope, exponent, bounds).
public enum UnaryOp: Sendable, CaseIterable {
    case negate, exp, log, sqrt, rsqrt, square, abs, sign, clamp, powerScalar
    case relu, leakyRelu, elu, sigmoid, tanh, gelu, swish, erf
}

/// Reductions: `sum` (identity 0), `max` (−∞), `min` (+∞).
public enum ReductionOp: Sendable {
    case sum, max, min
}

/// Distributions of ``RandomBackend/random(_:seed:stream:into:)``.
public enum RandomDistribution: Sendable, Equatable {
    case uniform(low: Float, high: Float)
    case normal(mean: Float, standardDeviation: Float)
    /// Normal values re-drawn outside two standard deviations.
    case truncatedNormal(mean: Float, standardDeviation: Float)
}

// MARK: - The backend registry

/// The backends by device.
///
/// The CPU's is always registered.
public enum Backends {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var table: [Device: any Backend] = [.cpu: CPUBackend.shared]

    /// Makes `backend` the one that computes on `backend.device`.
    public static func register(_ backend: any Backend) {
        lock.lock()
        defer { lock.unlock() }
        table[backend.device] = backend
    }

    /// Whether a backend computes on `device`.
    public static func isRegistered(_ device: Device) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return device == .cpu || table[device] != nil
    }

    /// Returns the backend of `device`.
    ///
    /// - Precondition: one is registered.
    public static func backend(for device: Device) -> any Backend {
        if device == .cpu { return CPUBackend.shared }
        lock.lock()
        defer { lock.unlock() }
        guard let backend = table[device] else {
            misuse("no backend is registered for device \(device); register one with Backends.register(_:)")
        }
        return backend
    }
}

extension Tensor {
    /// The device this tensor's memory lives on.
    public var device: Device { storage.device }

    /// The backend that computes on this tensor.
    package var backend: any Backend { storage.backend }

    /// Returns the backend shared by both inputs of `op`.
    ///
    /// - Precondition: the inputs live on one device.
    @inline(__always)
    static func backend(of a: Tensor, _ b: Tensor, op: @autoclosure () -> String) -> any Backend {
        let backend = a.storage.backend
        if _slowPath(b.storage.backend !== backend) {
            misuse("\(op()): inputs are on different devices, \(a.device) and \(b.device)")
        }
        return backend
    }

    /// Returns the backend shared by every input of `op`.
    ///
    /// - Precondition: the inputs live on one device.
    static func backend(of tensors: [Tensor], op: @autoclosure () -> String) -> any Backend {
        let backend = tensors[0].storage.backend
        for t in tensors.dropFirst() where t.storage.backend !== backend {
            misuse("\(op()): inputs are on different devices, \(tensors.map(\.device.description))")
        }
        return backend
    }

    /// Returns a copy of this tensor on `device` (this tensor when it is already there).
    ///
    /// Gradients do not flow through a move; a leaf moved to another device starts a new leaf.
    public func to(_ device: Device) -> Tensor {
        if device == self.device { return self }
        let target = Backends.backend(for: device)
        let out = Tensor(uninitializedShape: shape, dtype: dtype, backend: target)
        withUnsafeBytes { target.write($0, into: out) }
        return out
    }
}
