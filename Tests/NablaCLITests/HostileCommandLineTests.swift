import Foundation
import Nabla
import NablaData
import NablaTestSupport
import Testing

/// Hostile inputs given to the command line as a user would, under a small server's limits.
///
/// The limits are NABLA_MAX_MODEL_VALUES=16777216 and 2 GiB of address space. Each input exits 1
/// with its message; none is killed (by the limit or a trap).
@Suite(.requires(.onnxRuntime)) struct HostileCommandLineTests {
    /// Runs `nabla ARGUMENTS` in a shell that limits the address space to 2 GiB.
    static func limited(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProgram(
            "/bin/bash", ["-c", "ulimit -v 2097152; exec \"$@\"", "nabla", try nablaBinary()] + arguments,
            environment: ["NABLA_MAX_MODEL_VALUES": "16777216"])
    }

    @Test(arguments: HostileGraphs.cases.filter { $0.outcome.hasPrefix("error: ") }.map(\.name))
    func hostileGraphsExitOneWithTheirMessage(name: String) throws {
        let folder = NSTemporaryDirectory() + "nabla-hostile-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try #require(try PythonCheck.run(HostileGraphs.script, name, folder + "/g.onnx") == "ok\n")
        let run = try Self.limited(["import", folder + "/g.onnx", "--output", folder + "/g.nabla"])
        let outcome = try #require(HostileGraphs.cases.first { $0.name == name }?.outcome)
        // With the smaller budget a size may be refused as too large before it overflows.
        let expected = [
            String(outcome.dropFirst("error: ".count)), "too large", "too long", "overflows", "NABLA_MAX_MODEL_VALUES",
        ]
        #expect(run.status == 1, "\(name): status \(run.status), \(run.stderr)")
        #expect(expected.contains { run.stderr.contains($0) }, "\(name): \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/g.nabla"))
    }

    /// A model file whose preprocessing asks for 100000 × 100000 images: predict refuses it.
    @Test func aModelFileThatAsksForHugeImagesExitsOne() throws {
        let folder = NSTemporaryDirectory() + "nabla-hostile-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let architecture =
            #"{"type":"Sequential","name":"seq","config":{},"layers":[{"type":"Flatten","name":"f","config":{}}]}"#
        try Safetensors.write(
            [],
            metadata: [
                "format": "nabla", "format_version": "2", "architecture": architecture,
                "input": #"{"shape":[28,28,1],"dtype":"uint8","layout":"NHWC"}"#,
                "preprocessing": #"{"colorMode":"grayscale","height":100000,"width":100000,"scale":1,"offset":0}"#,
            ], to: folder + "/huge.nabla")
        let image = folder + "/x.png"
        try ImageCodec.encodePNG(Tensor([UInt8](repeating: 9, count: 784), shape: [28, 28, 1]))
            .write(to: URL(fileURLWithPath: image))
        let run = try Self.limited(["predict", folder + "/huge.nabla", image])
        #expect(run.status == 1 && run.stderr.contains("images of 100000×100000"), "\(run.status) \(run.stderr)")
    }
}
