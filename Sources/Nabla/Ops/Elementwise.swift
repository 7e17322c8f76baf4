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

    /// Returns a view of this tensor broadcast to `target` (zero strides on repeated axes), without checks.
    func broadcastView(to target: [Int]) -> Tensor {
        if shape == target { return self }
        return Tensor(viewing: self, shape: target, strides: broadcastStrides(to: target))
    }

    /// Runs a broadcasting binary primitive; comparisons produce `bool`.
    static func broadcastBinary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, name: String) -> Tensor {
        require(
            a.dtype == .float32 && b.dtype == .float32,
            "\(name): expected float32 operands, got \(a.dtype) \(a.shape) and \(b.dtype) \(b.shape)")
        let backend = Tensor.backend(of: a, b, op: name)
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            misuse("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let out = Tensor(uninitializedShape: shape, dtype: op.isComparison ? .bool : .float32, backend: backend)
        backend.binary(op, a.broadcastView(to: shape), b.broadcastView(to: shape), into: out)
        return out
    }

    /// Runs a comparison; its result carries no gradient.
    static func compare(_ op: BinaryOp, _ kind: OpKind, _ a: Tensor, _ b: Tensor) -> Tensor {
        broadcastBinary(op, a, b, name: kind.rawValue).traced(kind, inputs: [a, b])
    }

    /// Runs a unary primitive on a contiguous float32 copy and records its fused derivative.
    func unaryOp(
        _ op: UnaryOp, _ kind: OpKind, alpha: Float = 0, beta: Float = 0,
        attributes: @autoclosure () -> [String: OpAttribute] = [:]
    ) -> Tensor {
        require(dtype == .float32, "\(kind.rawValue): expected float32, got \(dtype) \(shape)")
        let x = contiguous()
        let backend = x.backend
        let out = Tensor(uninitializedShape: shape, dtype: .float32, backend: backend)
        backend.unary(op, x, alpha: alpha, beta: beta, into: out)
        guard GradientMode.shouldRecord(self) else { return out }
        return out.recorded(kind, attributes(), inputs: [self]) { g in
            let dx = Tensor(uninitializedShape: x.shape, dtype: .float32, backend: backend)
            backend.unaryBackward(op, x: x, y: out, gradient: g.contiguous(), alpha: alpha, beta: beta, into: dx)
            return [dx]
        }
    }
}

// MARK: - Arithmetic

