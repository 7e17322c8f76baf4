import ArgumentParser
import Foundation
import Nabla
import NablaData
import NablaModels
import NablaNN

/// What a training run is: the settings `config.json` holds in a run folder and `--config` replays.
struct TrainSettings: Codable, Equatable {
    var model = ZooModel.standard
    var dataset = DatasetName.fashionMNIST
    var epochs = 12
    var batchSize = 128
    var learningRate: Float = 1e-3
    var optimizer = OptimizerName.adam
    var schedule = ScheduleName.constant
    var seed: UInt64 = 42
    var limit: Int?

    /// Checks the values (they may come from a file).
    func validate() throws {
        guard epochs > 0, batchSize > 0, learningRate > 0, learningRate.isFinite else {
            throw ValidationError("epochs, batch size and learning rate must be positive")
        }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive, got \(limit)") }
    }

    /// Returns the optimizer, its schedule spanning `steps` steps.
    func makeOptimizer(steps: Int) -> any Optimizer {
        let decay: (any LearningRateSchedule)? =
            schedule == .cosine ? CosineDecay(initial: learningRate, decaySteps: steps) : nil
        switch optimizer {
        case .adamw: return AdamW(learningRate: learningRate, schedule: decay)
        case .sgd: return SGD(learningRate: learningRate, momentum: 0.9, schedule: decay)
        case .rmsprop: return RMSProp(learningRate: learningRate, schedule: decay)
        case .adagrad: return Adagrad(learningRate: learningRate, schedule: decay)
        case .adadelta: return Adadelta(learningRate: learningRate, schedule: decay)
        case .adam: return Adam(learningRate: learningRate, schedule: decay)
        }
    }

    static func read(_ path: String) throws -> TrainSettings {
        let data = try reportingErrors {
            guard try InputFile.checkRegular(path) <= 1 << 20 else {
                throw NablaError(.resourceLimit, "a settings file of more than 1 MiB", path: path)
            }
            return try InputFile.contents(path)
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do { return try decoder.decode(TrainSettings.self, from: data) } catch {
            throw CLIError(message: "\(path): not a valid settings file: \(error)")
        }
    }
}

/// `nabla train`: trains a zoo model on MNIST or Fashion-MNIST and prints the test metrics.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on MNIST or Fashion-MNIST, then report its test metrics.",
        discussion: """
            With no options: the Keras mnist_cnn on Fashion-MNIST, Adam 1e-3, batch 128, 12 epochs.

            --output DIR makes a run folder: config.json (the settings, for --config), \
            checkpoint.nabla after every epoch, history.csv, metrics.json and the trained model.nabla. \
            --resume DIR continues a stopped run from its last checkpoint, bit for bit.

            \(ExitStatus.help)
            """)

    @Option(help: "The model (default: mnist-cnn).")
    var model: ZooModel?

    @Option(help: "The dataset (default: fashion-mnist).")
    var dataset: DatasetName?

    @Option(help: "Train until this many passes over the training set (default: 12).")
    var epochs: Int?

    @Option(name: .customLong("batch-size"), help: "Examples per mini-batch (default: 128).")
    var batchSize: Int?

    @Option(name: .customLong("learning-rate"), help: "The optimizer's learning rate (default: 0.001).")
    var learningRate: Float?

    @Option(help: "The optimizer (default: adam).")
    var optimizer: OptimizerName?

    @Option(help: "The learning-rate schedule; cosine decays to 0 over the whole run (default: constant).")
    var schedule: ScheduleName?

    @Option(help: "The random seed: weights, shuffling, dropout, augmentation (default: 42).")
    var seed: UInt64?

    @Option(name: .customLong("limit"), help: "Use only the first N training examples (for quick runs).")
    var limit: Int?

    @Option(help: "Settings from a run folder's config.json (options given here override them).")
    var config: String?

    @Option(help: "Write a run folder here; it must not exist yet (or be empty).")
    var output: String?

    @Option(help: "Continue the stopped run in this run folder from its last checkpoint.")
    var resume: String?

    @Option(
        name: .customLong("stop-after-epochs"),
        help: "Stop after this many epochs in all, as if interrupted (continue with --resume).")
    var stopAfterEpochs: Int?

    @Option(
        name: .customLong("min-accuracy"), help: "Exit with status 2 unless the test accuracy reaches this fraction.")
    var minAccuracy: Double?

    func validate() throws {
        if resume != nil && (output != nil || config != nil) {
            throw ValidationError("--resume continues a run folder; it takes neither --output nor --config")
        }
        if let stopAfterEpochs, stopAfterEpochs <= 0 {
            throw ValidationError("--stop-after-epochs must be positive, got \(stopAfterEpochs)")
        }
        if let minAccuracy, !(0...1).contains(minAccuracy) {
            throw ValidationError("--min-accuracy must be a fraction in [0, 1], got \(minAccuracy)")
        }
        if resume == nil && config == nil { try settings(base: TrainSettings()).validate() }
    }

    /// The settings: `base` with the options given here on top.
    func settings(base: TrainSettings) -> TrainSettings {
        var s = base
        if let model { s.model = model }
        if let dataset { s.dataset = dataset }
        if let epochs { s.epochs = epochs }
        if let batchSize { s.batchSize = batchSize }
        if let learningRate { s.learningRate = learningRate }
        if let optimizer { s.optimizer = optimizer }
        if let schedule { s.schedule = schedule }
        if let seed { s.seed = seed }
        if let limit { s.limit = limit }
        return s
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
        let folder = try (resume ?? output).map { try RunFolder(path: $0, resuming: resume != nil) }
        let base = try (resume.map { RunFolder.configPath($0) } ?? config).map(TrainSettings.read) ?? TrainSettings()
        let settings = settings(base: base)
        do { try settings.validate() } catch let error as ValidationError { throw CLIError(message: error.message) }
        // Written before anything trains: an --output that cannot be written fails now.
        try folder?.write(settings)

        let variant = settings.dataset.variant
        var train = try MNIST.load(variant, split: .train)
        let test = try MNIST.load(variant, split: .test)
        if let limit = settings.limit, limit < train.count { train = train.subset(Array(0..<limit)) }
        print(
            "\(variant.rawValue): \(train.count) training and \(test.count) test images, \(train.classNames.count) classes"
        )
        Random.seed(settings.seed)
        guard let network = Zoo.model(named: settings.model.name, classes: train.classNames.count) else { return }
        network.classNames = train.classNames
        let steps = settings.epochs * ((train.count + settings.batchSize - 1) / settings.batchSize)
        network.compile(
            optimizer: settings.makeOptimizer(steps: steps), loss: SparseCategoricalCrossEntropy(),
            metrics: [.accuracy, .precision(.macro), .recall(.macro)])
        var initialEpoch = 0
        if let folder, resume != nil {
            let progress = try network.loadCheckpoint(from: folder.checkpoint)
            guard progress.seed == settings.seed else {
                throw CLIError(message: "\(folder.checkpoint): the checkpoint was trained with another seed")
            }
            initialEpoch = min(progress.epochs, settings.epochs)
            print("resuming \(folder.path) after epoch \(progress.epochs) of \(settings.epochs)")
        } else {
            print(network.summary())
        }
        var callbacks: [any Callback] = []
        if let folder {
            callbacks += [
                ModelCheckpoint(path: folder.checkpoint, monitor: "loss"),
                CSVLogger(path: folder.history, append: true),
            ]
        }
        if let stopAfterEpochs { callbacks.append(StopAfter(epochs: stopAfterEpochs)) }
        let start = Date()
        try network.fit(
            x: train.images, y: train.labels, batchSize: settings.batchSize, epochs: settings.epochs,
            validationData: (test.images, test.labels), callbacks: callbacks, seed: settings.seed,
            initialEpoch: initialEpoch)
        let seconds = Date().timeIntervalSince(start)
        let trained = (network.progress?.epochs ?? initialEpoch) - initialEpoch
        let result = try network.evaluate(x: test.images, y: test.labels, batchSize: settings.batchSize)
        print(
            String(
                format:
                    "test: loss %.4f - accuracy %.4f - precision %.4f - recall %.4f (%.0fs training, %.0f samples/s)",
                result["loss"] ?? .nan, result["accuracy"] ?? .nan, result["precision"] ?? .nan,
                result["recall"] ?? .nan, seconds, Double(train.count * trained) / max(seconds, 1e-9)))
        if let folder {
            try folder.finish(network, testMetrics: result)
            print("saved \(folder.model)")
        }
        if let minAccuracy, let accuracy = result["accuracy"], accuracy < minAccuracy {
            FileHandle.standardError.write(
                Data(
                    String(format: "error: test accuracy %.4f is below the required %.4f\n", accuracy, minAccuracy).utf8
                ))
            throw ExitCode(ExitStatus.belowMinimum)
        }
    }
}

