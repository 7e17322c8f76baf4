import Foundation
import Nabla

/// Reads a table of numeric features and a class column (the Iris case): a header row, then one
/// example per line, comma-separated.
///
/// The class column is the one named `label`, `class`, `species`, `target` or `variety`
/// (case-insensitive), else the last. Its values may be names or numbers; the classes are its
/// distinct values, sorted (numerically when all are numbers).
public enum TabularCSV {
    /// The names of the columns taken as the class, in order of preference.
    static let labelNames = ["label", "class", "species", "target", "variety"]

    /// A table's features `[N, F]` float32, labels `[N]` int64, and names.
    public struct Table: Sendable {
        public var features: Tensor
        public var labels: Tensor
        public var featureNames: [String]
        public var classNames: [String]
    }

    /// Reads the file at `path`.
    ///
    /// - Throws: `NablaError` naming the file and line: `.corruptFile` for a row with another
    ///   number of columns or a feature that is not a finite number; `.invalidArgument` for a table
    ///   without rows or features, or with one class; `.resourceLimit` for a line longer than
    ///   `ResourceLimits.maxLineBytes` or more than 65,536 classes.
    public static func read(_ path: String) throws -> Table {
        try decode(InputFile.contents(path), path: path)
    }

    /// Decodes the bytes of a table; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> Table {
        var lines: [Substring] = []
        let text = String(decoding: data, as: UTF8.self)
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            guard raw.utf8.count <= ResourceLimits.maxLineBytes else {
                throw NablaError(
                    .resourceLimit, "line \(lines.count + 1) is longer than \(ResourceLimits.maxLineBytes) bytes",
                    path: path)
            }
            let line = raw.trimmingCharacters(in: .whitespaces)
            if !line.isEmpty { lines.append(Substring(line)) }
        }
        guard let header = lines.first else { throw NablaError(.invalidArgument, "the table is empty", path: path) }
        let names = header.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"\u{FEFF}"))
        }
        let lowered = names.map { $0.lowercased() }
        let labelColumn = labelNames.lazy.compactMap { lowered.firstIndex(of: $0) }.first ?? names.count - 1
        guard names.count >= 2, lines.count >= 2 else {
            throw NablaError(.invalidArgument, "a table needs a feature column, a class column and a row", path: path)
        }
        var values: [Float] = []
        var labelTexts: [String] = []
        // The header's width times the line count is what a file claims, not what it holds: a
        // value takes at least two bytes (a digit and a comma), so the file's size bounds them.
        let (claimed, overflow) = (lines.count - 1).multipliedReportingOverflow(by: names.count - 1)
        values.reserveCapacity(overflow ? data.count / 2 : min(claimed, data.count / 2))
        for (number, line) in lines.enumerated().dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == names.count else {
                throw NablaError(
                    .corruptFile, "line \(number + 1) has \(cells.count) columns, the header \(names.count)", path: path
                )
            }
            for (column, cell) in cells.enumerated() {
                let trimmed = cell.trimmingCharacters(in: .whitespaces)
                if column == labelColumn {
                    labelTexts.append(trimmed.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
                } else {
                    guard let value = Float(trimmed), value.isFinite else {
                        throw NablaError(
                            .corruptFile,
                            "line \(number + 1), column '\(names[column].prefix(64))': '\(trimmed.prefix(64))' is not a number",
                            path: path)
                    }
                    values.append(value)
                }
            }
        }
        let distinct = Array(Set(labelTexts))
        let numeric = distinct.allSatisfy { Double($0) != nil }
        let classNames = numeric ? distinct.sorted { (Double($0) ?? 0) < (Double($1) ?? 0) } : distinct.sorted()
        guard classNames.count >= 2, classNames.count <= 65_536 else {
            throw NablaError(
                .invalidArgument,
                "the class column '\(names[labelColumn])' has \(classNames.count) values; a classifier needs 2 to 65,536",
                path: path)
        }
        let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, Int64($0)) })
        let rows = labelTexts.count
        return Table(
            features: Tensor(values, shape: [rows, names.count - 1]), labels: Tensor(labelTexts.map { index[$0] ?? 0 }),
            featureNames: names.enumerated().filter { $0.offset != labelColumn }.map(\.element), classNames: classNames)
    }
}

/// The examples of another dataset at `indices`, in that order (a validation split, a subset).
public struct SubsetDataset: Dataset {
    public let base: any Dataset
    public let indices: [Int]

    /// - Precondition: every index lies in `0..<base.count`.
    public init(_ base: any Dataset, indices: [Int]) {
        require(indices.allSatisfy { (0..<base.count).contains($0) }, "SubsetDataset: an index is out of range")
        (self.base, self.indices) = (base, indices)
    }

    public var count: Int { indices.count }
    public func batch(at positions: [Int]) throws -> Batch { try base.batch(at: positions.map { indices[$0] }) }

    /// Splits `dataset` by a seeded shuffle: the last `fraction` of the shuffled order for
    /// validation, the rest for training (Keras's `validation_split` with a seed).
    public static func split(
        _ dataset: any Dataset, validationFraction fraction: Double, seed: UInt64
    ) -> (
        train: SubsetDataset, validation: SubsetDataset
    ) {
        let (kept, held) = splitIndices(count: dataset.count, validationFraction: fraction, seed: seed)
        return (SubsetDataset(dataset, indices: kept), SubsetDataset(dataset, indices: held))
    }

    /// The positions ``split(_:validationFraction:seed:)`` puts on each side, for `count` examples.
    public static func splitIndices(
        count: Int, validationFraction fraction: Double, seed: UInt64
    ) -> (
        train: [Int], validation: [Int]
    ) {
        require((0..<1).contains(fraction), "SubsetDataset.split: fraction \(fraction) is outside [0, 1)")
        let order = RandomGenerator(seed: RandomGenerator.derivedSeed(seed, 0, 0x5350_4C54)).permutation(count)
        let held = Int((Double(count) * fraction).rounded())
        return (Array(order.dropLast(held)), Array(order.suffix(held)))
    }
}
