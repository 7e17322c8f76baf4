/// The value of every metric at the end of every epoch, for training (`loss`, `accuracy`, …) and
/// validation (`val_loss`, `val_accuracy`, …).
public struct History: Sendable, Equatable, Codable {
    /// One dictionary of metric values per epoch, in order.
    public internal(set) var epochs: [[String: Double]] = []

    public init(epochs: [[String: Double]] = []) { self.epochs = epochs }

    /// The values of one metric, by epoch.
    public subscript(metric: String) -> [Double] { epochs.compactMap { $0[metric] } }

    /// The metric names recorded, sorted.
    public var metrics: [String] { Array(Set(epochs.flatMap(\.keys))).sorted() }
}
