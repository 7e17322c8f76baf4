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
