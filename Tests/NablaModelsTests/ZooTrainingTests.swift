import Foundation
import Nabla
import NablaModels
import NablaNN
import Testing

/// Every zoo model: its parameter count, one training step, and a save / reload that predicts bit
/// for bit.
///
/// Models made for 150×150 or 224×224 images run at 32×32 here (a debug build would take minutes
/// per step at their own size); `scripts/zoo-check` runs every model at its default size, in
/// release (`NABLA_ZOO_DEFAULT_SIZES=1`).
@Suite struct ZooTrainingTests {
    static let defaultSizes = ProcessInfo.processInfo.environment["NABLA_ZOO_DEFAULT_SIZES"] == "1"

    /// The input a debug test uses: the model's own up to 32×32, else 32×32 in its channels.
    static func testInput(_ entry: Zoo.Entry) -> [Int] {
        let small = entry.defaultInput.count < 3 || entry.defaultInput[0] * entry.defaultInput[1] <= 32 * 32
        return small ? entry.defaultInput : [32, 32, entry.defaultInput[2]]
    }

    @Test(arguments: Zoo.entries.map(\.name))
    func trainsOneStepAndReloadsBitForBit(name: String) throws {
        let entry = try #require(Zoo.entry(named: name))
        Random.seed(3)
        let start = Date()
        let input = Self.defaultSizes ? entry.defaultInput : Self.testInput(entry)
        let model = try entry.built(inputShape: input)
        if input == entry.defaultInput {
            let (trainable, frozen) = model.parameterCounts
            #expect(trainable + frozen == entry.parameters, "\(name): \(model.parameterCounts)")
        }
        let batch = 2
        let images = Tensor.uniform([batch] + input, high: 256).asType(.uint8)
        let labels = Tensor((0..<batch).map { Int64($0 % entry.defaultClasses) })
        let before = try model.predict(images)
        model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy())
        try model.fit(x: images, y: labels, batchSize: batch, epochs: 1, verbose: .silent, seed: 1)
        let after = try model.predict(images)
        #expect(before.toArray() != after.toArray(), "\(name): the training step changed nothing")
        let path = NSTemporaryDirectory() + "nabla-zoo-step-\(UUID().uuidString).nabla"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let loaded = try Model.load(path)
        #expect(try loaded.predict(images).toArray() == after.toArray())
        print(
            "\(name) at \(input): \(model.parameterCounts), one step, save and reload in \(Date().timeIntervalSince(start)) s"
        )
    }

    @Test func aModelThatCannotTakeTheInputIsAnError() {
        #expect { try Zoo.entry(named: "vgg16")?.built(inputShape: [28, 28, 1], classes: 10) } throws: {
            "\($0)".contains("block5")
        }
    }
}
