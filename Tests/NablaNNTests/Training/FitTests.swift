import Foundation
import Nabla
import NablaNN
import NablaTestSupport
import Testing

/// A small separable problem: 8×8 images whose class (0, 1, 2) is where a bright square sits.
enum Toy {
    static func data(count: Int = 96, seed: UInt64 = 3) -> (x: Tensor, y: Tensor) {
        let noise = Tensor.uniform([count, 8, 8, 1], high: 0.3, generator: RandomGenerator(seed: seed)).toArray()
        var pixels = noise
        var labels: [Int64] = []
        for n in 0..<count {
            let label = n % 3
            labels.append(Int64(label))
            for r in 0..<3 { for c in 0..<3 { pixels[n * 64 + (r + 1) * 8 + label * 2 + 1 + c] += 1 } }
        }
        return (Tensor(pixels, shape: [count, 8, 8, 1]), Tensor(labels))
    }

    static func model() -> Sequential {
        Sequential(inputShape: [8, 8, 1]) {
            Conv2D(filters: 4, kernelSize: 3, activation: .relu)
            MaxPool2D()
            Dropout(rate: 0.1)
            Flatten()
            Dense(units: 3, activation: .softmax)
        }
    }

    static func trained(
        epochs: Int = 3, seed: UInt64 = 5, callbacks: [any Callback] = []
    ) throws -> (Sequential, History) {
        let model: Sequential = Random.withSeed(seed) { Toy.model() }
        model.compile(optimizer: Adam(learningRate: 0.05), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
        let (x, y) = data()
        let history = try model.fit(
            x: x, y: y, batchSize: 16, epochs: epochs, validationSplit: 0.25, callbacks: callbacks, verbose: .silent,
            seed: seed)
        return (model, history)
    }
}

@Suite struct FitTests {
    @Test func learnsTheToyProblem() throws {
        let (model, history) = try Toy.trained(epochs: 6)
        #expect(history["loss"].count == 6)
        #expect(history["loss"].last! < history["loss"].first!)
        #expect(history["val_accuracy"].last! > 0.9)
        let predictions = try model.predict(Toy.data(count: 6, seed: 9).x)
        #expect(predictions.shape == [6, 3])
        #expect(predictions.argmax(axis: 1).toArray(Int64.self) == [0, 1, 2, 0, 1, 2])
    }

    @Test func sameSeedGivesBitIdenticalHistories() throws {
        let (_, first) = try Toy.trained(seed: 11)
        let (_, second) = try Toy.trained(seed: 11)
        #expect(first == second)
        let (_, other) = try Toy.trained(seed: 12)
        #expect(first != other)
    }

    @Test func frozenBaseStaysUnchangedWhileTheHeadTrains() throws {
        let base = Sequential(inputShape: [8, 8, 1], name: "base") {
            Conv2D(filters: 4, kernelSize: 3, activation: .relu)
            Flatten()
        }
        let model = Sequential(inputShape: [8, 8, 1]) {
            base
            Dense(units: 3, activation: .softmax)
        }
        base.isTrainable = false
        let before = model.weightsSnapshot()
        model.compile(optimizer: SGD(learningRate: 0.1), loss: SparseCategoricalCrossEntropy())
        let (x, y) = Toy.data()
        try model.fit(x: x, y: y, batchSize: 32, epochs: 1, verbose: .silent)
        let after = model.weightsSnapshot()
        #expect(Set(before.keys) == ["base.conv2d.weight", "base.conv2d.bias", "dense.weight", "dense.bias"])
        for name in ["base.conv2d.weight", "base.conv2d.bias"] {
            #expect(after[name]?.toArray() == before[name]?.toArray(), "\(name) changed")
        }
        #expect(after["dense.weight"]?.toArray() != before["dense.weight"]?.toArray())
        #expect(model.parameterCounts.nonTrainable == 40)
    }

    @Test func labelsOutOfRangeAreAnError() {
        let model = Toy.model()
        model.compile(optimizer: Adam(), loss: SparseCategoricalCrossEntropy())
        let (x, _) = Toy.data(count: 4)
        #expect {
            try model.fit(x: x, y: Tensor([Int64(0), 1, 7, 2]), verbose: .silent)
        } throws: { error in "\(error)".contains("label 7 of example 2 is outside 0..<3") }
    }

    @Test func inputThatDoesNotFitTheFirstLayerIsAnError() {
        let model = Toy.model()
        model.compile(optimizer: Adam(), loss: SparseCategoricalCrossEntropy())
        #expect {
            try model.fit(x: Tensor.zeros([4, 28, 28, 1]), y: Tensor([Int64(0), 1, 2, 0]), verbose: .silent)
        } throws: { error in
            let text = "\(error)"
            return text.contains("conv2d") && text.contains("[4, 28, 28, 1]") && text.contains("[batch, 8, 8, 1]")
        }
    }

    @Test func terminateOnNaNStopsTraining() throws {
        let model = Sequential(inputShape: [8, 8, 1]) {
            Flatten()
            Dense(units: 3)
        }
        model.compile(optimizer: SGD(learningRate: 1e30), loss: MeanSquaredError())
        let (x, _) = Toy.data(count: 64)
        let stopper = TerminateOnNaN()
        let history = try model.fit(
            x: x * 1e10, y: Tensor.ones([64, 3]), batchSize: 8, epochs: 5, callbacks: [stopper], verbose: .silent)
        #expect(stopper.stoppedAtBatch != nil)
        #expect(history.epochs.count == 1)
    }

    @Test func fitNeedsCompile() {
        #expect(throws: NablaError.self) {
            try Toy.model().fit(x: Tensor.zeros([2, 8, 8, 1]), y: Tensor([Int64(0), 1]))
        }
    }
}
