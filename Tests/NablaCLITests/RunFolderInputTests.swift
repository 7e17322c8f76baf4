import Foundation
import NablaTestSupport
import Testing

/// A run folder is input: `nabla report` checks what it reads (evaluation.json, history.csv)
/// and refuses what does not hold, with a one-line error; text never reaches the page unescaped.
@Suite(.requires(.fashionMNIST)) struct RunFolderInputTests {
    /// A copy of the shared run's folder with `evaluation.json` replaced by `edit` of its JSON.
    static func folder(editing edit: (inout [String: Any]) -> Void) throws -> String {
        let source = try TrainedRun.file("evaluation.json").replacingOccurrences(of: "/evaluation.json", with: "")
        let copy = TrainedRun.folder() + "/run"
        try FileManager.default.copyItem(atPath: source, toPath: copy)
        let path = copy + "/evaluation.json"
        var json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        return copy
    }

    @Test func hostileEvaluationFilesAreRefused() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("is not 10 × 10", { $0["confusion"] = [[1, 2], [3]] }),
            (
                "negative or above 2^40",
                { json in
                    var rows = json["confusion"] as? [[Int]] ?? []
                    rows[0][0] = Int.max
                    json["confusion"] = rows
                }
            ),
            (
                "out of range",
                { json in
                    var worst = json["worst"] as? [[String: Any]] ?? []
                    worst[0]["truth"] = 99
                    json["worst"] = worst
                }
            ),
            (
                "not a base64 PNG",
                { json in
                    var worst = json["worst"] as? [[String: Any]] ?? []
                    worst[0]["png"] = "\"><script>alert(1)</script>"
                    json["worst"] = worst
                }
            ),
        ]
        for (expected, edit) in cases {
            let folder = try Self.folder(editing: edit)
            let run = try runNabla(["report", folder, "--output", folder + "/page.html"])
            #expect(run.status == 1 && run.stderr.contains(expected), "\(expected): \(run.status) \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder + "/page.html"))
        }
    }

    @Test func aHistoryOfAMillionRowsIsRefused() throws {
        let folder = try Self.folder { _ in }
        var csv = "epoch,loss\n"
        for i in 0..<1_000_000 { csv += "\(i),0.5\n" }
        try csv.write(toFile: folder + "/history.csv", atomically: true, encoding: .utf8)
        let run = try runNabla(["report", folder, "--output", folder + "/page.html"])
        #expect(run.status == 1 && run.stderr.contains("at most 100000 epochs"), "\(run.stderr)")
    }

    @Test func countsBeyondTwoToTheFortyExit64() throws {
        for option in ["--epochs", "--batch-size", "--limit", "--stop-after-epochs"] {
            let run = try runNabla(["train", option, "9223372036854775807"])
            #expect(run.status == 64 && run.stderr.contains("2^40"), "\(option): \(run.stderr)")
        }
    }
}
