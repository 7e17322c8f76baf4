import Foundation
import Nabla
import NablaNN
import Testing

@Suite struct TransferTests {
    /// The base keeps its weights (batch norm included, in inference mode) while the new head
    /// trains; unfreezing from a layer lets fine-tuning change it.
    @Test func frozenBaseNewHeadThenFineTuning() throws {
        try Random.withSeed(2) {
            let trained = Sequential(inputShape: [6, 6, 1], name: "base") {
                Conv2D(filters: 3, kernelSize: 3, name: "conv")
                BatchNormalization(name: "bn")
                ActivationLayer(.relu, name: "relu")
                Flatten(name: "flatten")
                Dense(units: 8, activation: .relu, name: "features")
                Dense(units: 10, activation: .softmax, name: "classes")
            }
            let model = try trained.transferred(through: "features", classes: 3)
            #expect(model.layers.map(\.name) == ["conv", "bn", "relu", "flatten", "features", "head"])
            #expect(model.outputShape == [3])
            let frozen = model.parameters().filter { !$0.name.hasPrefix("head") }
            #expect(frozen.allSatisfy { p in !p.parameter.isTrainable })
            let before = frozen.map { $0.parameter.value.toArray() }
            let x = Tensor.uniform([12, 6, 6, 1]), y = Tensor((0..<12).map { Int64($0 % 3) })
            let headBefore = try #require(model.layers.last?.parameters().first?.parameter.value.toArray())
            model.compile(optimizer: Adam(learningRate: 0.01), loss: SparseCategoricalCrossEntropy())
            try model.fit(x: x, y: y, batchSize: 4, epochs: 2, verbose: .silent, seed: 1)
            #expect(frozen.map { $0.parameter.value.toArray() } == before)
            #expect(model.layers.last?.parameters().first?.parameter.value.toArray() != headBefore)
            try model.unfreeze(from: "features")
            #expect(model.layers[4].parameters().allSatisfy { $0.parameter.isTrainable })
            #expect(!model.layers[0].parameters()[0].parameter.isTrainable)
            let featuresBefore = model.layers[4].parameters()[0].parameter.value.toArray()
            model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy())
            try model.fit(x: x, y: y, batchSize: 4, epochs: 1, verbose: .silent, seed: 1)
            #expect(model.layers[4].parameters()[0].parameter.value.toArray() != featuresBefore)
            #expect(throws: NablaError.self) { _ = try trained.transferred(through: "nope", classes: 2) }
        }
    }
}