/// Stops training once `epochs` epochs are complete, as an interruption would.
final class StopAfter: Callback {
    let epochs: Int
    init(epochs: Int) { self.epochs = epochs }
    func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {
        if epoch + 1 >= epochs { model.stopTraining = true }
    }
}

/// A run folder: settings, checkpoints, history, final metrics and model.
struct RunFolder {
    let path: String
    var checkpoint: String { "\(path)/checkpoint.nabla" }
    var history: String { "\(path)/history.csv" }
    var model: String { "\(path)/model.nabla" }
    static func configPath(_ folder: String) -> String { "\(folder)/config.json" }

    /// Checks the folder: a new run needs it absent or empty (and creates it); a resumed run needs
    /// its settings and checkpoint.
    init(path: String, resuming: Bool) throws {
        self.path = path
        let files = FileManager.default
        var isFolder: ObjCBool = false
        let exists = files.fileExists(atPath: path, isDirectory: &isFolder)
        if resuming {
            guard exists, isFolder.boolValue else { throw CLIError(message: "\(path): no such run folder") }
            for needed in [Self.configPath(path), checkpoint] where !files.fileExists(atPath: needed) {
                throw CLIError(message: "\(needed): missing, so the run cannot be resumed (no epoch finished yet?)")
            }
            return
        }
        if exists {
            guard isFolder.boolValue, (try? files.contentsOfDirectory(atPath: path))?.isEmpty == true else {
                throw CLIError(
                    message:
                        "\(path): already exists; choose another --output, or continue that run with --resume \(path)")
            }
        }
        do { try files.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw CLIError(message: "\(path): cannot create the run folder (\(error.localizedDescription))")
        }
    }

    func write(_ settings: TrainSettings) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try reportingErrors { try AtomicFile.write(try encoder.encode(settings), to: Self.configPath(path)) }
    }

    func finish(_ model: Model, testMetrics: [String: Double]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try reportingErrors {
            try AtomicFile.write(try encoder.encode(["test": testMetrics]), to: "\(path)/metrics.json")
            try model.save(to: self.model)
        }
    }
}
