import Nabla

/// How a parameter tensor starts, by Keras name.
///
/// Fans follow Keras: for a kernel `[KH, KW, C, K]`, `fanIn = KH·KW·C` and `fanOut = KH·KW·K`; for
/// a matrix `[in, out]`, `fanIn = in`, `fanOut = out`. The normal variants draw from a normal
/// truncated at two standard deviations, scaled so the result has the named variance.
/// - Paper: Glorot & Bengio 2010, http://proceedings.mlr.press/v9/glorot10a.html;
///   He et al. 2015, https://arxiv.org/abs/1502.01852; LeCun et al. 1998, "Efficient BackProp".
public enum Initializer: Sendable, Equatable {
    /// Uniform in `±sqrt(6 / (fanIn + fanOut))` (the default for kernels, as in Keras).
    case glorotUniform
    /// Truncated normal with variance `2 / (fanIn + fanOut)`.
    case glorotNormal
    /// Uniform in `±sqrt(6 / fanIn)`.
    case heUniform
    /// Truncated normal with variance `2 / fanIn`.
    case heNormal
    /// Uniform in `±sqrt(3 / fanIn)`.
    case lecunUniform
    /// Truncated normal with variance `1 / fanIn`.
    case lecunNormal
    case zeros
    case ones
    case constant(Float)

    /// Returns the fans of a parameter shape.
    static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (shape[0], shape[0])
        case 2: return (shape[0], shape[1])
        default:
            let receptive = shape.dropLast(2).reduce(1, *)
            return (receptive * shape[shape.count - 2], receptive * shape[shape.count - 1])
        }
    }

    /// Returns a tensor of `shape` drawn from this initializer.
    public func callAsFunction(_ shape: [Int], generator: RandomGenerator = .current) -> Tensor {
        let (fanIn, fanOut) = Self.fans(shape)
        // Standard deviation of a unit normal truncated at ±2.
        let truncation: Float = 0.87962566103423978
        func uniform(_ variance: Float) -> Tensor {
            let limit = (3 * variance).squareRoot()
            return Tensor.uniform(shape, low: -limit, high: limit, generator: generator)
        }
        func normal(_ variance: Float) -> Tensor {
            Tensor.truncatedNormal(shape, standardDeviation: variance.squareRoot() / truncation, generator: generator)
        }
        switch self {
        case .glorotUniform: return uniform(2 / Float(fanIn + fanOut))
        case .glorotNormal: return normal(2 / Float(fanIn + fanOut))
        case .heUniform: return uniform(2 / Float(fanIn))
        case .heNormal: return normal(2 / Float(fanIn))
        case .lecunUniform: return uniform(1 / Float(fanIn))
        case .lecunNormal: return normal(1 / Float(fanIn))
        case .zeros: return Tensor.zeros(shape)
        case .ones: return Tensor.ones(shape)
        case .constant(let value): return Tensor.full(shape, value: value)
        }
    }

    /// The Keras name, such as `glorot_uniform`, `zeros` or `constant(0.1)`.
    public var name: String {
        switch self {
        case .glorotUniform: "glorot_uniform"
        case .glorotNormal: "glorot_normal"
        case .heUniform: "he_uniform"
        case .heNormal: "he_normal"
        case .lecunUniform: "lecun_uniform"
        case .lecunNormal: "lecun_normal"
        case .zeros: "zeros"
        case .ones: "ones"
        case .constant(let value): "constant(\(value))"
        }
    }

    /// Parses a ``name``; nil for anything else.
    public init?(name: String) {
        let all: [Initializer] = [
            .glorotUniform, .glorotNormal, .heUniform, .heNormal, .lecunUniform, .lecunNormal, .zeros, .ones,
        ]
        if let match = all.first(where: { $0.name == name }) {
            self = match
        } else if name.hasPrefix("constant("), name.hasSuffix(")"),
            let value = Float(name.dropFirst(9).dropLast()), value.isFinite
        {
            self = .constant(value)
        } else {
            return nil
        }
    }
}
