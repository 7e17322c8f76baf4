import Foundation
import NablaTestSupport
import Testing

/// The report `nabla train` writes into its run folder, and `nabla report`.
@Suite(.requires(.fashionMNIST)) struct ReportCommandTests {
    /// The curves' data in the page (`<script id="history">`) as numbers by epoch.
    static func embeddedHistory(_ html: String) throws -> [[[String: Double]]] {
        let start = try #require(html.range(of: "<script type=\"application/json\" id=\"history\">"))
        let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        let json = try JSONSerialization.jsonObject(with: Data(html[start.upperBound..<end.lowerBound].utf8))
        return try #require(json as? [[[String: Double]]])
    }

    @Test func theReportHoldsTheHistoryAndEverySection() throws {
        let folder = try TrainedRun.file("")
        let html = try String(contentsOfFile: folder + "report.html", encoding: .utf8)
        let history = try Self.embeddedHistory(html)
        let csv = try String(contentsOfFile: folder + "history.csv", encoding: .utf8).split(separator: "\n")
        let header = csv[0].split(separator: ",").map(String.init)
        #expect(history.count == 1 && history[0].count == csv.count - 1)
        for (epoch, row) in csv.dropFirst().enumerated() {
            // Equal to the last bit or two: Foundation's JSON reader on Linux may round the last digit.
            for (key, cell) in zip(header, row.split(separator: ",")) where key != "epoch" {
                let (a, b) = (history[0][epoch][key] ?? .nan, Double(cell) ?? .nan)
                #expect(abs(a - b) <= 4 * b.ulp, "\(key) at epoch \(epoch): \(a) against \(b)")
            }
        }
        for section in [
            "<title>Nabla report", ">Loss<", ">Accuracy<", ">Learning rate<", "best val_loss: epoch",
            "Confusion matrix",
            "Per class", "Misclassified, most confident first", "data:image/png;base64,", ">Model<", ">Settings<",
            "samples/s",
        ] {
            #expect(html.contains(section), "\(section)")
        }
        // Finished: the page no longer reloads itself, and needs nothing from the network.
        #expect(!html.contains("http-equiv=\"refresh\"") && !html.contains("src=\"http"))
    }

    @Test func reportRebuildsThePageAndComparesRuns() throws {
        let folder = try TrainedRun.file("")
        let out = TrainedRun.folder() + "/rebuilt.html"
        let run = try runNabla(["report", folder, "--output", out])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: out))
                == Data(contentsOf: URL(fileURLWithPath: folder + "report.html")))
        let compared = TrainedRun.folder() + "/compare.html"
        let both = try runNabla(["report", folder, "--compare", folder, "--output", compared])
        #expect(both.status == 0, "\(both.stderr)")
        #expect(try Self.embeddedHistory(String(contentsOfFile: compared, encoding: .utf8)).count == 2)
        let missing = try runNabla(["report", TrainedRun.folder()])
        #expect(missing.status == 1 && missing.stderr.contains("history.csv: missing"))
    }

    /// Rendered by headless Chromium as a person would see it: a full page, not a blank one.
    @Test(.requires(.chromium))
    func chromiumRendersTheReport() throws {
        let folder = try TrainedRun.file("")
        let png = TrainedRun.folder() + "/report.png"
        let run = try runProgram(
            "/usr/bin/chromium",
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--screenshot=\(png)", "--window-size=1280,1400",
                "file://\(folder)report.html",
            ])
        #expect(run.status == 0, "\(run.stderr)")
        let size = try FileManager.default.attributesOfItem(atPath: png)[.size] as? Int ?? 0
        #expect(size > 50_000, "a screenshot of \(size) bytes is too small to show the report")
    }
}
