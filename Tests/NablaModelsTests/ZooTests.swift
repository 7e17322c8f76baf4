import Foundation
import Nabla
import NablaModels
import NablaNN
import NablaTestSupport
import Testing

@Suite struct ZooTests {
    @Test func mnistCNNHasTheKerasArchitecture() {
        let model = mnistCNN()
        #expect(model.parameterCounts.trainable == 1_199_882)
        #expect(
            model.layers.map { String(describing: type(of: $0)) } == [
                "Rescaling", "Conv2D", "Conv2D", "MaxPool2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense",
            ])
        #expect(model.outputShape == [10])
    }

    @Test(arguments: Zoo.names)
    func everyZooModelMapsImagesToClassProbabilities(name: String) throws {
        let entry = try #require(Zoo.entry(named: name))
        let input = ZooTrainingTests.testInput(entry)
        let model = try entry.built(inputShape: input, classes: 10)
        let probabilities = withoutGradients { model(Tensor.zeros([2] + input, dtype: .uint8)) }
        #expect(probabilities.shape == [2, 10])
        let sums = probabilities.sum(axes: [1]).toArray()
        #expect(sums.allSatisfy { abs($0 - 1) < 1e-5 })
    }

    @Test func unknownNamesGiveNil() { #expect(Zoo.model(named: "resnet-1000") == nil) }

    /// Every zoo model, saved and rebuilt from its file with no code, predicts bit for bit what it
    /// did; Python's `safetensors` sees the same weights and the metadata.
    @Test(.requires(.pythonSafetensors), arguments: Zoo.names)
    func everyZooModelSavesAndLoadsBitForBit(name: String) throws {
        try Random.withSeed(7) {
            let entry = try #require(Zoo.entry(named: name))
            let input = ZooTrainingTests.testInput(entry)
            let model = try entry.built(inputShape: input, classes: 10)
            model.classNames = (0..<10).map { "class \($0)" }
            let path = NSTemporaryDirectory() + "nabla-zoo-\(UUID().uuidString).nabla"
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            let loaded = try Model.load(path)
            let images = Tensor.uniform([3] + input, high: 256).asType(.uint8)
            #expect(try loaded.predict(images).toArray() == (try model.predict(images)).toArray())
            #expect(loaded.summary() == model.summary())
            let output = try PythonCheck.run(PythonCheck.safetensorsSummary, path)
            let decoded = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
            let meta = try #require(decoded?["meta"] as? [String: String])
            #expect(meta["format"] == "nabla" && meta["class_names"]?.contains("class 9") == true)
            let shape = "\"shape\":[" + input.map(String.init).joined(separator: ",") + "]"
            #expect(meta["input"]?.contains(shape) == true, "\(meta["input"] ?? "")")
            #expect(meta["architecture"]?.contains(#""type":"Sequential""#) == true)
            let tensors = decoded?["tensors"] as? [String: [Any]] ?? [:]
            #expect(tensors.count == model.parameters().count)
            for (name, parameter) in model.parameters() {
                let entry = try #require(tensors[name], "\(name) missing in Python's view")
                #expect(entry[0] as? [Int] == parameter.value.shape)
                let sum = parameter.value.toArray().reduce(0.0) { $0 + Double($1) }
                #expect(abs((entry[1] as? Double ?? .nan) - sum) <= 1e-6 * max(1, abs(sum)))
            }
        }
    }
}
