import Foundation
import Nabla
import NablaNN
import NablaTestSupport
import Testing

/// Python's own `safetensors` package reads our model files (when Python and the package are installed; CI installs them).
@Suite(.requires(.pythonSafetensors))
struct ModelFileTests {
    @Test func pythonSafetensorsReadsTheModelFile() throws {
        let model = Toy.model()
        model.classNames = ["a", "b", "c"]
        let path = NSTemporaryDirectory() + "nabla-\(UUID().uuidString).nabla"
        try model.save(to: path, metadata: ["note": "x"])
        let output = try PythonCheck.run(PythonCheck.safetensorsSummary, path)
        let decoded = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        let meta = decoded?["meta"] as? [String: String]
        #expect(meta?["format"] == "nabla" && meta?["format_version"] == "2" && meta?["note"] == "x")
        #expect(meta?["class_names"] == #"["a","b","c"]"#)
        #expect(meta?["architecture"]?.hasPrefix(#"{"config":{},"layers":[{"config":{"activation":"relu""#) == true)
        let tensors = decoded?["tensors"] as? [String: [Any]] ?? [:]
        for (name, parameter) in model.parameters() {
            let entry = try #require(tensors[name], "\(name) missing in Python's view")
            #expect(entry[0] as? [Int] == parameter.value.shape)
            #expect(abs((entry[1] as? Double ?? .nan) - Double(parameter.value.sum().item())) < 1e-4)
        }
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
