import Foundation
import Nabla
import NablaNN
import Testing

/// Python's own `safetensors` package reads our model files (when Python and the package are installed; CI installs them).
@Suite(.enabled(if: PythonCheck.available))
struct ModelFileTests {
    @Test func pythonSafetensorsReadsTheModelFile() throws {
        let model = Toy.model()
        let path = NSTemporaryDirectory() + "nabla-\(UUID().uuidString).nabla"
        try model.save(to: path, metadata: ["class_names": "a\nb\nc"])
        let script = """
            import json, sys
            from safetensors import safe_open
            with safe_open(sys.argv[1], framework="numpy") as f:
                meta = f.metadata()
                out = {k: [list(f.get_tensor(k).shape), float(f.get_tensor(k).sum())] for k in f.keys()}
            print(json.dumps({"meta": meta, "tensors": out}))
            """
        let output = try PythonCheck.run(script, path)
        let decoded = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        let meta = decoded?["meta"] as? [String: String]
        #expect(meta?["format"] == "nabla" && meta?["format_version"] == "1" && meta?["class_names"] == "a\nb\nc")
        let tensors = decoded?["tensors"] as? [String: [Any]] ?? [:]
        for (name, parameter) in model.parameters() {
            let entry = try #require(tensors[name], "\(name) missing in Python's view")
            #expect(entry[0] as? [Int] == parameter.value.shape)
            #expect(abs((entry[1] as? Double ?? .nan) - Double(parameter.value.sum().item())) < 1e-4)
        }
    }
}

enum PythonCheck {
    static let available: Bool = (try? run("import safetensors, numpy; print('ok')")) == "ok\n"

    static func run(_ script: String, _ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Model files from outside are checked before anything is loaded.
@Suite struct ModelFileCheckTests {
    static func path(_ name: String) -> String {
        let folder = NSTemporaryDirectory() + "nabla-mf-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return "\(folder)/\(name)"
    }

    @Test func formatOtherThanNablaIsRefused() throws {
        let model = Sequential(inputShape: [4]) { Dense(units: 2) }
        let path = Self.path("other.safetensors")
        try Safetensors.write(
            model.parameters().map { ($0.name, $0.parameter.value) }, metadata: ["format": "pt"], to: path)
        #expect { try model.loadWeights(from: path) } throws: { "\($0)".contains("its format is 'pt', not 'nabla'") }
    }

    @Test func versionThatIsNotANumberIsRefused() throws {
        let model = Sequential(inputShape: [4]) { Dense(units: 2) }
        let path = Self.path("version.nabla")
        try Safetensors.write(
            model.parameters().map { ($0.name, $0.parameter.value) },
            metadata: ["format": "nabla", "format_version": "one"], to: path)
        #expect { try model.loadWeights(from: path) } throws: {
            "\($0)".contains("format_version 'one' is not a number")
        }
    }

    @Test func loadingIntoAModelNotBuiltYetIsAnError() throws {
        let built = Sequential(inputShape: [4]) { Dense(units: 2) }
        let path = Self.path("m.nabla")
        try built.save(to: path)
        let unbuilt = Sequential { Dense(units: 2) }
        #expect { try unbuilt.loadWeights(from: path) } throws: { "\($0)".contains("not built yet") }
    }

    @Test func fitOnNoExamplesIsAnError() {
        let model = Sequential(inputShape: [4]) { Dense(units: 2) }
        model.compile(optimizer: SGD(), loss: MeanSquaredError())
        #expect { try model.fit(x: Tensor.zeros([0, 4]), y: Tensor.zeros([0, 2]), verbose: .silent) } throws: {
            "\($0)".contains("holds no examples")
        }
    }
}
