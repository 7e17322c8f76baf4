import Foundation
import Nabla

/// Whether a monitored value improves by going down (losses) or up (accuracies).
public enum MonitorMode: Sendable {
    case min, max
    /// `max` for names containing accuracy, precision, recall, f1 or auc; `min` otherwise.
    case automatic

    func resolved(for monitor: String) -> MonitorMode {
        guard self == .automatic else { return self }
        return ["accuracy", "precision", "recall", "f1", "auc"].contains { monitor.contains($0) } ? .max : .min
    }

    func improves(_ value: Double, over best: Double?, by delta: Double) -> Bool {
        guard let best else { return true }
        return self == .max ? value > best + delta : value < best - delta
    }
}

/// Stops training when `monitor` has not improved by `minDelta` for `patience` epochs, optionally
/// restoring the weights of the best epoch.
public final class EarlyStopping: Callback {
    public let monitor: String, minDelta: Double, patience: Int, restoreBestWeights: Bool
    let mode: MonitorMode
    public private(set) var bestEpoch: Int?
    public private(set) var stoppedEpoch: Int?
    private var best: Double?
    private var wait = 0
    private var bestWeights: [String: Tensor]?

    public init(
        monitor: String = "val_loss", minDelta: Double = 0, patience: Int = 0, mode: MonitorMode = .automatic,
        restoreBestWeights: Bool = false
    ) {
        (self.monitor, self.minDelta, self.patience, self.restoreBestWeights) = (
            monitor, minDelta, patience, restoreBestWeights
        )
        self.mode = mode.resolved(for: monitor)
    }

    public func onTrainBegin(model: Model) throws {
        (best, wait, bestEpoch, stoppedEpoch, bestWeights) = (nil, 0, nil, nil, nil)
    }

    public func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {
        guard let value = logs[monitor] else {
            throw NablaError(
                .invalidArgument,
                "EarlyStopping: no metric '\(monitor)'; available: \(logs.keys.sorted().joined(separator: ", "))")
        }
        if mode.improves(value, over: best, by: minDelta) {
            (best, bestEpoch, wait) = (value, epoch, 0)
            if restoreBestWeights { bestWeights = model.weightsSnapshot() }
        } else {
            wait += 1
            if wait > patience {
                model.stopTraining = true
                stoppedEpoch = epoch
            }
        }
    }

    public func onTrainEnd(model: Model) throws {
        if restoreBestWeights, let bestWeights { model.restore(bestWeights) }
    }
}

/// Saves a checkpoint after each epoch (or only when `monitor` improves), atomically: the whole
/// model with the optimizer's state and the training progress, so ``Model/loadCheckpoint(from:)``
/// continues the run exactly (or, with `weightsOnly`, the weights alone, for models whose layers
/// cannot describe themselves).
///
/// `path` may contain `{epoch}` (1-based), replaced in each file name.
public final class ModelCheckpoint: Callback {
    public let path: String, monitor: String, saveBestOnly: Bool, weightsOnly: Bool
    let mode: MonitorMode
    private var best: Double?
    /// The files written, in order.
    public private(set) var saved: [String] = []

    public init(
        path: String, monitor: String = "val_loss", saveBestOnly: Bool = false, weightsOnly: Bool = false,
        mode: MonitorMode = .automatic
    ) {
        (self.path, self.monitor, self.saveBestOnly, self.weightsOnly) = (path, monitor, saveBestOnly, weightsOnly)
        self.mode = mode.resolved(for: monitor)
    }

    public func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {
        let file = path.replacingOccurrences(of: "{epoch}", with: String(epoch + 1))
        if saveBestOnly {
            guard let value = logs[monitor] else {
                throw NablaError(
                    .invalidArgument,
                    "ModelCheckpoint: no metric '\(monitor)'; available: \(logs.keys.sorted().joined(separator: ", "))")
            }
            guard mode.improves(value, over: best, by: 0) else { return }
            best = value
        }
        if weightsOnly {
            try model.saveWeights(to: file, metadata: ["epoch": String(epoch + 1)])
        } else {
            try model.saveCheckpoint(to: file)
        }
        saved.append(file)
    }
}

