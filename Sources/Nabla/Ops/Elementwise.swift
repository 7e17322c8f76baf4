import CNablaKernels

// Elementwise ops: broadcasting arithmetic, comparisons, `where`, math functions and activations.
// Each op's forward kernel call and its backward closure sit side by side.

extension Tensor {
    /// Returns the strides that read this tensor as if broadcast to `target` (0 on repeated axes).
    func broadcastStrides(to target: [Int]) -> [Int] {
        let lead = target.count - rank
        return (0..<target.count).map { i in
            let j = i - lead
            if j < 0 || (shape[j] == 1 && target[i] != 1) { return 0 }
            return strides[j]
        }
    }

    /// Runs a broadcasting binary kernel; comparisons produce `bool`.
    static func broadcastKernel(_ op: Int32, _ a: Tensor, _ b: Tensor, name: String) -> Tensor {
        require(
            a.dtype == .float32 && b.dtype == .float32,
            "\(name): expected float32 operands, got \(a.dtype) \(a.shape) and \(b.dtype) \(b.shape)")
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            misuse("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let out = Tensor(uninitializedShape: shape, dtype: op >= Int32(NBL_CMP_EQ) ? .bool : .float32)
        let (dims, strides) = Shape.coalesce(
            shape, [a.broadcastStrides(to: shape), b.broadcastStrides(to: shape), out.strides])
        let pa = UnsafeSendable(UnsafePointer(a.floats)), pb = UnsafeSendable(UnsafePointer(b.floats))
        let po = UnsafeSendable(out.rawPointer)
        dims.withUnsafeBufferPointer { d in
            strides[0].withUnsafeBufferPointer { sa in
                strides[1].withUnsafeBufferPointer { sb in
                    ThreadPool.parallelFor(out.count, grain: 1 << 15) { start, end in
                        nbl_binary_f32(
                            op, Int32(dims.count), d.baseAddress, pa.value, sa.baseAddress, pb.value, sb.baseAddress,
                            po.value, start, end)
                    }
                }
            }
        }
        return out
    }

    /// Runs a unary kernel on a contiguous float32 copy and records its fused derivative.
    func unaryKernel(_ op: Int32, _ name: String, alpha: Float = 0, beta: Float = 0) -> Tensor {
        require(dtype == .float32, "\(name): expected float32, got \(dtype) \(shape)")
        let x = contiguous()
        let out = Tensor(uninitializedShape: shape, dtype: .float32)
        let px = UnsafeSendable(UnsafePointer(x.floats)), po = UnsafeSendable(out.floats)
        ThreadPool.parallelFor(count, grain: 1 << 14) { start, end in
            nbl_unary_f32(op, px.value + start, po.value + start, end - start, alpha, beta)
        }
        guard GradientMode.shouldRecord(self) else { return out }
        return out.recording(name, inputs: [self]) { g in
            let gc = g.contiguous()
            let dx = Tensor(uninitializedShape: x.shape, dtype: .float32)
            let pg = UnsafeSendable(UnsafePointer(gc.floats)), pd = UnsafeSendable(dx.floats)
            let px = UnsafeSendable(UnsafePointer(x.floats)), py = UnsafeSendable(UnsafePointer(out.floats))
            ThreadPool.parallelFor(dx.count, grain: 1 << 14) { start, end in
                nbl_unary_backward_f32(
                    op, px.value + start, py.value + start, pg.value + start, pd.value + start, end - start, alpha,
                    beta)
            }
            return [dx]
        }
    }
}

// MARK: - Arithmetic

extension Tensor {
    /// Returns `a + b`, broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastKernel(Int32(NBL_BIN_ADD), a, b, name: "add")
        guard GradientMode.shouldRecord(a, b) else { return out }
        return out.recording("add", inputs: [a, b]) { g in [g.sumTo(a.shape), g.sumTo(b.shape)] }
    }

