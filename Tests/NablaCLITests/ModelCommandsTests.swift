import Foundation
import Nabla
import NablaData
import NablaNN
import NablaTestSupport
import Testing

/// One short run folder, trained once and shared by the tests that use a trained model.
enum TrainedRun {
    static let arguments = [
        "train", "--model", "mlp", "--epochs", "2", "--limit", "256", "--schedule", "cosine", "--seed", "5",
    ]

    static func folder() -> String {
        let folder = NSTemporaryDirectory() + "nabla-runs-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The run folder of the uninterrupted run and its standard output.
    static let run: (folder: String, stdout: String)? = {
        guard Requirement.fashionMNIST.isAvailable else { return nil }
        let folder = Self.folder() + "/whole"
        guard let result = try? runNabla(arguments + ["--output", folder]), result.status == 0 else { return nil }
        return (folder, result.stdout)
    }()

    static func file(_ name: String) throws -> String {
        let run = try #require(run, "the shared training run failed")
        return "\(run.folder)/\(name)"
    }
}

@Suite(.requires(.fashionMNIST)) struct ModelCommandsTests {
    /// Stopped after epoch 1 and resumed, a run equals the uninterrupted one bit for bit: the
    /// history and the model file (weights, architecture and all), through the command line.
    @Test func resumedRunEqualsTheUninterruptedOne() throws {
        let whole = try TrainedRun.file("")
        let stopped = TrainedRun.folder() + "/stopped"
        let first = try runNabla(TrainedRun.arguments + ["--output", stopped, "--stop-after-epochs", "1"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("Epoch 1/2") && !first.stdout.contains("Epoch 2/2"))
        let second = try runNabla(["train", "--resume", stopped])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("resuming \(stopped) after epoch 1 of 2"))
        #expect(second.stdout.contains("Epoch 2/2") && !second.stdout.contains("Epoch 1/2"))
        for name in ["history.csv", "model.nabla", "metrics.json", "config.json"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: whole + name))
            let b = try Data(contentsOf: URL(fileURLWithPath: "\(stopped)/\(name)"))
            #expect(a == b, "\(name) differs")
        }
        let lines = try String(contentsOfFile: whole + "history.csv", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3 && lines[0].hasPrefix("epoch,accuracy,learning_rate,loss"))
    }

    @Test func outputIsCheckedBeforeTrainingAndConfigReplays() throws {
        let whole = try TrainedRun.file("")
        let taken = try runNabla(["train", "--output", whole])
        #expect(taken.status == 1 && taken.stderr.contains("already exists; choose another --output"))
        #expect(!taken.stdout.contains("Epoch"))
        let blocked = try runNabla(["train", "--output", whole + "config.json/run"])
        #expect(blocked.status == 1 && blocked.stderr.contains("cannot create the run folder"))
        let settings = try String(contentsOfFile: whole + "config.json", encoding: .utf8)
        #expect(settings.contains(#""batch_size" : 128"#) && settings.contains(#""schedule" : "cosine""#))
        let bad = TrainedRun.folder() + "/bad.json"
        try #"{"model": "resnet-1000"}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        let replay = try runNabla(["train", "--config", bad])
        #expect(replay.status == 1 && replay.stderr.contains("unknown model 'resnet-1000'"))
    }

    /// `nabla evaluate` on the test set gives exactly what training reported for it.
    @Test func evaluateEqualsWhatTrainingReported() throws {
        let metrics =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: try TrainedRun.file("metrics.json"))))
            as? [String: [String: Double]]
        let reported = try #require(metrics?["test"])
        let result = try runNabla(["evaluate", try TrainedRun.file("model.nabla"), "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["loss"] as? Double == reported["loss"])
        #expect(report["accuracy"] as? Double == reported["accuracy"])
        let confusion = try #require(report["confusion"] as? [[Int]])
        #expect(confusion.count == 10 && confusion.map { $0.reduce(0, +) }.allSatisfy { $0 == 1000 })
        let text = try runNabla(["evaluate", try TrainedRun.file("model.nabla")])
        #expect(
            text.stdout.contains(String(format: "loss %.4f - accuracy %.4f", reported["loss"]!, reported["accuracy"]!)))
        #expect(text.stdout.contains("confusion matrix") && text.stdout.contains("Ankle boot"))
    }

    /// A Fashion-MNIST test image saved as a PNG gets the same class and probabilities from
    /// `nabla predict` as from `predict` on the test tensor.
    @Test func predictOnAPNGEqualsPredictOnTheTensor() throws {
        let model = try TrainedRun.file("model.nabla")
        let test = try MNIST.load(.fashion, split: .test)
        let folder = TrainedRun.folder()
        var expected: [[Float]] = []
        let loaded = try Model.load(model)
        for i in 0..<3 {
            let image = test.images.slice(axis: 0, start: i, end: i + 1)
            try ImageCodec.encodePNG(image.reshaped([28, 28, 1])).write(to: URL(fileURLWithPath: "\(folder)/\(i).png"))
            expected.append(try loaded.predict(image).toArray())
        }
        let result = try runNabla(["predict", model, "\(folder)/0.png", folder, "--top-k", "10", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let predictions = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(predictions.count == 4)
        for (row, probabilities) in zip(predictions, [expected[0]] + expected) {
            let top = try #require(row["top"] as? [[String: Any]])
            for guess in top {
                let index = try #require(guess["index"] as? Int)
                #expect(Float(guess["probability"] as? Double ?? .nan) == probabilities[index])
            }
            let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            #expect(top.first?["index"] as? Int == best && top.first?["name"] as? String == test.classNames[best])
        }
    }

    @Test func exportWritesONNX() throws {
        let folder = TrainedRun.folder()
        let result = try runNabla(["export", try TrainedRun.file("model.nabla"), "--onnx", "\(folder)/m.onnx"])
        #expect(result.status == 0 && result.stdout.contains("opset 17, input [batch, 28, 28, 1]"), "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(folder)/m.onnx"))
        let wrong = try runNabla([
            "export", try TrainedRun.file("model.nabla"), "--onnx", "\(folder)/x.onnx", "--opset", "9",
        ])
        #expect(wrong.status == 64)
    }

    @Test func predictWritesAKaggleSubmissionFromACSV() throws {
        let folder = TrainedRun.folder()
        let header = "label," + (0..<784).map { "pixel\($0)" }.joined(separator: ",")
        let rows = (0..<3).map { r in "\(r)," + (0..<784).map { String(($0 * (r + 1)) % 256) }.joined(separator: ",") }
        try ([header] + rows).joined(separator: "\n").write(
            toFile: "\(folder)/test.csv", atomically: true, encoding: .utf8)
        let result = try runNabla([
            "predict", try TrainedRun.file("model.nabla"), "\(folder)/test.csv", "--kaggle-submission",
            "\(folder)/submission.csv", "--top-k", "1",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 3 && result.stdout.hasPrefix("\(folder)/test.csv[0]: "))
        let submission = try String(contentsOfFile: "\(folder)/submission.csv", encoding: .utf8)
        #expect(submission.hasPrefix("ImageId,Label\n1,") && submission.split(separator: "\n").count == 4)
    }
}

/// Model files from outside are hostile: `nabla summary` on each damaged one is a one-line error
/// with status 1, never a crash.
@Suite struct HostileModelFileTests {
    @Test func summaryOfDamagedModelFilesIsAOneLineError() throws {
        let folder = TrainedRun.folder()
        let model = Sequential(inputShape: [4]) { Dense(units: 2) }
        try model.save(to: "\(folder)/good.nabla")
        let good = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/good.nabla"))
        var cases: [(String, Data, String)] = [
            ("truncated", good.prefix(good.count - 5), "lies outside the"),
            (
                "lying-header", Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]) + good.dropFirst(8),
                "header length"
            ),
            ("empty", Data(), "shorter than the 8-byte header"),
        ]
        func file(_ architecture: String) throws -> Data {
            let path = "\(folder)/tmp.nabla"
            try Safetensors.write(
                model.parameters().map { ($0.name, $0.parameter.value) },
                metadata: [
                    "format": "nabla", "format_version": "2", "architecture": architecture,
                    "input": #"{"shape":[4],"dtype":"float32","layout":"features"}"#,
                ], to: path)
            return try Data(contentsOf: URL(fileURLWithPath: path))
        }
        let dense =
            #"{"type":"Dense","name":"dense","config":{"units":2,"activation":"linear","use_bias":true,"kernel_initializer":"zeros","bias_initializer":"zeros"}}"#
        cases.append(
            (
                "unknown-layer", try file(dense.replacingOccurrences(of: "\"Dense\"", with: "\"Warp\"")),
                "unknown type 'Warp'"
            ))
        var nested = dense
        for _ in 0..<40 { nested = #"{"type":"Sequential","name":"s","config":{},"layers":[\#(nested)]}"# }
        cases.append(("deep", try file(nested), "nests"))
        cases.append(
            (
                "deeper-json",
                try file(String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)),
                "nests 200000 levels"
            ))
        let many = Array(repeating: #"{"type":"Flatten","name":"f","config":{}}"#, count: 70_000).joined(separator: ",")
        cases.append(
            (
                "huge", try file(#"{"type":"Sequential","name":"s","config":{},"layers":[\#(many)]}"#),
                "more than 65536 layers"
            ))
        let giant = dense.replacingOccurrences(of: "\"units\":2", with: "\"units\":16000000")
        cases.append(
            (
                "giant-layer", try file(#"{"type":"Sequential","name":"s","config":{},"layers":[\#(giant)]}"#),
                "needs more values than the file holds"
            ))
        for (name, data, message) in cases {
            let path = "\(folder)/\(name).nabla"
            try data.write(to: URL(fileURLWithPath: path))
            let result = try runNabla(["summary", path])
            #expect(result.status == 1, "\(name): status \(result.status)")
            #expect(result.stderr.contains(path) && result.stderr.contains(message), "\(name): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(name): \(result.stderr)")
        }
        let ok = try runNabla(["summary", "\(folder)/good.nabla"])
        #expect(ok.status == 0 && ok.stdout.contains("Input: [batch, 4] float32 features"))
    }
}