extension Tensor {
    /// Returns `a + b`, broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(.add, a, b, name: "add")
        guard GradientMode.shouldRecord(a, b) else { return out }
        return out.recorded(.add, inputs: [a, b]) { g in [g.sumTo(a.shape), g.sumTo(b.shape)] }
    }

    /// Returns `a - b`, broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(.subtract, a, b, name: "sub")
        guard GradientMode.shouldRecord(a, b) else { return out }
        return out.recorded(.sub, inputs: [a, b]) { g in [g.sumTo(a.shape), (-g).sumTo(b.shape)] }
    }

    /// Returns `a * b` elementwise, broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(.multiply, a, b, name: "mul")
        guard GradientMode.shouldRecord(a, b) else { return out }
        let (ad, bd) = (a.detached(), b.detached())
        return out.recorded(.mul, inputs: [a, b]) { g in
            [a.node == nil ? nil : (g * bd).sumTo(a.shape), b.node == nil ? nil : (g * ad).sumTo(b.shape)]
        }
    }

    /// Returns `a / b` elementwise, broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(.divide, a, b, name: "div")
        guard GradientMode.shouldRecord(a, b) else { return out }
        let (ad, bd) = (a.detached(), b.detached())
        return out.recorded(.div, inputs: [a, b]) { g in
            [a.node == nil ? nil : (g / bd).sumTo(a.shape), b.node == nil ? nil : (-g * ad / (bd * bd)).sumTo(b.shape)]
        }
    }

    /// Returns `-x`.
    public static prefix func - (x: Tensor) -> Tensor { x.unaryOp(.negate, .neg) }

    public static func + (a: Tensor, b: Float) -> Tensor { a + Tensor.scalar(b, like: a) }
    public static func + (a: Float, b: Tensor) -> Tensor { Tensor.scalar(a, like: b) + b }
    public static func - (a: Tensor, b: Float) -> Tensor { a - Tensor.scalar(b, like: a) }
    public static func - (a: Float, b: Tensor) -> Tensor { Tensor.scalar(a, like: b) - b }
    public static func * (a: Tensor, b: Float) -> Tensor { a * Tensor.scalar(b, like: a) }
    public static func * (a: Float, b: Tensor) -> Tensor { Tensor.scalar(a, like: b) * b }
    public static func / (a: Tensor, b: Float) -> Tensor { a / Tensor.scalar(b, like: a) }
    public static func / (a: Float, b: Tensor) -> Tensor { Tensor.scalar(a, like: b) / b }

    /// Returns the elementwise maximum of `self` and `other`, broadcasting.
    ///
    /// Where both are equal the gradient is split evenly between them.
    public func maximum(_ other: Tensor) -> Tensor { extremum(other, .maximum, .maximum) }

    /// Returns the elementwise minimum of `self` and `other`, broadcasting.
    public func minimum(_ other: Tensor) -> Tensor { extremum(other, .minimum, .minimum) }

    private func extremum(_ other: Tensor, _ op: BinaryOp, _ kind: OpKind) -> Tensor {
        let out = Tensor.broadcastBinary(op, self, other, name: kind.rawValue)
        guard GradientMode.shouldRecord(self, other) else { return out }
        let (a, b) = (detached(), other.detached())
        return out.recorded(kind, inputs: [self, other]) { g in
            let wins = op == .maximum ? (a .> b) : (a .< b)
            let (one, half, zero) = (Tensor.scalar(1, like: a), Tensor.scalar(0.5, like: a), Tensor.scalar(0, like: a))
            let share = Tensor.where(wins, one, Tensor.where(a .== b, half, zero))
            return [(g * share).sumTo(a.shape), (g * (1 - share)).sumTo(b.shape)]
        }
    }

    /// Returns `self` raised to `exponent` elementwise, broadcasting.
    ///
    /// The gradient with respect to the exponent is taken as 0 where the base is not positive.
    public func pow(_ exponent: Tensor) -> Tensor {
        let out = Tensor.broadcastBinary(.power, self, exponent, name: "pow")
        guard GradientMode.shouldRecord(self, exponent) else { return out }
        let (a, b, y) = (detached(), exponent.detached(), out)
        return out.recorded(.pow, inputs: [self, exponent]) { g in
            let da = (g * b * a.pow(b - 1)).sumTo(a.shape)
            let safeLog = Tensor.where(a .> 0, a, Tensor.scalar(1, like: a)).log()
            return [da, exponent.node == nil ? nil : (g * y * safeLog).sumTo(b.shape)]
        }
    }

    /// Returns `self` raised to a constant power.
    public func pow(_ exponent: Float) -> Tensor {
        unaryOp(.powerScalar, .pow, alpha: exponent, attributes: ["exponent": .float(exponent)])
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
    public static func .== (a: Tensor, b: Tensor) -> Tensor { compare(.equal, .equal, a, b) }
    /// Returns `a != b` elementwise as a `bool` tensor, broadcasting.
    public static func .!= (a: Tensor, b: Tensor) -> Tensor {
        compare(.notEqual, .notEqual, a, b)
    }
    /// Returns `a < b` elementwise as a `bool` tensor, broadcasting.
    public static func .< (a: Tensor, b: Tensor) -> Tensor { compare(.less, .less, a, b) }
    /// Returns `a <= b` elementwise as a `bool` tensor, broadcasting.
    public static func .<= (a: Tensor, b: Tensor) -> Tensor {
        compare(.lessEqual, .lessEqual, a, b)
    }
    /// Returns `a > b` elementwise as a `bool` tensor, broadcasting.
    public static func .> (a: Tensor, b: Tensor) -> Tensor {
        compare(.greater, .greater, a, b)
    }
    /// Returns `a >= b` elementwise as a `bool` tensor, broadcasting.
    public static func .>= (a: Tensor, b: Tensor) -> Tensor {
        compare(.greaterEqual, .greaterEqual, a, b)
    }
    public static func .== (a: Tensor, b: Float) -> Tensor { a .== Tensor.scalar(b, like: a) }
    public static func .!= (a: Tensor, b: Float) -> Tensor { a .!= Tensor.scalar(b, like: a) }
    public static func .< (a: Tensor, b: Float) -> Tensor { a .< Tensor.scalar(b, like: a) }
    public static func .<= (a: Tensor, b: Float) -> Tensor { a .<= Tensor.scalar(b, like: a) }
    public static func .> (a: Tensor, b: Float) -> Tensor { a .> Tensor.scalar(b, like: a) }
    public static func .>= (a: Tensor, b: Float) -> Tensor { a .>= Tensor.scalar(b, like: a) }

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
        let backend = Tensor.backend(of: [condition, a, b], op: "where")
        let out = Tensor(uninitializedShape: shape, dtype: .float32, backend: backend)
        backend.select(
            condition.broadcastView(to: shape), a.broadcastView(to: shape), b.broadcastView(to: shape), into: out)
        guard GradientMode.shouldRecord(a, b) else { return out }
        let c = condition
        return out.recorded(.where, inputs: [a, b]) { g in
            let zero = Tensor.scalar(0, like: g)
            return [Tensor.where(c, g, zero).sumTo(a.shape), Tensor.where(c, zero, g).sumTo(b.shape)]
        }
    }
}

