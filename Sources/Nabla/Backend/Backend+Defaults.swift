import Foundation

// Default implementations of the primitives that compose from others, so that a new backend can
// start with the required ones. Each runs tensor ops on the backend's own device (results of the
// composed ops live there too), records nothing and writes its result with `copy`.

/// Runs `body` without recording gradients or trace entries: a primitive is one step.
func composing<Result>(_ body: () -> Result) -> Result {
    Tracer.$current.withValue(nil) { withoutGradients(body) }
}

extension MemoryBackend {
    /// Fills by writing one host copy of the value.
    public func fill(_ destination: Tensor, value: Float) {
        let values = [Float](repeating: value, count: destination.count)
        let source = Tensor(uninitializedShape: destination.shape, dtype: .float32, backend: CPUBackend.shared)
        values.withUnsafeBytes { CPUBackend.shared.write($0, into: source) }
        let converted = source.asType(destination.dtype)
        converted.withUnsafeBytes { write($0, into: destination) }
    }
}

extension MatMulBackend {
    /// One ``gemm(_:_:into:accumulate:)`` per batch entry.
    public func batchedMatmul(_ a: Tensor, _ b: Tensor, into c: Tensor) {
        let batch = Array(c.shape.dropLast(2))
        let batchStrides = Shape.contiguousStrides(batch)
        /// The `[rows, columns]` matrix of batch entry `i` of a `[batch…, rows, columns]` view.
        func matrix(_ t: Tensor, _ i: Int) -> Tensor {
            var (rem, offset) = (i, t.offset)
            for d in 0..<batch.count {
                offset += rem / batchStrides[d] * t.strides[d]
                rem %= batchStrides[d]
            }
            return Tensor(
                viewing: t, shape: Array(t.shape.suffix(2)), strides: Array(t.strides.suffix(2)), offset: offset)
        }
        for i in 0..<Shape.count(batch) {
            gemm(matrix(a, i), matrix(b, i), into: matrix(c, i), accumulate: false)
        }
    }
}

extension RandomBackend where Self: MemoryBackend {
    /// Uniform draws compared with the rate.
    public func dropout(_ x: Tensor, rate: Float, seed: UInt64, stream: UInt64, into y: Tensor, mask: Tensor) {
        let draws = Tensor(uninitializedShape: x.shape, dtype: .float32, backend: x.backend)
        random(.uniform(low: 0, high: 1), seed: seed, stream: stream, into: draws)
        composing {
            let keep = Tensor.where(draws .>= rate, Tensor.scalar(1 / (1 - rate), like: x), Tensor.scalar(0, like: x))
            copy(keep, into: mask)
            copy(x * keep, into: y)
        }
    }
}

extension IndexingBackend where Self: MemoryBackend {
    /// Labels compared with every class index.
    public func oneHot(_ labels: Tensor, classes: Int, into out: Tensor) {
        composing {
            let values = labels.asType(.float32).unsqueezed(axis: -1)
            let indices = Tensor((0..<classes).map(Float.init), shape: [classes], device: labels.device)
            copy((values .== indices).asType(.float32), into: out)
        }
    }
}

extension NeuralNetworkBackend where Self: MemoryBackend {
    /// Mean, then the mean squared deviation.
    public func channelMoments(_ x: Tensor, mean: Tensor, variance: Tensor) {
        composing {
            let axes = Array(0..<(x.rank - 1))
            let m = x.mean(axes: axes)
            copy(m, into: mean)
            copy((x - m).square().mean(axes: axes), into: variance)
        }
    }

    /// Broadcast arithmetic.
    public func batchNormForward(
        _ x: Tensor, mean: Tensor, invstd: Tensor, scale: Tensor?, offset: Tensor?, into y: Tensor
    ) {
        composing {
            var out = (x - mean) * invstd
            if let scale { out = out * scale }
            if let offset { out = out + offset }
            copy(out, into: y)
        }
    }
}

