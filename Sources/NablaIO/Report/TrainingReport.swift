import Foundation
import Nabla
import NablaNN

/// How a trained model did on held-out data, for the report: the confusion matrix and the
/// misclassified examples it was surest of.
public struct ReportEvaluation: Codable, Sendable, Equatable {
    /// One misclassified example: its position in the data, its true and predicted classes, the
    /// probability given to the prediction, and the image as a base64 PNG.
    public struct Example: Codable, Sendable, Equatable {
        public var index: Int, truth: Int, predicted: Int
        public var probability: Double
        public var png: String
        public init(index: Int, truth: Int, predicted: Int, probability: Double, png: String) {
            (self.index, self.truth, self.predicted, self.probability, self.png) =
                (index, truth, predicted, probability, png)
        }
    }

    public var data: String
    public var classNames: [String]
    /// Counts by true class (rows) and predicted class (columns).
    public var confusion: [[Int]]
    public var worst: [Example]

    public init(data: String, classNames: [String], confusion: [[Int]], worst: [Example]) {
        (self.data, self.classNames, self.confusion, self.worst) = (data, classNames, confusion, worst)
    }

    /// Returns the evaluation checked as input (it is read back from a run folder, which anyone
    /// can edit): a square confusion matrix of one row per class with counts in `0...2^40`,
    /// examples whose classes exist and whose probability lies in `[0, 1]`, and images that are
    /// PNG bytes, base64 as this report writes it (re-encoded here, so no other text reaches the page),
    /// or empty for examples that are not images.
    ///
    /// - Throws: `NablaError` (`.corruptFile`) naming what is wrong.
    public func validated() throws -> ReportEvaluation {
        let classes = classNames.count
        func fail(_ problem: String) -> NablaError { NablaError(.corruptFile, "evaluation: \(problem)") }
        guard classes > 0, classes <= 1 << 12 else { throw fail("\(classes) classes (1 to 4096 are shown)") }
        guard confusion.count == classes, confusion.allSatisfy({ $0.count == classes }) else {
            throw fail("the confusion matrix is not \(classes) × \(classes), one row and column per class")
        }
        guard confusion.allSatisfy({ $0.allSatisfy { (0...(1 << 40)).contains($0) } }) else {
            throw fail("a count of the confusion matrix is negative or above 2^40")
        }
        guard worst.count <= 1024 else { throw fail("\(worst.count) examples (at most 1024 are shown)") }
        var checked = self
        checked.worst = try worst.map { x in
            guard (0..<classes).contains(x.truth), (0..<classes).contains(x.predicted), x.index >= 0,
                x.probability >= 0, x.probability <= 1
            else {
                throw fail(
                    "example \(x.index): classes \(x.truth), \(x.predicted) or probability \(x.probability) out of range"
                )
            }
            // A table's examples have no image: the empty string.
            if x.png.isEmpty { return x }
            let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            guard x.png.utf8.count <= 1 << 22, let bytes = Data(base64Encoded: x.png), bytes.starts(with: signature)
            else { throw fail("example \(x.index): the image is not a base64 PNG") }
            var clean = x
            clean.png = bytes.base64EncodedString()
            return clean
        }
        return checked
    }

    /// Precision, recall, F1 and support of each class, from the confusion matrix.
    public var perClass: [(precision: Double, recall: Double, f1: Double, support: Int)] {
        confusion.indices.map { c in
            let tp = Double(confusion[c][c])
            let predicted = Double(confusion.reduce(0) { $0 + $1[c] }), support = confusion[c].reduce(0, +)
            let precision = predicted > 0 ? tp / predicted : 0, recall = support > 0 ? tp / Double(support) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            return (precision, recall, f1, support)
        }
    }
}

/// One training run as the report shows it.
public struct ReportRun: Codable, Sendable {
    public var name: String
    /// The metrics of each epoch (`loss`, `val_loss`, `accuracy`, `learning_rate`…).
    public var history: [[String: Double]]
    /// The settings, as JSON text.
    public var settings: String
    public var summary: String?
    /// Seconds of training and samples per second, when the run finished.
    public var seconds: Double?, samplesPerSecond: Double?
    public var evaluation: ReportEvaluation?
    public var learningRateSearch: LearningRateSearch?