    /// Returns `a - b`, broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastKernel(Int32(NBL_BIN_SUB), a, b, name: "sub")
        guard GradientMode.shouldRecord(a, b) else { return out }
        return out.recording("sub", inputs: [a, b]) { g in [g.sumTo(a.shape), (-g).sumTo(b.shape)] }
    }

    /// Returns `a * b` elementwise, broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastKernel(Int32(NBL_BIN_MUL), a, b, name: "mul")
        guard GradientMode.shouldRecord(a, b) else { return out }
        let (ad, bd) = (a.detached(), b.detached())
        return out.recording("mul", inputs: [a, b]) { g in
            [a.node == nil ? nil : (g * bd).sumTo(a.shape), b.node == nil ? nil : (g * ad).sumTo(b.shape)]
        }
    }

    /// Returns `a / b` elementwise, broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastKernel(Int32(NBL_BIN_DIV), a, b, name: "div")
        guard GradientMode.shouldRecord(a, b) else { return out }
        let (ad, bd) = (a.detached(), b.detached())
        return out.recording("div", inputs: [a, b]) { g in
            [a.node == nil ? nil : (g / bd).sumTo(a.shape), b.node == nil ? nil : (-g * ad / (bd * bd)).sumTo(b.shape)]
        }
    }

    /// Returns `-x`.
    public static prefix func - (x: Tensor) -> Tensor { x.unaryKernel(Int32(NBL_UN_NEG), "neg") }

    public static func + (a: Tensor, b: Float) -> Tensor { a + Tensor(b) }
    public static func + (a: Float, b: Tensor) -> Tensor { Tensor(a) + b }
    public static func - (a: Tensor, b: Float) -> Tensor { a - Tensor(b) }
    public static func - (a: Float, b: Tensor) -> Tensor { Tensor(a) - b }
    public static func * (a: Tensor, b: Float) -> Tensor { a * Tensor(b) }
    public static func * (a: Float, b: Tensor) -> Tensor { Tensor(a) * b }
    public static func / (a: Tensor, b: Float) -> Tensor { a / Tensor(b) }
    public static func / (a: Float, b: Tensor) -> Tensor { Tensor(a) / b }

    /// Returns the elementwise maximum of `self` and `other`, broadcasting.
    ///
    /// Where both are equal the gradient is split evenly between them.
    public func maximum(_ other: Tensor) -> Tensor { extremum(other, Int32(NBL_BIN_MAX), "maximum") }

    /// Returns the elementwise minimum of `self` and `other`, broadcasting.
    public func minimum(_ other: Tensor) -> Tensor { extremum(other, Int32(NBL_BIN_MIN), "minimum") }

    private func extremum(_ other: Tensor, _ op: Int32, _ name: String) -> Tensor {
        let out = Tensor.broadcastKernel(op, self, other, name: name)
        guard GradientMode.shouldRecord(self, other) else { return out }
        let (a, b) = (detached(), other.detached())
        return out.recording(name, inputs: [self, other]) { g in
            let wins = op == Int32(NBL_BIN_MAX) ? (a .> b) : (a .< b)
            let share = Tensor.where(wins, Tensor(1), Tensor.where(a .== b, Tensor(0.5), Tensor(0)))
            return [(g * share).sumTo(a.shape), (g * (1 - share)).sumTo(b.shape)]
        }
    }

    /// Returns `self` raised to `exponent` elementwise, broadcasting.
    ///
    /// The gradient with respect to the exponent is taken as 0 where the base is not positive.
    public func pow(_ exponent: Tensor) -> Tensor {
        let out = Tensor.broadcastKernel(Int32(NBL_BIN_POW), self, exponent, name: "pow")
        guard GradientMode.shouldRecord(self, exponent) else { return out }
        let (a, b, y) = (detached(), exponent.detached(), out)
        return out.recording("pow", inputs: [self, exponent]) { g in
            let da = (g * b * a.pow(b - 1)).sumTo(a.shape)
            let safeLog = Tensor.where(a .> 0, a, Tensor(1)).log()
            return [da, exponent.node == nil ? nil : (g * y * safeLog).sumTo(b.shape)]
        }
    }

    /// Returns `self` raised to a constant power.
    public func pow(_ exponent: Float) -> Tensor {
        unaryKernel(Int32(NBL_UN_POW_SCALAR), "pow", alpha: exponent)
    }
}