// MARK: - Math functions and activations

extension Tensor {
    /// Returns `e^x` elementwise.
    public func exp() -> Tensor { unaryOp(.exp, .exp) }
    /// Returns the natural logarithm elementwise.
    public func log() -> Tensor { unaryOp(.log, .log) }
    /// Returns the square root elementwise.
    public func sqrt() -> Tensor { unaryOp(.sqrt, .sqrt) }
    /// Returns `1 / sqrt(x)` elementwise.
    public func rsqrt() -> Tensor { unaryOp(.rsqrt, .rsqrt) }
    /// Returns `x * x` elementwise.
    public func square() -> Tensor { unaryOp(.square, .square) }
    /// Returns `|x|` elementwise; the gradient at 0 is 0.
    public func abs() -> Tensor { unaryOp(.abs, .abs) }
    /// Returns -1, 0 or 1 by the sign of each element; its gradient is 0.
    public func sign() -> Tensor { unaryOp(.sign, .sign) }

    /// Returns each element limited to `[min, max]`; the gradient passes inside the bounds.
    public func clamp(min lower: Float = -.infinity, max upper: Float = .infinity) -> Tensor {
        require(lower <= upper, "clamp: min \(lower) is greater than max \(upper)")
        return unaryOp(
            .clamp, .clamp, alpha: lower, beta: upper, attributes: ["min": .float(lower), "max": .float(upper)])
    }

    /// Returns `max(x, 0)` elementwise.
    public func relu() -> Tensor { unaryOp(.relu, .relu) }

    /// Returns `x` where positive and `alpha * x` elsewhere (Keras default `alpha` 0.3 for the layer;
    /// 0.01 here as in PyTorch's functional form).
    public func leakyRelu(alpha: Float = 0.01) -> Tensor {
        unaryOp(.leakyRelu, .leakyRelu, alpha: alpha, attributes: ["alpha": .float(alpha)])
    }

    /// Returns `x` where positive and `alpha * (e^x - 1)` elsewhere.
    ///
    /// - Paper: https://arxiv.org/abs/1511.07289
    public func elu(alpha: Float = 1) -> Tensor {
        unaryOp(.elu, .elu, alpha: alpha, attributes: ["alpha": .float(alpha)])
    }

    /// Returns `1 / (1 + e^-x)` elementwise, computed without overflow for large `|x|`.
    public func sigmoid() -> Tensor { unaryOp(.sigmoid, .sigmoid) }

    /// Returns the hyperbolic tangent elementwise.
    public func tanh() -> Tensor { unaryOp(.tanh, .tanh) }

    /// Returns `x * Φ(x)` elementwise, with Φ the standard normal CDF (the exact form, not tanh).
    ///
    /// - Paper: https://arxiv.org/abs/1606.08415
    public func gelu() -> Tensor { unaryOp(.gelu, .gelu) }

    /// Returns `x * sigmoid(x)` elementwise (also called SiLU).
    ///
    /// - Paper: https://arxiv.org/abs/1710.05941
    public func swish() -> Tensor { unaryOp(.swish, .swish) }

    /// Returns the Gauss error function `erf(x) = 2/√π ∫₀ˣ exp(−t²) dt` elementwise.
    public func erf() -> Tensor { unaryOp(.erf, .erf) }
}
