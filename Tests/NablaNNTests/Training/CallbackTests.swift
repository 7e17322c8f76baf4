import Foundation
import Nabla
import NablaNN
import NablaTestSupport
import Testing

@Suite struct CallbackTests {
    static func folder() -> String {
        let path = NSTemporaryDirectory() + "nabla-nn-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func earlyStoppingStopsAndRestoresTheBestWeights() throws {
        let model = Toy.model()
        let stopper = EarlyStopping(monitor: "val_loss", patience: 1, restoreBestWeights: true)
        try stopper.onTrainBegin(model: model)
        var snapshots: [[Float]] = []
        for (epoch, value) in [1.0, 0.5, 0.7, 0.8, 0.2].enumerated() where !model.stopTraining {
            model.layers[0].parameters()[0].parameter.value.assign(Tensor.full([3, 3, 1, 4], value: Float(epoch)))
            snapshots.append(model.layers[0].parameters()[0].parameter.value.toArray())
            try stopper.onEpochEnd(epoch, logs: ["val_loss": value], model: model)
        }
        #expect(stopper.stoppedEpoch == 3 && stopper.bestEpoch == 1)
        try stopper.onTrainEnd(model: model)
        #expect(model.layers[0].parameters()[0].parameter.value.toArray() == snapshots[1])
    }

    @Test func modelCheckpointSavesOnlyImprovementsAndLoadsBack() throws {
        let folder = Self.folder()
        let checkpoint = ModelCheckpoint(
            path: "\(folder)/model-{epoch}.nabla", monitor: "val_accuracy", saveBestOnly: true, weightsOnly: true)
        let model = Toy.model()
        for (epoch, accuracy) in [0.5, 0.4, 0.7].enumerated() {
            try checkpoint.onEpochEnd(epoch, logs: ["val_accuracy": accuracy], model: model)
        }
        #expect(checkpoint.saved == ["\(folder)/model-1.nabla", "\(folder)/model-3.nabla"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
        let copy = Toy.model()
        try copy.loadWeights(from: "\(folder)/model-3.nabla")
        #expect(copy.weightsSnapshot().mapValues { $0.toArray() } == model.weightsSnapshot().mapValues { $0.toArray() })
    }

    @Test func loadingRejectsMismatchedAndNewerFiles() throws {
        let folder = Self.folder()
        let small = Sequential(inputShape: [4]) { Dense(units: 2) }
        try small.save(to: "\(folder)/small.nabla")
        let other = Sequential(inputShape: [5]) { Dense(units: 2) }
        #expect { try other.loadWeights(from: "\(folder)/small.nabla") } throws: { "\($0)".contains("dense.weight") }
        try Safetensors.write(
            [("dense.weight", Tensor.zeros([4, 2]))], metadata: ["format_version": "99"], to: "\(folder)/new.nabla")
        #expect { try small.loadWeights(from: "\(folder)/new.nabla") } throws: {
            ($0 as? NablaError)?.code == .unsupportedVersion
        }
    }

    @Test func reduceLROnPlateauAndScheduler() throws {
        let model = Toy.model()
        model.compile(optimizer: SGD(learningRate: 1), loss: MeanSquaredError())
        let reducer = ReduceLROnPlateau(monitor: "val_loss", factor: 0.5, patience: 2)
        for (epoch, value) in [1.0, 1.0, 1.0, 1.0, 1.0].enumerated() {
            try reducer.onEpochEnd(epoch, logs: ["val_loss": value], model: model)
        }
        #expect(model.optimizer?.learningRate == 0.25)
        let scheduler = LearningRateScheduler { epoch, _ in Float(epoch) / 10 }
        try scheduler.onEpochBegin(3, model: model)
        #expect(model.optimizer?.learningRate == 0.3)
    }

    @Test func csvLoggerWritesOneRowPerEpoch() throws {
        let path = Self.folder() + "/log.csv"
        let (_, _) = try Toy.trained(epochs: 2, callbacks: [CSVLogger(path: path)])
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss")
        #expect(lines[2].hasPrefix("1,"))
    }

    @Test func epochLinesHaveNoControlCharacters() throws {
        let output = OutputCapture()
        let display = ProgressDisplay(mode: .epochLines, epochs: 2, steps: 3, output: output.append)
        display.beginEpoch(0)
        display.update(step: 1, logs: ["loss": 1])
        display.endEpoch(0, logs: ["loss": 0.5, "accuracy": 0.75, "val_loss": 0.6])
        #expect(output.text.hasPrefix("Epoch 1/2 - "))
        #expect(output.text.hasSuffix("loss: 0.5000 - accuracy: 0.7500 - val_loss: 0.6000\n"))
        #expect(!output.text.contains("\r") && !output.text.contains("\u{1B}"))
        let bar = OutputCapture()
        let barDisplay = ProgressDisplay(mode: .bar, epochs: 1, steps: 3, output: bar.append)
        barDisplay.beginEpoch(0)
        barDisplay.update(step: 3, logs: ["loss": 1])
        #expect(bar.text.contains("3/3 [==============================]"))
    }

    @Test func aStreamOfUnknownLengthCountsBatches() {
        let bar = OutputCapture()
        let display = ProgressDisplay(mode: .bar, epochs: 1, steps: 0, output: bar.append)
        display.beginEpoch(0)
        for step in 1...5 { display.update(step: step, logs: ["loss": 1]) }
        #expect(bar.text.contains("\r1 - "))
        display.endEpoch(0, logs: ["loss": 0.5])
        #expect(bar.text.contains("5/5 [==============================]"))
    }
}

final class OutputCapture: @unchecked Sendable {
    var text = ""
    func append(_ s: String) { text += s }
}

/// A stop ends training at once, however many epochs were asked for: the loop does not go on
/// counting through the rest (2^40 epochs would take hours to count).
@Suite struct StopTrainingTests {
    final class StopAtFirstEpoch: Callback {
        var epochsBegun = 0
        func onEpochBegin(_ epoch: Int, model: Model) throws { epochsBegun += 1 }
        func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws { model.stopTraining = true }
    }

    @Test func aStopEndsAHugeRunAfterOneEpoch() throws {
        let (x, y) = Toy.data(count: 12)
        let model = Toy.model()
        model.compile(optimizer: SGD(learningRate: 0.01), loss: SparseCategoricalCrossEntropy())
        let stopper = StopAtFirstEpoch()
        let history = try model.fit(x: x, y: y, batchSize: 6, epochs: 1 << 40, callbacks: [stopper], verbose: .silent)
        #expect(stopper.epochsBegun == 1 && history.epochs.count == 1)
    }
}
