import Foundation
import Nabla

/// A metric to track during training and evaluation, by Keras name.
///
/// Every metric is computed over the whole epoch from accumulated counts (a confusion matrix or
/// hit counts), never as an average of per-batch values, so precision and recall are exact.
public enum MetricKind: Sendable, Equatable {
    /// The fraction of examples whose predicted class is the target (binary: threshold ½).
    case accuracy
    /// The fraction of examples whose target is among the `k` highest scores.
    case topKAccuracy(Int)
    /// Precision, `TP / (TP + FP)`, averaged as asked.
    case precision(Averaging)
    /// Recall, `TP / (TP + FN)`, averaged as asked.
    case recall(Averaging)
    /// F1, the harmonic mean of precision and recall, averaged as asked.
    case f1(Averaging)

    /// How per-class values combine.
    public enum Averaging: Sendable, Equatable {
        /// The unweighted mean over classes (classes never predicted count as 0).
        case macro
        /// From the counts pooled over classes.
        case micro
        /// One value per class, named `precision_0`, `precision_1`, ….
        case perClass
    }
}

/// Accumulates a confusion matrix and top-k hits over batches of predictions.
///
/// Predictions are `[batch, classes]` scores (probabilities or logits), or `[batch]` / `[batch, 1]`
/// probabilities for a binary task; targets are class indices `[batch]`, one-hot rows, or 0/1.
/// Counts accumulate on the predictions' device and are read back when a count is asked for.
public final class ClassificationCounts: @unchecked Sendable {
    private var storedMatrix: [[Int]] = []
    public private(set) var total = 0
    private var topKHits: [Int: Int] = [:]
    let topKs: [Int]
    /// Counts not read back yet: a `[classes, classes]` confusion matrix and the top-k hits, as float32.
    private var pendingMatrix: Tensor?
    private var pendingHits: [Int: Tensor] = [:]
    private var pendingCount = 0

    public init(topKs: [Int] = []) { self.topKs = topKs }

    /// `matrix[target][predicted]` counts.
    public var matrix: [[Int]] {
        flush()
        return storedMatrix
    }

    public func reset() {
        storedMatrix = []
        total = 0
        topKHits = [:]
        (pendingMatrix, pendingHits, pendingCount) = (nil, [:], 0)
    }

    /// Adds a batch.
    public func update(predictions: Tensor, targets: Tensor) {
        withoutGradients {
            let scores = predictions.asType(.float32)
            let binary = scores.rank == 1 || (scores.rank == 2 && scores.shape[1] == 1)
            let classes = binary ? 2 : (scores.shape.last ?? 1)
            if storedMatrix.isEmpty {
                storedMatrix = Array(repeating: Array(repeating: 0, count: classes), count: classes)
            }
            let n = scores.shape[0]
            let truth: Tensor
            if targets.dtype == .float32 && targets.rank == 2 && targets.shape[1] > 1 {
                truth = targets.argmax(axis: 1).asType(.float32)
            } else {
                // Rounded to the nearest class (halves away from zero); negatives fall outside.
                let t = targets.asType(.float32).reshaped([n])
                truth = Tensor.where(
                    t .< -0.5, Tensor.full([], value: -1, device: t.device), (t + 0.5).asType(.int64).asType(.float32))
            }
            let predicted =
                binary
                ? (scores.reshaped([n]) .> 0.5).asType(.float32) : scores.argmax(axis: -1).asType(.float32)
            let classIndices = Tensor.arange(0, Float(classes)).to(scores.device)
            // Rows of targets outside the classes are all zero, so they are not counted.
            let truthRows = (truth.unsqueezed(axis: -1) .== classIndices).asType(.float32)
            let predictedRows = (predicted.unsqueezed(axis: -1) .== classIndices).asType(.float32)
            let confusion = matmul(truthRows.transposed(), predictedRows)
            pendingMatrix = pendingMatrix.map { $0 + confusion } ?? confusion
            total += n
            if !topKs.isEmpty && !binary {
                // Rank = how many scores beat the target's (ties count in its favour).
                let target = (scores * truthRows).sum(axes: [1], keepDims: true)
                let rank = (scores .> target).asType(.float32).sum(axes: [1])
                let valid = truthRows.sum(axes: [1])
                for k in topKs {
                    let hits = ((rank .< Float(k)).asType(.float32) * valid).sum()
                    pendingHits[k] = pendingHits[k].map { $0 + hits } ?? hits
                }
            }
            pendingCount += n
            // float32 counts are exact below 2^24: read them back well before.
            if pendingCount >= 1 << 22 { flush() }
        }
    }