// MARK: - Comparisons and selection

infix operator .== : ComparisonPrecedence
infix operator .!= : ComparisonPrecedence
infix operator .< : ComparisonPrecedence
infix operator .<= : ComparisonPrecedence
infix operator .> : ComparisonPrecedence
infix operator .>= : ComparisonPrecedence

extension Tensor {
    /// Returns `a == b` elementwise as a `bool` tensor, broadcasting.
    public static func .== (a: Tensor, b: Tensor) -> Tensor { broadcastKernel(Int32(NBL_CMP_EQ), a, b, name: "equal") }
    /// Returns `a != b` elementwise as a `bool` tensor, broadcasting.
    public static func .!= (a: Tensor, b: Tensor) -> Tensor {
        broadcastKernel(Int32(NBL_CMP_NE), a, b, name: "notEqual")
    }
    /// Returns `a < b` elementwise as a `bool` tensor, broadcasting.
    public static func .< (a: Tensor, b: Tensor) -> Tensor { broadcastKernel(Int32(NBL_CMP_LT), a, b, name: "less") }
    /// Returns `a <= b` elementwise as a `bool` tensor, broadcasting.
    public static func .<= (a: Tensor, b: Tensor) -> Tensor {
        broadcastKernel(Int32(NBL_CMP_LE), a, b, name: "lessEqual")
    }
    /// Returns `a > b` elementwise as a `bool` tensor, broadcasting.
    public static func .> (a: Tensor, b: Tensor) -> Tensor {
        broadcastKernel(Int32(NBL_CMP_GT), a, b, name: "greater")
    }
    /// Returns `a >= b` elementwise as a `bool` tensor, broadcasting.
    public static func .>= (a: Tensor, b: Tensor) -> Tensor {
        broadcastKernel(Int32(NBL_CMP_GE), a, b, name: "greaterEqual")
    }
    public static func .== (a: Tensor, b: Float) -> Tensor { a .== Tensor(b) }
    public static func .!= (a: Tensor, b: Float) -> Tensor { a .!= Tensor(b) }
    public static func .< (a: Tensor, b: Float) -> Tensor { a .< Tensor(b) }
    public static func .<= (a: Tensor, b: Float) -> Tensor { a .<= Tensor(b) }
    public static func .> (a: Tensor, b: Float) -> Tensor { a .> Tensor(b) }
    public static func .>= (a: Tensor, b: Float) -> Tensor { a .>= Tensor(b) }

    /// Returns `a` where `condition` is true and `b` elsewhere, broadcasting all three.
    ///
    /// - Precondition: `condition` is `bool` (or `uint8`), `a` and `b` are float32.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        require(
            condition.dtype == .bool || condition.dtype == .uint8,
            "where: condition must be bool, got \(condition.dtype) \(condition.shape)")
        require(
            a.dtype == .float32 && b.dtype == .float32, "where: values must be float32, got \(a.dtype) and \(b.dtype)")
        guard let ab = Shape.broadcast(a.shape, b.shape), let shape = Shape.broadcast(condition.shape, ab) else {
            misuse("where: shapes \(condition.shape), \(a.shape) and \(b.shape) do not broadcast")
        }
        let out = Tensor(uninitializedShape: shape, dtype: .float32)
        let (dims, strides) = Shape.coalesce(
            shape,
            [
                condition.broadcastStrides(to: shape), a.broadcastStrides(to: shape), b.broadcastStrides(to: shape),
                out.strides,
            ])
        let pc = UnsafeSendable(UnsafePointer(condition.rawPointer.assumingMemoryBound(to: UInt8.self)))
        let pa = UnsafeSendable(UnsafePointer(a.floats)), pb = UnsafeSendable(UnsafePointer(b.floats))
        let po = UnsafeSendable(out.floats)
        dims.withUnsafeBufferPointer { d in
            strides[0].withUnsafeBufferPointer { sc in
                strides[1].withUnsafeBufferPointer { sa in
                    strides[2].withUnsafeBufferPointer { sb in
                        ThreadPool.parallelFor(out.count, grain: 1 << 15) { start, end in
                            nbl_where_f32(
                                Int32(dims.count), d.baseAddress, pc.value, sc.baseAddress, pa.value, sa.baseAddress,
                                pb.value, sb.baseAddress, po.value, start, end)
                        }
                    }
                }
            }
        }
        guard GradientMode.shouldRecord(a, b) else { return out }
        let c = condition
        return out.recording("where", inputs: [a, b]) { g in
            let zero = Tensor(0)
            return [Tensor.where(c, g, zero).sumTo(a.shape), Tensor.where(c, zero, g).sumTo(b.shape)]
        }
    }
}

