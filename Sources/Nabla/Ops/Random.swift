import Foundation

/// A seeded source of random tensors: counter-based (Philox-4x32-10), so results are reproducible
/// and do not depend on how many threads fill a tensor.
///
/// Each draw takes the next stream number; the value at position `i` of a draw is a pure function
/// of `(seed, stream, i)`. Copies of a generator share their position (it is a reference type).
public final class RandomGenerator: @unchecked Sendable {
    /// The seed this generator started from.
    public let seed: UInt64
    private let lock = NSLock()
    private var stream: UInt64 = 0

    /// Creates a generator from a seed.
    public init(seed: UInt64) { self.seed = seed }

    /// The process-wide generator, re-seeded by ``Random/seed(_:)``.
    ///
    /// Reads and writes take a lock: a reference read on one thread while another thread replaces
    /// (and so releases) it would retain a freed object.
    public static var global: RandomGenerator {
        get { globalLock.withLock { globalStorage } }
        set { globalLock.withLock { globalStorage = newValue } }
    }
    private static let globalLock = NSLock()
    nonisolated(unsafe) private static var globalStorage = RandomGenerator(seed: 0x5EED)

    /// A generator that replaces ``global`` inside ``Random/withSeed(_:_:)`` (per task and thread).
    @TaskLocal static var scoped: RandomGenerator?

    /// The generator used when none is passed: the innermost ``Random/withSeed(_:_:)``'s, else ``global``.
    public static var current: RandomGenerator { scoped ?? global }

    /// Returns the next stream number, for one tensor's worth of values.
    func nextStream() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        stream += 1
        return stream
    }

    /// Returns a seed derived from `seed` and two more words.
    ///
    /// Distinct inputs give unrelated seeds (the SplitMix64 finaliser over the combined words). Loaders and `fit` seed each epoch this
    /// way, so epoch `e`'s randomness depends on `(seed, e)` alone and a run can resume at any epoch.
    public static func derivedSeed(_ seed: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (a &+ 1) &+ b &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Returns a fresh seed derived from this generator's seed and its next stream number.
    public func nextSeed() -> UInt64 { Self.derivedSeed(seed, nextStream(), 0x5345_4544) }

    /// Returns a random permutation of `0..<count` (Fisher–Yates over one draw of uniforms).
    public func permutation(_ count: Int) -> [Int] {
        var order = Array(0..<count)
        guard count > 1 else { return order }
        let draws = Tensor.uniform([count], generator: self).toArray()
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, Swift.min(Int(draws[i] * Float(i + 1)), i)) }
        return order
    }

    func fill(_ distribution: RandomDistribution, shape: [Int], device: Device?) -> Tensor {
        let backend = Backends.backend(for: device ?? .current)
        let out = Tensor(uninitializedShape: shape, dtype: .float32, backend: backend)
        let stream = nextStream()
        backend.random(distribution, seed: seed, stream: stream, into: out)
        return out.traced(
            .random, ["seed": .int(Int(truncatingIfNeeded: seed)), "stream": .int(Int(stream))], inputs: [])
    }
}

/// Seeding of the global generator.
public enum Random {
    /// Re-seeds the global generator, as `torch.manual_seed` does.
    ///
    /// This is process-wide: safe from any thread, but draws made concurrently elsewhere take
    /// their share of its streams, so code that runs alongside other seeded work (tests, servers)
    /// and wants its own sequence uses ``withSeed(_:_:)`` instead.
    public static func seed(_ value: UInt64) { RandomGenerator.global = RandomGenerator(seed: value) }

    /// Runs `body` with every random draw that takes the default generator coming from a fresh
    /// generator seeded with `value`, without touching the global one.
    public static func withSeed<Result>(_ value: UInt64, _ body: () throws -> Result) rethrows -> Result {
        try RandomGenerator.$scoped.withValue(RandomGenerator(seed: value), operation: body)
    }

    /// Runs `body` with every random draw that takes the default generator coming from `generator`.
    public static func withGenerator<Result>(
        _ generator: RandomGenerator, _ body: () throws -> Result
    ) rethrows
        -> Result
    {
        try RandomGenerator.$scoped.withValue(generator, operation: body)
    }
}

extension Tensor {
    /// Returns values drawn uniformly from `[low, high)`.
    public static func uniform(
        _ shape: [Int], low: Float = 0, high: Float = 1, generator: RandomGenerator = .current, device: Device? = nil
    ) -> Tensor {
        require(low <= high, "uniform: low \(low) is above high \(high)")
        return generator.fill(.uniform(low: low, high: high), shape: shape, device: device)
    }

    /// Returns values drawn from a normal distribution.
    public static func normal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, generator: RandomGenerator = .current,
        device: Device? = nil
    ) -> Tensor {
        require(standardDeviation >= 0, "normal: negative standard deviation \(standardDeviation)")
        return generator.fill(.normal(mean: mean, standardDeviation: standardDeviation), shape: shape, device: device)
    }

    /// Returns normal values re-drawn until within two standard deviations of the mean (as Keras's
    /// `TruncatedNormal` and TensorFlow's `truncated_normal`).
    public static func truncatedNormal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, generator: RandomGenerator = .current,
        device: Device? = nil
    ) -> Tensor {
        require(standardDeviation >= 0, "truncatedNormal: negative standard deviation \(standardDeviation)")
        return generator.fill(
            .truncatedNormal(mean: mean, standardDeviation: standardDeviation), shape: shape, device: device)
    }

    /// Returns `bool` values that are true with probability `probability`.
    public static func bernoulli(
        _ shape: [Int], probability: Float, generator: RandomGenerator = .current, device: Device? = nil
    ) -> Tensor {
        require((0...1).contains(probability), "bernoulli: probability \(probability) is outside [0, 1]")
        return uniform(shape, generator: generator, device: device) .< probability
    }
}

/// Returns `x` with each element zeroed with probability `rate` and the rest scaled by `1 / (1 - rate)`.
///
/// The scaling keeps the expected value, so inference uses `x` unchanged (inverted dropout).
/// - Paper: https://jmlr.org/papers/v15/srivastava14a.html
public func dropout(_ x: Tensor, rate: Float, generator: RandomGenerator = .current) -> Tensor {
    require((0..<1).contains(rate), "dropout: rate \(rate) is outside [0, 1)")
    require(x.dtype == .float32, "dropout: expected float32, got \(x.dtype) \(x.shape)")
    if rate == 0 { return x }
    let source = x.contiguous()
    let backend = source.backend
    let out = Tensor(uninitializedShape: x.shape, dtype: .float32, backend: backend)
    let mask = Tensor(uninitializedShape: x.shape, dtype: .float32, backend: backend)
    backend.dropout(source, rate: rate, seed: generator.seed, stream: generator.nextStream(), into: out, mask: mask)
    guard GradientMode.shouldRecord(x) else { return out }
    return out.recorded(.dropout, ["rate": .float(rate)], inputs: [x]) { g in [g * mask] }
}