    /// The top-k hits counted so far.
    func topKHits(for k: Int) -> Int {
        flush()
        return topKHits[k] ?? 0
    }

    /// Replaces every count (the sums over processes of data-parallel training).
    func setTotals(total: Int, hits: [Int: Int], matrix: [[Int]]) {
        flush()
        (self.total, topKHits, storedMatrix) = (total, hits, matrix)
    }

    /// Reads the pending counts back into the integer totals.
    func flush() {
        if let pendingMatrix {
            let values = pendingMatrix.toArray()
            let classes = storedMatrix.count
            for i in 0..<classes { for j in 0..<classes { storedMatrix[i][j] += Int(values[i * classes + j]) } }
        }
        for (k, hits) in pendingHits { topKHits[k, default: 0] += Int(hits.item()) }
        (pendingMatrix, pendingHits, pendingCount) = (nil, [:], 0)
    }

    /// The fraction of correct predictions.
    public var accuracy: Double {
        let matrix = self.matrix
        return total == 0 ? 0 : Double(matrix.indices.reduce(0) { $0 + matrix[$1][$1] }) / Double(total)
    }

    /// The top-k accuracy.
    public func topKAccuracy(_ k: Int) -> Double {
        flush()
        return total == 0 ? 0 : Double(topKHits[k] ?? 0) / Double(total)
    }

    /// Per-class precision, recall and F1.
    public func perClass() -> [(precision: Double, recall: Double, f1: Double)] {
        let matrix = self.matrix
        return matrix.indices.map { c in
            let tp = Double(matrix[c][c])
            let predicted = Double(matrix.reduce(0) { $0 + $1[c] })
            let actual = Double(matrix[c].reduce(0, +))
            let p = predicted > 0 ? tp / predicted : 0, r = actual > 0 ? tp / actual : 0
            return (p, r, p + r > 0 ? 2 * p * r / (p + r) : 0)
        }
    }
}

extension MetricKind {
    /// Returns the log names and values of this metric from accumulated counts.
    public func values(_ counts: ClassificationCounts) -> [(String, Double)] {
        switch self {
        case .accuracy: return [("accuracy", counts.accuracy)]
        case .topKAccuracy(let k): return [("top\(k)_accuracy", counts.topKAccuracy(k))]
        case .precision(let a): return averaged("precision", a, counts) { $0.precision }
        case .recall(let a): return averaged("recall", a, counts) { $0.recall }
        case .f1(let a): return averaged("f1", a, counts) { $0.f1 }
        }
    }

    private func averaged(
        _ name: String, _ averaging: Averaging, _ counts: ClassificationCounts,
        _ pick: ((precision: Double, recall: Double, f1: Double)) -> Double
    ) -> [(String, Double)] {
        let rows = counts.perClass()
        switch averaging {
        case .perClass: return rows.enumerated().map { ("\(name)_\($0.offset)", pick($0.element)) }
        case .macro: return [(name, rows.isEmpty ? 0 : rows.map(pick).reduce(0, +) / Double(rows.count))]
        // For single-label classification every error is one FP and one FN: micro P = R = F1 = accuracy.
        case .micro: return [(name, counts.accuracy)]
        }
    }
}