    public init(
        name: String, history: [[String: Double]], settings: String, summary: String? = nil, seconds: Double? = nil,
        samplesPerSecond: Double? = nil, evaluation: ReportEvaluation? = nil,
        learningRateSearch: LearningRateSearch? = nil
    ) {
        (self.name, self.history, self.settings, self.summary, self.seconds, self.samplesPerSecond) =
            (name, history, settings, summary, seconds, samplesPerSecond)
        (self.evaluation, self.learningRateSearch) = (evaluation, learningRateSearch)
    }
}

/// A training report as one self-contained HTML page.
///
/// Inline SVG and CSS, no script or network needed to view it: loss and accuracy curves of training and validation with the over-fitting
/// gap marked, the learning rate, the learning-rate finder's curve, the confusion matrix as a heat
/// map, per-class precision / recall / F1, the misclassified examples the model was surest of, the
/// model summary, the settings and the timings. Several runs share the same axes.
public enum TrainingReport {
    /// The page; `refreshSeconds` makes it reload itself (a live view while training runs).
    public static func html(_ runs: [ReportRun], refreshSeconds: Int? = nil) -> String {
        let title =
            runs.count == 1
            ? "Nabla report: \(runs[0].name)" : "Nabla report: " + runs.map(\.name).joined(separator: " vs ")
        var body = "<h1>\(escape(title))</h1>\n"
        if refreshSeconds != nil { body += "<p class=\"live\">Training is running: this page reloads itself.</p>\n" }
        body += "<div class=\"charts\">\n"
        body += chart("Loss", runs: runs, metric: "loss", markGap: true)
        body += chart("Accuracy", runs: runs, metric: "accuracy", markGap: false)
        body += chart("Learning rate", runs: runs, metric: "learning_rate", markGap: false, validation: false)
        for run in runs {
            if let search = run.learningRateSearch {
                body += lineChart(
                    "Learning-rate finder (\(escape(run.name))): suggested \(String(format: "%.3g", search.suggestion))",
                    series: [(run.name, zip(search.rates, search.smoothed).map { (log10(Double($0)), $1) }, 0, false)],
                    xLabel: "log10 learning rate", marks: [(log10(Double(search.suggestion)), "suggested")])
            }
        }
        body += "</div>\n"
        for (i, run) in runs.enumerated() { body += runSection(run, color: i) }
        let data = (try? String(decoding: JSONEncoder.report.encode(runs.map(\.history)), as: UTF8.self)) ?? "[]"
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            \(refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")
            <title>\(escape(title))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 20px; color: #1d2330; background: #f7f8fa; }
            h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 28px; } .live { color: #b45309; }
            .charts { display: flex; flex-wrap: wrap; gap: 14px; }
            .card { background: #fff; border-radius: 8px; padding: 10px 14px; box-shadow: 0 1px 3px #0002; }
            table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
            td, th { padding: 3px 8px; text-align: right; border-bottom: 1px solid #eee; }
            th { background: #f0f2f5; } td.name { text-align: left; }
            .cm td { width: 34px; height: 26px; text-align: center; border: 1px solid #fff; }
            .grid { display: flex; flex-wrap: wrap; gap: 10px; }
            .grid figure { margin: 0; text-align: center; font-size: 12px; }
            .grid img { width: 84px; height: 84px; image-rendering: pixelated; border: 1px solid #ccc; }
            pre { background: #fff; padding: 10px; overflow-x: auto; font-size: 12px; }
            </style></head>
            <body>
            \(body)
            <script type="application/json" id="history">\(data)</script>
            </body></html>
            """
    }

    /// Writes the page atomically (a browser reloading it never sees half a file).
    public static func write(_ runs: [ReportRun], to path: String, refreshSeconds: Int? = nil) throws {
        try AtomicFile.write(Data(html(runs, refreshSeconds: refreshSeconds).utf8), to: path)
    }

    static let colors = ["#2563eb", "#dc2626", "#059669", "#7c3aed", "#d97706", "#0891b2"]

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A metric by epoch for every run: training solid, validation dashed.
    ///
    /// With `markGap`, the
    /// gap where validation is above training is shaded and the best validation epoch marked.
    static func chart(
        _ title: String, runs: [ReportRun], metric: String, markGap: Bool, validation: Bool = true
    )
        -> String
    {
        var series: [(String, [(Double, Double)], Int, Bool)] = []
        var marks: [(Double, String)] = []
        var shade: [(Double, Double, Double)] = []
        for (i, run) in runs.enumerated() {
            let train = run.history.enumerated().compactMap { e, logs in logs[metric].map { (Double(e + 1), $0) } }
            let val = run.history.enumerated().compactMap { e, logs in logs["val_" + metric].map { (Double(e + 1), $0) }
            }
            if !train.isEmpty { series.append((run.name + " training", train, i, false)) }
            if validation, !val.isEmpty {
                series.append((run.name + " validation", val, i, true))
                if markGap, let best = val.min(by: { $0.1 < $1.1 }) {
                    marks.append((best.0, "best val_\(metric): epoch \(Int(best.0))"))
                    for (t, v) in zip(train, val) where v.1 > t.1 { shade.append((t.0, t.1, v.1)) }
                }
            }
        }
        guard !series.isEmpty else { return "" }
        return lineChart(title, series: series, xLabel: "epoch", marks: marks, shade: shade)
    }

    /// An SVG line chart with axes, ticks, a legend, vertical marks and shaded gaps.
    static func lineChart(
        _ title: String, series: [(String, [(Double, Double)], Int, Bool)], xLabel: String,
        marks: [(Double, String)] = [], shade: [(Double, Double, Double)] = []
    ) -> String {
        let points = series.flatMap(\.1).filter { $0.0.isFinite && $0.1.isFinite }
        guard let x0 = points.map(\.0).min(), let x1 = points.map(\.0).max(), var y0 = points.map(\.1).min(),
            var y1 = points.map(\.1).max()
        else { return "" }
        if y1 == y0 { (y0, y1) = y0 == 0 ? (-1, 1) : (y0 - abs(y0) / 10, y1 + abs(y1) / 10) }
        let (w, h, left, top, plotW, plotH) = (460.0, 260.0, 64.0, 30.0, 372.0, 180.0)
        func px(_ x: Double) -> Double { left + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * plotW }
        func py(_ y: Double) -> Double { top + (y1 - y) / (y1 - y0) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg =
            "<div class=\"card\"><svg width=\"\(Int(w))\" height=\"\(Int(h + 20 * Double((series.count + 1) / 2)))\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">"
        svg += "<text x=\"\(f(left))\" y=\"16\" font-size=\"13\" font-weight=\"600\">\(escape(title))</text>"
        for (x, low, high) in shade {
            svg +=
                "<line x1=\"\(f(px(x)))\" y1=\"\(f(py(low)))\" x2=\"\(f(px(x)))\" y2=\"\(f(py(high)))\" stroke=\"#f59e0b\" stroke-width=\"6\" opacity=\"0.35\"><title>over-fitting gap \(String(format: "%.4f", high - low))</title></line>"
        }
        for i in 0...4 {
            let y = y0 + (y1 - y0) * Double(i) / 4
            svg +=
                "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(py(y)))\" y2=\"\(f(py(y)))\" stroke=\"#e5e7eb\"/>"
            svg +=
                "<text x=\"\(f(left - 6))\" y=\"\(f(py(y) + 4))\" text-anchor=\"end\">\(String(format: "%.3g", y))</text>"
        }
        let ticks = x1 > x0 ? 5 : 1
        for i in 0..<ticks {
            var x = x0 + (x1 - x0) * Double(i) / Double(max(ticks - 1, 1))
            let step = x1 > x0 ? pow(10, (log10(x1 - x0)).rounded(.down)) / 100 : 0
            if step > 0 { x = (x / step).rounded() * step }
            svg +=
                "<text x=\"\(f(px(x)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(String(format: "%.3g", x))</text>"
        }
        svg +=
            "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(top + plotH + 32))\" text-anchor=\"middle\" fill=\"#555\">\(escape(xLabel))</text>"
        svg +=
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#9ca3af\"/>"
        for (x, label) in marks {
            svg +=
                "<line x1=\"\(f(px(x)))\" x2=\"\(f(px(x)))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" stroke=\"#f59e0b\" stroke-dasharray=\"3 3\"/>"
            let nearRight = px(x) > left + plotW * 0.6
            svg +=
                "<text x=\"\(f(px(x) + (nearRight ? -4 : 4)))\" y=\"\(f(top + 12))\" fill=\"#b45309\" text-anchor=\"\(nearRight ? "end" : "start")\">\(escape(label))</text>"
        }
        for (name, values, color, dashed) in series {
            let path = values.filter { $0.0.isFinite && $0.1.isFinite }.map { "\(f(px($0.0))),\(f(py($0.1)))" }
            let stroke = colors[color % colors.count]
            svg +=
                "<polyline fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(path.joined(separator: " "))\"><title>\(escape(name))</title></polyline>"
            if path.count == 1 {
                svg +=
                    "<circle cx=\"\(path[0].split(separator: ",")[0])\" cy=\"\(path[0].split(separator: ",")[1])\" r=\"3\" fill=\"\(stroke)\"/>"
            }
        }
        for (i, (name, _, color, dashed)) in series.enumerated() {
            let (lx, ly) = (left + Double(i % 2) * 200, top + plotH + 50 + Double(i / 2) * 18)
            svg +=
                "<line x1=\"\(f(lx))\" x2=\"\(f(lx + 24))\" y1=\"\(f(ly - 4))\" y2=\"\(f(ly - 4))\" stroke=\"\(colors[color % colors.count])\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            svg += "<text x=\"\(f(lx + 30))\" y=\"\(f(ly))\">\(escape(name))</text>"
        }
        return svg + "</svg></div>\n"
    }

    /// A run's evaluation, examples, summary, settings and timings.
    static func runSection(_ run: ReportRun, color: Int) -> String {
        var s = "<h2>\(escape(run.name))</h2>\n"
        var facts: [String] = ["\(run.history.count) epochs"]
        if let seconds = run.seconds { facts.append(String(format: "%.1f s of training", seconds)) }
        if let rate = run.samplesPerSecond { facts.append(String(format: "%.0f samples/s", rate)) }
        if let last = run.history.last {
            for key in ["loss", "accuracy", "val_loss", "val_accuracy"] {
                if let v = last[key] { facts.append("\(key) \(String(format: "%.4f", v))") }
            }
        }
        s += "<p>\(facts.joined(separator: " · "))</p>\n"
        if let e = run.evaluation {
            let total = e.confusion.reduce(0) { $0 + $1.reduce(0, +) }
            let correct = e.confusion.indices.reduce(0) { $0 + e.confusion[$1][$1] }
            s +=
                "<h3>\(escape(e.data)): accuracy \(String(format: "%.4f", total > 0 ? Double(correct) / Double(total) : 0)) on \(total) examples</h3>\n"
            s +=
                "<div class=\"charts\"><div class=\"card\"><strong>Confusion matrix</strong> (rows: true class, columns: predicted)<table class=\"cm\"><tr><th></th>"
            s += e.classNames.indices.map { "<th>\($0)</th>" }.joined() + "</tr>"
            for (r, row) in e.confusion.enumerated() {
                let most = max(row.max() ?? 1, 1)
                s +=
                    "<tr><th title=\"\(escape(e.classNames[r]))\">\(r) \(escape(String(e.classNames[r].prefix(10))))</th>"
                for (c, n) in row.enumerated() {
                    let alpha = Double(n) / Double(most)
                    let base = r == c ? "37,99,235" : "220,38,38"
                    s +=
                        "<td style=\"background: rgba(\(base),\(String(format: "%.2f", alpha)))\(alpha > 0.6 ? "; color: #fff" : "")\">\(n)</td>"
                }
                s += "</tr>"
            }
            s +=
                "</table></div>\n<div class=\"card\"><strong>Per class</strong><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
            for (c, m) in e.perClass.enumerated() {
                s +=
                    "<tr><td class=\"name\">\(c) \(escape(e.classNames[c]))</td><td>\(String(format: "%.4f", m.precision))</td><td>\(String(format: "%.4f", m.recall))</td><td>\(String(format: "%.4f", m.f1))</td><td>\(m.support)</td></tr>"
            }
            s += "</table></div></div>\n"
            if !e.worst.isEmpty {
                s += "<h3>Misclassified, most confident first</h3><div class=\"grid\">"
                for x in e.worst {
                    s +=
                        "<figure><img src=\"data:image/png;base64,\(x.png)\" alt=\"example \(x.index)\"><figcaption>#\(x.index)<br>true: \(escape(e.classNames[x.truth]))<br>predicted: \(escape(e.classNames[x.predicted])) \(String(format: "%.0f%%", 100 * x.probability))</figcaption></figure>"
                }
                s += "</div>\n"
            }
        }
        if let summary = run.summary { s += "<h3>Model</h3><pre>\(escape(summary))</pre>\n" }
        s += "<h3>Settings</h3><pre>\(escape(run.settings))</pre>\n"
        return s
    }
}

extension JSONEncoder {
    /// Sorted keys, and NaN or infinite values as strings (JSON has none).
    public static var report: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }
}
