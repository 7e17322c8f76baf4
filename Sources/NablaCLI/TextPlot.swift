import Foundation

/// Line plots drawn with characters, for a terminal without a browser.
enum TextPlot {
    struct Series {
        var label: String
        var values: [Double]
        var mark: Character
    }

    /// Plots `series` against `x` (default: 1, 2, …) on a `width` × `height` grid.
    ///
    /// The y range is on the left, the x range below, a legend above; `logX` spaces x
    /// logarithmically. Values that are not finite are left out.
    static func render(
        _ title: String, _ series: [Series], x: [Double]? = nil, logX: Bool = false, width: Int = 60, height: Int = 12
    ) -> String {
        let points = series.flatMap { s in s.values.enumerated().map { (i, v) in (x?[i] ?? Double(i + 1), v) } }
            .filter { $0.1.isFinite && $0.0.isFinite && (!logX || $0.0 > 0) }
        guard let low = points.map(\.1).min(), let high = points.map(\.1).max(),
            let left = points.map(\.0).min(), let right = points.map(\.0).max()
        else { return "\(title): nothing to plot" }
        func column(_ value: Double) -> Int {
            let (a, b, v) = logX ? (log10(left), log10(right), log10(value)) : (left, right, value)
            return b > a ? Int(((v - a) / (b - a) * Double(width - 1)).rounded()) : 0
        }
        func row(_ value: Double) -> Int {
            high > low ? Int(((high - value) / (high - low) * Double(height - 1)).rounded()) : height / 2
        }
        var grid = [[Character]](repeating: [Character](repeating: " ", count: width), count: height)
        for s in series {
            for (i, v) in s.values.enumerated() {
                let xv = x?[i] ?? Double(i + 1)
                guard v.isFinite, xv.isFinite, !logX || xv > 0 else { continue }
                grid[row(v)][column(xv)] = s.mark
            }
        }
        let labels = [String(format: "%.4g", high), String(format: "%.4g", low)]
        let pad = labels.map(\.count).max() ?? 0
        var lines = ["\(title)  " + series.map { "\($0.mark) \($0.label)" }.joined(separator: "  ")]
        for (r, cells) in grid.enumerated() {
            let label = r == 0 ? labels[0] : r == height - 1 ? labels[1] : ""
            lines.append(String(repeating: " ", count: pad - label.count) + label + " |" + String(cells))
        }
        lines.append(String(repeating: " ", count: pad) + " +" + String(repeating: "-", count: width))
        let (from, to) = (String(format: "%.3g", left), String(format: "%.3g", right))
        lines.append(
            String(repeating: " ", count: pad + 2) + from
                + String(repeating: " ", count: max(1, width - from.count - to.count)) + to)
        return lines.joined(separator: "\n")
    }

    /// The loss and accuracy curves of a training history, training and validation.
    static func history(_ epochs: [[String: Double]]) -> String {
        var plots: [String] = []
        for (metric, title) in [("loss", "loss by epoch"), ("accuracy", "accuracy by epoch")] {
            let train = epochs.map { $0[metric] ?? .nan }, validation = epochs.map { $0["val_" + metric] ?? .nan }
            var series = [Series(label: "training", values: train, mark: "*")]
            if validation.contains(where: \.isFinite) {
                series.append(Series(label: "validation", values: validation, mark: "o"))
            }
            if train.contains(where: \.isFinite) { plots.append(render(title, series, height: 10)) }
        }
        return plots.joined(separator: "\n\n")
    }
}
