import Foundation
import NablaTestSupport
import Testing

/// Returns the path of the built `nabla` binary (debug build, next to this test bundle).
func nablaBinary() throws -> String {
    let bundle = Bundle.main.bundleURL.deletingLastPathComponent()
    let candidates = [bundle.appendingPathComponent("nabla"), URL(fileURLWithPath: ".build/debug/nabla")]
    guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw CLITestError(message: "nabla binary not found next to the tests (build it with swift build)")
    }
    return binary.path
}

/// Runs the built `nabla` binary and captures its output.
func runNabla(
    _ arguments: [String], environment: [String: String] = [:]
) throws -> (status: Int32, stdout: String, stderr: String) {
    try runProgram(nablaBinary(), arguments, environment: environment)
}

/// Runs `program` with `arguments` to its end (as a ``ChildProcess``); returns its status and outputs.
func runProgram(
    _ program: String, _ arguments: [String], environment: [String: String] = [:]
) throws -> (status: Int32, stdout: String, stderr: String) {
    try ChildProcess.run(program, arguments, environment: environment)
}

struct CLITestError: Error { let message: String }

@Suite struct TrainCommandTests {
    @Test func helpDescribesTheDefaults() throws {
        let result = try runNabla(["train", "--help"])
        #expect(result.status == 0)
        let snapshot = try String(
            contentsOfFile: #filePath.replacingOccurrences(
                of: "TrainCommandTests.swift", with: "Snapshots/train-help.txt"), encoding: .utf8)
        #expect(result.stdout == snapshot)
    }

    @Test func unknownModelIsAOneLineError() throws {
        let result = try runNabla(["train", "--model", "resnet-1000"])
        #expect(result.status == 64)
        #expect(
            result.stderr.contains("'resnet-1000' is invalid for '--model <model>'")
                && result.stderr.contains("- resnet50"))
        #expect(!result.stderr.contains("Backtrace"))
    }

    @Test func missingDatasetSaysHowToGetIt() throws {
        let result = try runNabla(
            ["train", "--dataset", "mnist", "--epochs", "1"],
            environment: ["NABLA_DATA": "/nonexistent", "HOME": "/nonexistent"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("dataset 'mnist' not found"))
        #expect(result.stderr.contains("debug build"))
    }

    @Test(.requires(.fashionMNIST))
    func trainsBrieflyOnFashionMNIST() throws {
        let folder = NSTemporaryDirectory() + "nabla-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let result = try runNabla([
            "train", "--model", "mlp", "--epochs", "1", "--limit", "512", "--output", "\(folder)/run",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Epoch 1/1 - "))
        #expect(result.stdout.contains("test: loss"))
        #expect(FileManager.default.fileExists(atPath: "\(folder)/run/model.nabla"))
        #expect(!result.stdout.contains("\r"))
    }
}