// MARK: - Math functions and activations

extension Tensor {
    /// Returns `e^x` elementwise.
    public func exp() -> Tensor { unaryKernel(Int32(NBL_UN_EXP), "exp") }
    /// Returns the natural logarithm elementwise.
    public func log() -> Tensor { unaryKernel(Int32(NBL_UN_LOG), "log") }
    /// Returns the square root elementwise.
    public func sqrt() -> Tensor { unaryKernel(Int32(NBL_UN_SQRT), "sqrt") }
    /// Returns `1 / sqrt(x)` elementwise.
    public func rsqrt() -> Tensor { unaryKernel(Int32(NBL_UN_RSQRT), "rsqrt") }
    /// Returns `x * x` elementwise.
    public func square() -> Tensor { unaryKernel(Int32(NBL_UN_SQUARE), "square") }
    /// Returns `|x|` elementwise; the gradient at 0 is 0.
    public func abs() -> Tensor { unaryKernel(Int32(NBL_UN_ABS), "abs") }
    /// Returns -1, 0 or 1 by the sign of each element; its gradient is 0.
    public func sign() -> Tensor { unaryKernel(Int32(NBL_UN_SIGN), "sign") }

    /// Returns each element limited to `[min, max]`; the gradient passes inside the bounds.
    public func clamp(min lower: Float = -.infinity, max upper: Float = .infinity) -> Tensor {
        require(lower <= upper, "clamp: min \(lower) is greater than max \(upper)")
        return unaryKernel(Int32(NBL_UN_CLAMP), "clamp", alpha: lower, beta: upper)
    }

    /// Returns `max(x, 0)` elementwise.
    public func relu() -> Tensor { unaryKernel(Int32(NBL_UN_RELU), "relu") }

    /// Returns `x` where positive and `alpha * x` elsewhere (Keras default `alpha` 0.3 for the layer;
    /// 0.01 here as in PyTorch's functional form).
    public func leakyRelu(alpha: Float = 0.01) -> Tensor {
        unaryKernel(Int32(NBL_UN_LEAKY_RELU), "leakyRelu", alpha: alpha)
    }

    /// Returns `x` where positive and `alpha * (e^x - 1)` elsewhere.
    ///
    /// - Paper: https://arxiv.org/abs/1511.07289
    public func elu(alpha: Float = 1) -> Tensor { unaryKernel(Int32(NBL_UN_ELU), "elu", alpha: alpha) }

    /// Returns `1 / (1 + e^-x)` elementwise, computed without overflow for large `|x|`.
    public func sigmoid() -> Tensor { unaryKernel(Int32(NBL_UN_SIGMOID), "sigmoid") }

    /// Returns the hyperbolic tangent elementwise.
    public func tanh() -> Tensor { unaryKernel(Int32(NBL_UN_TANH), "tanh") }

    /// Returns `x * Φ(x)` elementwise, with Φ the standard normal CDF (the exact form, not tanh).
    ///
    /// - Paper: https://arxiv.org/abs/1606.08415
    public func gelu() -> Tensor { unaryKernel(Int32(NBL_UN_GELU), "gelu") }

    /// Returns `x * sigmoid(x)` elementwise (also called SiLU).
    ///
    /// - Paper: https://arxiv.org/abs/1710.05941
    public func swish() -> Tensor { unaryKernel(Int32(NBL_UN_SWISH), "swish") }
}
