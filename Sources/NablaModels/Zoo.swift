import Foundation
import Nabla
import NablaNN

/// The model zoo: reference architectures by the names the command line uses.
///
/// Every model takes raw 0–255 images (it starts with `Rescaling(1/255)`) of a configurable size
/// and ends in a softmax over a configurable number of classes.
public enum Zoo {
    /// A model of the zoo.
    public struct Entry: Sendable {
        /// The name `nabla train --model` takes.
        public let name: String
        /// What it is.
        public let summary: String
        /// The per-example input it is made for.
        public let defaultInput: [Int]
        /// The classes it is made for.
        public let defaultClasses: Int
        /// Its parameter count at the default input and classes (a test checks it).
        public let parameters: Int
        let make: @Sendable ([Int], Int) -> Sequential

        /// Returns a fresh model.
        ///
        /// - Precondition: the model can take `inputShape` (see ``built(inputShape:classes:)``).
        public func callAsFunction(inputShape: [Int]? = nil, classes: Int? = nil) -> Sequential {
            make(inputShape ?? defaultInput, classes ?? defaultClasses)
        }

        /// Returns a fresh model, built for `inputShape`.
        ///
        /// - Throws: `NablaError` naming the layer when the model cannot take `inputShape` (an
        ///   image too small for its poolings), or `classes` is not positive.
        public func built(inputShape: [Int]? = nil, classes: Int? = nil) throws -> Sequential {
            let shape = inputShape ?? defaultInput, count = classes ?? defaultClasses
            guard count > 0, shape.count == defaultInput.count else {
                throw NablaError(
                    .invalidArgument,
                    "\(name) takes inputs of rank \(defaultInput.count) and a positive class count, not \(shape) and \(count)"
                )
            }
            let model = Sequential.leavingUnbuilt { make(shape, count) }
            try model.buildChecked(inputShape: shape)
            return model
        }
    }

    /// Every model, smallest input first.
    public static let entries: [Entry] = [
        Entry(
            name: "mnist-cnn", summary: "the Keras mnist_cnn example", defaultInput: [28, 28, 1], defaultClasses: 10,
            parameters: 1_199_882, make: { mnistCNN(inputShape: $0, classes: $1) }),
        Entry(
            name: "mnist-cnn-bn", summary: "VGG-style CNN with batch norm and crop/flip augmentation",
            defaultInput: [28, 28, 1], defaultClasses: 10, parameters: 871_978,
            make: { mnistCNNBatchNorm(inputShape: $0, classes: $1) }),
        Entry(
            name: "mlp", summary: "the Keras mnist_mlp example", defaultInput: [28, 28, 1], defaultClasses: 10,
            parameters: 669_706, make: { mlp(inputShape: $0, classes: $1) }),
        Entry(
            name: "lenet5", summary: "LeNet-5 (LeCun et al. 1998)", defaultInput: [28, 28, 1], defaultClasses: 10,
            parameters: 61_706, make: { leNet5(inputShape: $0, classes: $1) }),
        Entry(
            name: "cifar10-cnn", summary: "the Keras cifar10_cnn example", defaultInput: [32, 32, 3],
            defaultClasses: 10, parameters: 1_250_858, make: { cifar10CNN(inputShape: $0, classes: $1) }),
        Entry(
            name: "small-vgg", summary: "three conv-conv-pool blocks (Keras dogs vs cats)",
            defaultInput: [150, 150, 3], defaultClasses: 2, parameters: 21_522_210,
            make: { smallVGG(inputShape: $0, classes: $1) }),
        Entry(
            name: "small-vgg-bn", summary: "small-vgg with batch normalisation", defaultInput: [150, 150, 3],
            defaultClasses: 2, parameters: 21_523_554, make: { smallVGG(inputShape: $0, classes: $1, batchNorm: true) }),
        Entry(
            name: "vgg16", summary: "VGG-16 (Simonyan & Zisserman 2014)", defaultInput: [224, 224, 3],
            defaultClasses: 1000, parameters: 138_357_544, make: { vgg16(inputShape: $0, classes: $1) }),
        Entry(
            name: "resnet18", summary: "ResNet-18 (He et al. 2015)", defaultInput: [224, 224, 3], defaultClasses: 1000,
            parameters: 11_699_112, make: { resNet18(inputShape: $0, classes: $1) }),
        Entry(
            name: "resnet34", summary: "ResNet-34", defaultInput: [224, 224, 3], defaultClasses: 1000,
            parameters: 21_814_696,
            make: { resNet34(inputShape: $0, classes: $1) }),
        Entry(
            name: "resnet50", summary: "ResNet-50 (bottleneck blocks)", defaultInput: [224, 224, 3],
            defaultClasses: 1000, parameters: 25_610_152, make: { resNet50(inputShape: $0, classes: $1) }),
        Entry(
            name: "mobilenet-v2", summary: "MobileNetV2 (Sandler et al. 2018)", defaultInput: [224, 224, 3],
            defaultClasses: 1000, parameters: 3_538_984, make: { mobileNetV2(inputShape: $0, classes: $1) }),
        Entry(
            name: "tabular-mlp", summary: "standardisation and two dense layers, for tables of features",
            defaultInput: [4], defaultClasses: 3, parameters: 1_323, make: { tabularMLP(inputShape: $0, classes: $1) }),
    ]

    /// The names `nabla train --model` accepts.
    public static let names = entries.map(\.name)

    /// Returns the entry called `name`, or nil.
    public static func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// Returns a fresh model for `inputShape` (default: the model's own) and `classes` outputs, or nil for an unknown name.
    public static func model(named name: String, inputShape: [Int]? = nil, classes: Int = 10) -> Sequential? {
        entry(named: name)?(inputShape: inputShape, classes: classes)
    }
}

extension Zoo.Entry {
    /// What ``checkOneStep(inputShape:)`` found.
    public struct StepCheck: Sendable {
        /// Trainable and frozen parameter counts at the input checked.
        public var parameters: (trainable: Int, nonTrainable: Int)
        /// Problems found; empty when the model passed.
        public var failures: [String]
        public var seconds: Double
    }

    /// Builds the model for `inputShape` (its default when nil), checks its parameter count at
    /// the default size, takes one Adam step on two random images, and checks that the step
    /// changed the predictions and that a save and reload predicts bit for bit.
    public func checkOneStep(inputShape: [Int]? = nil) throws -> StepCheck {
        try Random.withSeed(3) {
            let start = Date()
            let input = inputShape ?? defaultInput
            let model = try built(inputShape: input)
            var failures: [String] = []
            let counts = model.parameterCounts
            if input == defaultInput, counts.trainable + counts.nonTrainable != parameters {
                failures.append("\(name): \(counts) parameters, expected \(parameters)")
            }
            let batch = 2
            let images = Tensor.uniform([batch] + input, high: 256).asType(.uint8)
            let labels = Tensor((0..<batch).map { Int64($0 % defaultClasses) })
            let before = try model.predict(images)
            model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy())
            try model.fit(x: images, y: labels, batchSize: batch, epochs: 1, verbose: .silent, seed: 1)
            let after = try model.predict(images)
            if before.toArray() == after.toArray() { failures.append("\(name): the training step changed nothing") }
            let path = NSTemporaryDirectory() + "nabla-zoo-step-\(UUID().uuidString).nabla"
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            if try Model.load(path).predict(images).toArray() != after.toArray() {
                failures.append("\(name): the reloaded model predicts differently")
            }
            return StepCheck(parameters: counts, failures: failures, seconds: Date().timeIntervalSince(start))
        }
    }
}
