/// Hooks into training.
///
/// Every method has an empty default.
///
/// `logs` hold the current values by name (`loss`, `accuracy`, `val_loss`, …); set
/// ``Model/stopTraining`` to end training after the current epoch (or batch). ``onBatchEnd(_:logs:model:)``
/// gets the running values only from callbacks whose ``wantsBatchLogs`` is true (an empty
/// dictionary otherwise): reading them after every batch makes a GPU wait for each one.
public protocol Callback: AnyObject {
    /// Whether ``onBatchEnd(_:logs:model:)`` needs the running logs of every batch (default false).
    var wantsBatchLogs: Bool { get }
    func onTrainBegin(model: Model) throws
    func onEpochBegin(_ epoch: Int, model: Model) throws
    func onBatchEnd(_ batch: Int, logs: [String: Double], model: Model) throws
    func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws
    func onTrainEnd(model: Model) throws
}

extension Callback {
    public var wantsBatchLogs: Bool { false }
    public func onTrainBegin(model: Model) throws {}
    public func onEpochBegin(_ epoch: Int, model: Model) throws {}
    public func onBatchEnd(_ batch: Int, logs: [String: Double], model: Model) throws {}
    public func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {}
    public func onTrainEnd(model: Model) throws {}
}