/// Multiplies the learning rate by `factor` when `monitor` has not improved for `patience` epochs.
public final class ReduceLROnPlateau: Callback {
    public let monitor: String, factor: Float, patience: Int, minDelta: Double, cooldown: Int,
        minimumLearningRate: Float
    let mode: MonitorMode
    private var best: Double?
    private var wait = 0, cooling = 0

    public init(
        monitor: String = "val_loss", factor: Float = 0.1, patience: Int = 10, minDelta: Double = 1e-4,
        cooldown: Int = 0,
        minimumLearningRate: Float = 0, mode: MonitorMode = .automatic
    ) {
        require(factor > 0 && factor < 1, "ReduceLROnPlateau: factor \(factor) must be in (0, 1)")
        (self.monitor, self.factor, self.patience, self.minDelta) = (monitor, factor, patience, minDelta)
        (self.cooldown, self.minimumLearningRate) = (cooldown, minimumLearningRate)
        self.mode = mode.resolved(for: monitor)
    }

    public func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {
        guard let value = logs[monitor], let optimizer = model.optimizer else { return }
        if cooling > 0 { cooling -= 1 }
        if mode.improves(value, over: best, by: minDelta) {
            (best, wait) = (value, 0)
        } else if cooling == 0 {
            wait += 1
            if wait >= patience {
                optimizer.learningRate = Swift.max(optimizer.learningRate * factor, minimumLearningRate)
                (wait, cooling) = (0, cooldown)
            }
        }
    }
}

/// Sets the learning rate at the start of each epoch from `(epoch, currentRate) -> newRate`.
public final class LearningRateScheduler: Callback {
    let schedule: @Sendable (Int, Float) -> Float
    public init(_ schedule: @escaping @Sendable (Int, Float) -> Float) { self.schedule = schedule }

    public func onEpochBegin(_ epoch: Int, model: Model) throws {
        guard let optimizer = model.optimizer else { return }
        optimizer.learningRate = schedule(epoch, optimizer.learningRate)
    }
}

/// Writes each epoch's metrics to a CSV file: `epoch,` then the metric names, sorted.
///
/// With `append`, the rows of earlier epochs already in the file are kept (a resumed run continues
/// its history; rows of epochs being trained again are dropped).
public final class CSVLogger: Callback {
    public let path: String, append: Bool
    private var columns: [String]?
    private var rows: [String] = []

    public init(path: String, append: Bool = false) { (self.path, self.append) = (path, append) }

    public func onTrainBegin(model: Model) throws { (columns, rows) = (nil, []) }

    public func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {
        if columns == nil {
            let old = append ? (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" : ""
            let lines = old.split(separator: "\n").map(String.init)
            let kept = lines.dropFirst().filter { line in
                line.split(separator: ",").first.flatMap { Int($0) }.map { $0 < epoch } ?? false
            }
            if let header = lines.first, !kept.isEmpty {
                columns = Array(header.split(separator: ",").dropFirst().map(String.init))
                rows = [header] + kept
            } else {
                let names = logs.keys.filter { $0 != "batch_loss" }.sorted()
                columns = names
                rows = [(["epoch"] + names).joined(separator: ",")]
            }
        }
        let columns = self.columns ?? []
        rows.append(([String(epoch)] + columns.map { logs[$0].map { String($0) } ?? "" }).joined(separator: ","))
        // Rewritten whole each epoch, atomically: a crash never leaves a torn line.
        try AtomicFile.write(Data((rows.joined(separator: "\n") + "\n").utf8), to: path)
    }
}

/// Stops training as soon as a batch's loss is NaN or infinite, with a message on standard error.
public final class TerminateOnNaN: Callback {
    /// The batch (0-based) of the epoch where the loss became invalid, if it did.
    public private(set) var stoppedAtBatch: Int?

    public init() {}

    public var wantsBatchLogs: Bool { true }

    public func onBatchEnd(_ batch: Int, logs: [String: Double], model: Model) throws {
        guard let loss = logs["batch_loss"], !loss.isFinite else { return }
        stoppedAtBatch = batch
        model.stopTraining = true
        FileHandle.standardError.write(Data("Batch \(batch): invalid loss \(loss), terminating training\n".utf8))
    }
}
