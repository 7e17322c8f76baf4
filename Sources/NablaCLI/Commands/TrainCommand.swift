import ArgumentParser
import Foundation
import Nabla
import NablaData
import NablaModels
import NablaNN

/// `nabla train`: trains a zoo model on MNIST or Fashion-MNIST and prints the test metrics.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on MNIST or Fashion-MNIST, then report its test metrics.",
        discussion: "With no options: the Keras mnist_cnn on Fashion-MNIST, Adam 1e-3, batch 128, 12 epochs.")

    @Option(help: "The model: \(Zoo.names.joined(separator: ", ")).")
    var model = "mnist-cnn"

    @Option(help: "The dataset: fashion-mnist or mnist.")
    var dataset = "fashion-mnist"

    @Option(help: "Passes over the training set.")
    var epochs = 12

    @Option(name: .customLong("batch-size"), help: "Examples per mini-batch.")
    var batchSize = 128

    @Option(name: .customLong("learning-rate"), help: "The optimizer's learning rate.")
    var learningRate: Float = 1e-3

    @Option(help: "The optimizer: adam, adamw, sgd, rmsprop, adagrad.")
    var optimizer = "adam"

    @Option(help: "The learning-rate schedule: constant, or cosine (decay to 0 over the whole run).")
    var schedule = "constant"

    @Option(help: "The random seed (weights, shuffling, dropout, augmentation).")
    var seed: UInt64 = 42

    @Option(name: .customLong("limit"), help: "Use only the first N training examples (for quick runs).")
    var limit: Int?

    @Option(help: "Save the trained model to this .nabla file.")
    var output: String?

    @Option(
        name: .customLong("min-accuracy"), help: "Exit with failure unless the test accuracy reaches this fraction.")
    var minAccuracy: Double?

    func validate() throws {
        guard Zoo.names.contains(model) else {
            throw ValidationError("unknown model '\(model)'; choose one of \(Zoo.names.joined(separator: ", "))")
        }
        guard MNIST.Variant(rawValue: dataset) != nil else {
            throw ValidationError("unknown dataset '\(dataset)'; choose fashion-mnist or mnist")
        }
        guard epochs > 0, batchSize > 0, learningRate > 0, learningRate.isFinite else {
            throw ValidationError("epochs, batch size and learning rate must be positive")
        }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive, got \(limit)") }
        guard ["constant", "cosine"].contains(schedule) else {
            throw ValidationError("unknown schedule '\(schedule)'; choose constant or cosine")
        }
        guard ["adam", "adamw", "sgd", "rmsprop", "adagrad"].contains(optimizer) else {
            throw ValidationError("unknown optimizer '\(optimizer)'; choose adam, adamw, sgd, rmsprop or adagrad")
        }
    }

    func makeOptimizer(steps: Int) -> Optimizer {
        let decay: (any LearningRateSchedule)? =
            schedule == "cosine" ? CosineDecay(initial: learningRate, decaySteps: steps) : nil
        switch optimizer {
        case "adamw": return AdamW(learningRate: learningRate, schedule: decay)
        case "sgd": return SGD(learningRate: learningRate, momentum: 0.9, schedule: decay)
        case "rmsprop": return RMSProp(learningRate: learningRate, schedule: decay)
        case "adagrad": return Adagrad(learningRate: learningRate, schedule: decay)
        default: return Adam(learningRate: learningRate, schedule: decay)
        }
    }

    func run() throws {
        #if DEBUG
            FileHandle.standardError.write(
                Data(
                    "warning: this is a debug build; training runs orders of magnitude slower. Build for release: swift run -c release nabla train\n"
                        .utf8))
        #endif
        try reportingErrors { try train() }
    }

    func train() throws {
        let variant = MNIST.Variant(rawValue: dataset) ?? .fashion
        var train = try MNIST.load(variant, split: .train)
        let test = try MNIST.load(variant, split: .test)
        if let limit, limit < train.count { train = train.subset(Array(0..<limit)) }
        guard train.count > 0, test.count > 0 else {
            throw CLIError(
                message: "\(dataset): \(train.count) training and \(test.count) test images; nothing to train on")
        }
        print("\(dataset): \(train.count) training and \(test.count) test images, \(train.classNames.count) classes")
        Random.seed(seed)
        guard let network = Zoo.model(named: model, classes: train.classNames.count) else { return }
        network.compile(
            optimizer: makeOptimizer(steps: epochs * ((train.count + batchSize - 1) / batchSize)),
            loss: SparseCategoricalCrossEntropy(),
            metrics: [.accuracy, .precision(.macro), .recall(.macro)])
        print(network.summary())
        let start = Date()
        try network.fit(
            x: train.images, y: train.labels, batchSize: batchSize, epochs: epochs,
            validationData: (test.images, test.labels), seed: seed)
        let seconds = Date().timeIntervalSince(start)
        let result = try network.evaluate(x: test.images, y: test.labels, batchSize: batchSize)
        print(
            String(
                format:
                    "test: loss %.4f - accuracy %.4f - precision %.4f - recall %.4f (%.0fs training, %.0f samples/s)",
                result["loss"] ?? .nan, result["accuracy"] ?? .nan, result["precision"] ?? .nan,
                result["recall"] ?? .nan, seconds, Double(train.count * epochs) / seconds))
        if let output {
            try network.save(to: output, metadata: ["class_names": train.classNames.joined(separator: "\n")])
            print("saved \(output)")
        }
        if let minAccuracy, let accuracy = result["accuracy"], accuracy < minAccuracy {
            throw CLIError(
                message: String(format: "test accuracy %.4f is below the required %.4f", accuracy, minAccuracy))
        }
    }
}
