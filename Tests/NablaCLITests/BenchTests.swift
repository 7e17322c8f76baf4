import Foundation
import Testing

/// `nabla-bench` never prints an error as a speed: a case that throws ends the run with status 1
/// and no result line, and an unknown case name is refused.
@Suite struct BenchTests {
    static func benchBinary() throws -> String {
        let path = try nablaBinary().replacingOccurrences(of: "/nabla", with: "/nabla-bench", options: .backwards)
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CLITestError(message: "nabla-bench not found at \(path) (build it with swift build)")
        }
        return path
    }

    /// Fashion-MNIST found first in $NABLA_DATA but truncated: the training case throws while
    /// loading it, and the run fails instead of timing random images.
    @Test(arguments: ["train", "loader"])
    func aCaseThatThrowsExitsNonZero(name: String) throws {
        let data = NSTemporaryDirectory() + "nabla-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        try FileManager.default.createDirectory(atPath: data + "/fashion-mnist", withIntermediateDirectories: true)
        for file in [
            "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
        ] {
            try Data([0, 0, 8]).write(to: URL(fileURLWithPath: "\(data)/fashion-mnist/\(file)"))
        }
        let run = try runProgram(try Self.benchBinary(), [name], environment: ["NABLA_DATA": data])
        #expect(run.status == 1, "\(run.stdout) \(run.stderr)")
        #expect(run.stderr.contains("nabla-bench: error:") && run.stderr.contains("fashion-mnist"), "\(run.stderr)")
        #expect(!run.stdout.contains("samples_per_s"), "\(run.stdout)")
    }

    @Test func anUnknownCaseIsRefused() throws {
        let run = try runProgram(try Self.benchBinary(), ["trian"])
        #expect(run.status == 64 && run.stderr.contains("no case named 'trian'"), "\(run.stderr)")
    }
}