extension OptimizerBackend where Self: MemoryBackend {
    public func sgdStep(
        _ parameter: Tensor, gradient: Tensor, velocity: Tensor?, learningRate: Float, momentum: Float,
        nesterov: Bool, weightDecay: Float
    ) {
        composing {
            var p = decayed(parameter, learningRate, weightDecay)
            if let velocity {
                let v = velocity * momentum - gradient * learningRate
                copy(v, into: velocity)
                p = nesterov ? p + (v * momentum - gradient * learningRate) : p + v
            } else {
                p = p - gradient * learningRate
            }
            copy(p, into: parameter)
        }
    }

    public func rmspropStep(
        _ parameter: Tensor, gradient: Tensor, meanSquare: Tensor, meanGradient: Tensor?, velocity: Tensor?,
        learningRate: Float, rho: Float, momentum: Float, epsilon: Float, weightDecay: Float
    ) {
        composing {
            let p = decayed(parameter, learningRate, weightDecay)
            let s = meanSquare * rho + gradient.square() * (1 - rho)
            copy(s, into: meanSquare)
            var denominator = s
            if let meanGradient {
                let m = meanGradient * rho + gradient * (1 - rho)
                copy(m, into: meanGradient)
                denominator = denominator - m.square()
            }
            let increment = gradient * learningRate / (denominator + epsilon).sqrt()
            if let velocity {
                let v = velocity * momentum + increment
                copy(v, into: velocity)
                copy(p - v, into: parameter)
            } else {
                copy(p - increment, into: parameter)
            }
        }
    }

    public func adamStep(
        _ parameter: Tensor, gradient: Tensor, m: Tensor, v: Tensor, learningRate: Float, beta1: Float,
        beta2: Float, epsilon: Float, step: Int, weightDecay: Float
    ) {
        composing {
            let c1 = 1 - Foundation.pow(beta1, Float(step)), c2 = 1 - Foundation.pow(beta2, Float(step))
            let p = decayed(parameter, learningRate, weightDecay)
            let newM = m * beta1 + gradient * (1 - beta1)
            let newV = v * beta2 + gradient.square() * (1 - beta2)
            copy(newM, into: m)
            copy(newV, into: v)
            copy(p - (newM / c1) * learningRate / ((newV / c2).sqrt() + epsilon), into: parameter)
        }
    }

    public func adagradStep(
        _ parameter: Tensor, gradient: Tensor, accumulator: Tensor, learningRate: Float, epsilon: Float,
        weightDecay: Float
    ) {
        composing {
            let p = decayed(parameter, learningRate, weightDecay)
            let a = accumulator + gradient.square()
            copy(a, into: accumulator)
            copy(p - gradient * learningRate / (a + epsilon).sqrt(), into: parameter)
        }
    }

    private func decayed(_ parameter: Tensor, _ learningRate: Float, _ weightDecay: Float) -> Tensor {
        weightDecay == 0 ? parameter : parameter - parameter * (learningRate * weightDecay)
    }
}

extension PoolingBackend where Self: ConvolutionBackend {
    public func conv2dMaxPool(
        _ x: Tensor, _ w: Tensor, bias: Tensor?, relu: Bool, geometry: WindowGeometry, groups: Int,
        pool: WindowGeometry, into out: Tensor
    ) {
        convolveThenPool(x, w, bias: bias, relu: relu, geometry: geometry, groups: groups, pool: pool, into: out)
    }

    /// The convolution into a tensor of its own, then the pooling.
    func convolveThenPool(
        _ x: Tensor, _ w: Tensor, bias: Tensor?, relu: Bool, geometry: WindowGeometry, groups: Int,
        pool: WindowGeometry, into out: Tensor
    ) {
        let y = Tensor(uninitializedShape: geometry.outputShape + [w.shape[3]], dtype: .float32, backend: out.backend)
        conv2d(x, w, bias: bias, relu: relu, geometry: geometry, groups: groups, into: y)
        maxPool2d(y, geometry: pool, into: out, argmax: nil)
    }
}
