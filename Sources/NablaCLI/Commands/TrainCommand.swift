import ArgumentParser
import Foundation
import Nabla
import NablaCUDA
import NablaData
import NablaDistributed
import NablaIO
import NablaModels
import NablaNN

/// What a training run is: the settings `config.json` holds in a run folder and `--config` replays.
struct TrainSettings: Codable, Equatable {
    var model = ZooModel.standard
    var dataset = DatasetName.fashionMNIST.rawValue
    var imageSize: [Int]?
    var colorMode: ColorMode?
    var validationSplit: Double?
    var augment: [AugmentName] = []
    /// Transfer learning: the trained model to start from, the layer its base ends at (frozen),
    /// and optionally where fine-tuning unfreezes it, at which rate and for how many epochs.
    var from: String?
    var freezeUntil: String?
    var fineTuneFrom: String?
    var fineTuneLearningRate: Float?
    var fineTuneEpochs: Int?
    /// Two classes through one sigmoid output and binary cross-entropy (Keras's dogs vs cats).
    var binary = false
    /// Under mpirun: batch-norm statistics over the global batch rather than each rank's share.
    var syncBatchNorm: Bool?

    /// The loss for these settings.
    var loss: any Loss { binary ? BinaryCrossEntropy() : SparseCategoricalCrossEntropy() }
    var epochs = 12
    var batchSize = 128
    var learningRate: Float = 1e-3
    var optimizer = OptimizerName.adam
    var schedule = ScheduleName.constant
    var seed: UInt64 = 42
    var limit: Int?

    /// The largest count an option or a settings file may give (epochs, batch size, limit).
    ///
    /// It is far beyond any real run, and small enough that the products of counts cannot overflow.
    static let maxCount = 1 << 40

    /// Checks the values, which may come from a file.
    func validate() throws {
        guard epochs > 0, batchSize > 0, learningRate > 0, learningRate.isFinite else {
            throw ValidationError("epochs, batch size and learning rate must be positive")
        }
        let counts = [
            ("--epochs", epochs), ("--batch-size", batchSize), ("--limit", limit ?? 1),
            ("--fine-tune-epochs", fineTuneEpochs ?? 1),
        ]
        for (option, value) in counts where value > Self.maxCount {
            throw ValidationError("\(option) \(value) is above the largest count, 2^40")
        }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive, got \(limit)") }
        if let imageSize, imageSize.count != 2 || !imageSize.allSatisfy({ (1...4096).contains($0) }) {
            throw ValidationError("--image-size must be HxW with sides in 1...4096")
        }
        if let validationSplit, !(0..<1).contains(validationSplit) {
            throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)")
        }
        if (freezeUntil != nil || fineTuneFrom != nil) && from == nil {
            throw ValidationError("--freeze-until and --fine-tune-from need --from MODEL")
        }
        if from != nil && freezeUntil == nil {
            throw ValidationError("--from needs --freeze-until LAYER (where its base ends)")
        }
        if let rate = fineTuneLearningRate, !(rate > 0 && rate.isFinite) {
            throw ValidationError("--fine-tune-learning-rate must be positive")
        }
        if let fineTuneEpochs, fineTuneEpochs <= 0 { throw ValidationError("--fine-tune-epochs must be positive") }
        // Options that only a folder of images reads are refused elsewhere, not ignored.
        let fixedSize =
            DatasetName(rawValue: dataset) != nil || TrainingData.cifarFiles[dataset] != nil
            || ["csv", "bin", "nblrec"].contains(URL(fileURLWithPath: dataset).pathExtension.lowercased())
        if fixedSize && (imageSize != nil || colorMode != nil) {
            throw ValidationError(
                "--image-size and --color-mode apply to a folder of images; \(dataset) has images of one size and colour"
            )
        }
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

/// `nabla train`: trains a zoo model (or a trained model's base with a new head) on a named dataset or
/// your own data, and prints the held-out metrics.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on Fashion-MNIST, MNIST or your own data, then report its held-out metrics.",
        discussion: """
            With no options: the Keras mnist_cnn on Fashion-MNIST, Adam 1e-3, batch 128, 12 epochs.

            --output DIR makes a run folder: config.json (the settings, for --config), \
            checkpoint.nabla after every epoch, history.csv, metrics.json and the trained model.nabla. \
            --resume DIR continues a stopped run from its last checkpoint, bit for bit.

            \(ExitStatus.help)
            """)

    @Option(
        help: ArgumentHelp("The model (default: mnist-cnn); parameters at its default input: \(ZooModel.catalogue)."))
    var model: ZooModel?

    @Option(
        help:
            "fashion-mnist, mnist, cifar10, cifar100 (found in $NABLA_DATA/NAME, ~/.nabla/datasets/NAME or /usr/share/datasets/NAME), or a path: a folder of class folders of images (optionally train/ with validation/ or test/), a CIFAR-10/100 binary folder or .bin, a Kaggle digits .csv, a table of features .csv, .nblrec shards (default: fashion-mnist)."
    )
    var dataset: String?

    @Option(name: .customLong("image-size"), help: "Read images at HxW (default: the model's input size).")
    var imageSize: ImageSize?

    @Option(name: .customLong("color-mode"), help: "Read images grey or in colour (default: as the images are).")
    var colorMode: ColorMode?

    @Option(
        name: .customLong("validation-split"),
        help: "Hold out this fraction of the training examples for validation when the dataset has no held-out split.")
    var validationSplit: Double?

    @Option(
        help:
            "Augment the training images, comma-separated: \(AugmentName.allCases.map(\.rawValue).joined(separator: ", "))."
    )
    var augment: AugmentList?

    @Option(help: "Start from this trained .nabla model (transfer learning): its base is kept, a new head added.")
    var from: String?

    @Option(name: .customLong("freeze-until"), help: "With --from: the layer the frozen base ends at (inclusive).")
    var freezeUntil: String?

    @Option(
        name: .customLong("fine-tune-from"),
        help: "With --from: after training the head, unfreeze the base from this layer on and fine-tune.")
    var fineTuneFrom: String?

    @Option(
        name: .customLong("fine-tune-learning-rate"), help: "The learning rate of fine-tuning (default: rate / 10).")
    var fineTuneLearningRate: Float?

    @Option(name: .customLong("fine-tune-epochs"), help: "Epochs of fine-tuning (default: --epochs).")
    var fineTuneEpochs: Int?

    @Flag(help: "A two-class dataset: one sigmoid output trained with binary cross-entropy.")
    var binary = false

    @Flag(
        name: .customLong("sync-batch-norm"),
        help: "Under mpirun: batch-norm statistics over the whole batch of every rank, not each rank's share.")
    var syncBatchNorm = false

    @Option(help: "Train until this many passes over the training set (default: 12).")
    var epochs: Int?

    @Option(name: .customLong("batch-size"), help: "Examples per mini-batch (default: 128).")
    var batchSize: Int?

    @Option(
        name: .customLong("learning-rate"),
        help: "The optimizer's learning rate (default: 0.001), or auto: the learning-rate finder's suggestion.")
    var learningRate: LearningRateChoice?

    @Flag(name: .customLong("lr-find-only"), help: .hidden)
    var findOnly = false

    @Option(help: "The optimizer (default: adam).")
    var optimizer: OptimizerName?

    @Option(help: "The learning-rate schedule; cosine decays to 0 over the whole run (default: constant).")
    var schedule: ScheduleName?

    @Option(help: "The random seed: weights, shuffling, dropout, augmentation (default: 42).")
    var seed: UInt64?

    @Option(
        help:
            "Train on cpu or cuda, or auto. Training runs on the CPU today: this build has no CUDA kernels yet, so cuda is an error (naming the GPUs and driver it finds) and auto trains on the CPU and says why."
    )
    var device: CUDADriver.Request = .auto

    @Option(name: .customLong("limit"), help: "Use only the first N training examples (for quick runs).")
    var limit: Int?

    @Option(help: "Settings from a run folder's config.json (options given here override them).")
    var config: String?

    @Option(help: "Write a run folder here; it must not exist yet (or be empty).")
    var output: String?

    @Flag(
        help:
            "Also write TensorBoard event files into the run folder (its train/ and validation/): tensorboard --logdir FOLDER."
    )
    var tensorboard = false

    @Option(help: "Continue the stopped run in this run folder from its last checkpoint.")
    var resume: String?

    @Option(
        name: .customLong("stop-after-epochs"),
        help: "Stop after this many epochs in all, as if interrupted (continue with --resume).")
    var stopAfterEpochs: Int?

    @Option(
        name: .customLong("min-accuracy"),
        help: "Exit with status 2 unless the held-out accuracy (test or validation, as printed) reaches this fraction.")
    var minAccuracy: Double?

    func validate() throws {
        if resume != nil && (output != nil || config != nil) {
            throw ValidationError("--resume continues a run folder; it takes neither --output nor --config")
        }
        if let stopAfterEpochs, stopAfterEpochs <= 0 || stopAfterEpochs > TrainSettings.maxCount {
            throw ValidationError("--stop-after-epochs must be in 1...2^40, got \(stopAfterEpochs)")
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
        if let imageSize { s.imageSize = [imageSize.height, imageSize.width] }
        if let colorMode { s.colorMode = colorMode }
        if let validationSplit { s.validationSplit = validationSplit }
        if let augment { s.augment = augment.items }
        if let from { s.from = from }
        if let freezeUntil { s.freezeUntil = freezeUntil }
        if let fineTuneFrom { s.fineTuneFrom = fineTuneFrom }
        if let fineTuneLearningRate { s.fineTuneLearningRate = fineTuneLearningRate }
        if let fineTuneEpochs { s.fineTuneEpochs = fineTuneEpochs }
        if binary { s.binary = true }
        if syncBatchNorm { s.syncBatchNorm = true }
        if let epochs { s.epochs = epochs }
        if let batchSize { s.batchSize = batchSize }
        if case .rate(let rate) = learningRate { s.learningRate = rate }
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
        guard let parallel = try reportingErrors({ try DataParallel.fromLauncher() }) else {
            return try train(parallel: nil)
        }
        // Under mpirun only rank 0 prints and writes; the others' standard output goes nowhere.
        if !parallel.isMain {
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 { _ = dup2(null, STDOUT_FILENO) }
        }
        do {
            try train(parallel: parallel)
            try parallel.finish()
        } catch let exit as ExitCode {
            try? parallel.finish()
            throw exit
        } catch {
            // The other ranks would wait for this one in their next all-reduce: stop them all.
            FileHandle.standardError.write(
                Data("error: rank \(parallel.rank) of \(parallel.size): \(error); stopping every rank\n".utf8))
            parallel.abort(code: 1)
        }
    }

    func train(parallel: DataParallel?) throws {
        let isMain = parallel?.isMain ?? true
        // Until the CUDA kernels land, every choice that succeeds is the CPU.
        let (_, note) = try reportingErrors { try CUDADriver.choose(device) }
        if device != .cpu { print(note) }
        // Every rank reads a resumed run's folder; only rank 0 creates and writes one.
        let opened = try (resume ?? output).flatMap { path in
            isMain || resume != nil ? try RunFolder(path: path, resuming: resume != nil) : nil
        }
        let folder = isMain ? opened : nil
        let stored = try (resume.map { RunFolder.configPath($0) } ?? config).map(TrainSettings.read) ?? TrainSettings()
        var settings = settings(base: stored)
        do { try settings.validate() } catch let error as ValidationError { throw CLIError(message: error.message) }
        // Written before anything trains: an --output that cannot be written fails now.
        try folder?.write(settings)

        let entry = Zoo.entry(named: settings.model.name)
        let base = try settings.from.map { try loadModel($0) }
        let modelInput = base?.inputShape ?? entry?.defaultInput ?? [28, 28, 1]
        let side = settings.imageSize ?? (modelInput.count == 3 ? Array(modelInput.prefix(2)) : [64, 64])
        let images = TrainingData.ImageSettings(
            height: side[0], width: side[1],
            channels: settings.colorMode.map { $0 == .grayscale ? 1 : 3 } ?? (base != nil ? modelInput.last : nil))
        var data = try TrainingData.open(
            settings.dataset, images: images, validationSplit: settings.validationSplit, seed: settings.seed)
        if let limit = settings.limit { data.limit(limit) }
        print(data.description)
        Random.seed(settings.seed)
        if settings.binary && data.classNames.count != 2 {
            throw CLIError(
                message: "--binary needs a dataset of two classes; \(settings.dataset) has \(data.classNames.count)")
        }
        if settings.binary { data.binaryTargets() }
        let network = try makeModel(settings, data: data, base: base)
        network.classNames = data.classNames
        if settings.syncBatchNorm == true {
            let layers = network.layers(of: BatchNormalization.self)
            if layers.isEmpty {
                throw CLIError(message: "--sync-batch-norm: \(network.name) has no batch normalisation")
            }
            for layer in layers { layer.synchronized = true }
        }
        let batches = (data.train.count + settings.batchSize - 1) / settings.batchSize
        network.compile(
            optimizer: settings.makeOptimizer(steps: settings.epochs * batches), loss: settings.loss,
            metrics: [.accuracy, .precision(.macro), .recall(.macro)])
        if resume == nil, findOnly || learningRate == .auto {
            let rate = try findLearningRate(network, data: data, settings: settings, folder: folder)
            if findOnly { return }
            settings.learningRate = rate
            try folder?.write(settings)
            network.compile(
                optimizer: settings.makeOptimizer(steps: settings.epochs * batches), loss: settings.loss,
                metrics: network.metrics)
        }
        var initialEpoch = 0
        if let opened, resume != nil {
            let progress = try network.loadCheckpoint(from: opened.checkpoint)
            guard progress.seed == settings.seed else {
                throw CLIError(message: "\(opened.checkpoint): the checkpoint was trained with another seed")
            }
            initialEpoch = min(progress.epochs, settings.epochs)
            print("resuming \(opened.path) after epoch \(progress.epochs) of \(settings.epochs)")
        } else {
            print(network.summary())
        }
        var callbacks: [any Callback] = []
        if let folder {
            callbacks += [
                ModelCheckpoint(path: folder.checkpoint, monitor: "loss"),
                CSVLogger(path: folder.history, append: true),
                LiveReport(folder: folder.path),
            ]
        }
        var board: TensorBoardCallback?
        if tensorboard, isMain {
            guard let folder else { throw CLIError(message: "--tensorboard writes into the run folder: give --output") }
            board = TensorBoardCallback(logDirectory: folder.path, sampleImages: data.train.samples(16))
            callbacks += board.map { [$0] } ?? []
        }
        if let stopAfterEpochs { callbacks.append(StopAfter(epochs: stopAfterEpochs)) }
        if let parallel {
            try parallel.prepare(network)
            print("data-parallel training on \(parallel.size) processes (MPI: \(parallel.library))")
        }
        let start = Date()
        try data.fit(
            network, settings: settings, epochs: settings.epochs, initialEpoch: initialEpoch, callbacks: callbacks)
        if let layer = settings.fineTuneFrom, !network.stopTraining {
            try network.unfreeze(from: layer)
            let rate = settings.fineTuneLearningRate ?? settings.learningRate / 10
            var tuning = settings
            tuning.learningRate = rate
            let more = settings.fineTuneEpochs ?? settings.epochs
            network.compile(
                optimizer: tuning.makeOptimizer(steps: more * batches), loss: settings.loss,
                metrics: network.metrics)
            // The weights are still identical on every rank: the new optimizer only needs the averaging.
            if let parallel, let optimizer = network.optimizer { parallel.install(on: optimizer) }
            print("fine-tuning from '\(layer)' at learning rate \(rate) for \(more) epochs")
            try data.fit(
                network, settings: settings, epochs: settings.epochs + more, initialEpoch: settings.epochs,
                callbacks: callbacks)
        }
        let seconds = Date().timeIntervalSince(start)
        if let parallel {
            let identical = try parallel.parametersAreIdentical(in: network)
            let perStep = 1000 * parallel.communicationSeconds / Double(max(parallel.steps, 1))
            let share = 100 * parallel.communicationSeconds / max(seconds, 1e-9)
            print(
                String(
                    format:
                        "data-parallel: %d processes; averaging gradients took %.2f ms per step (%.1f%% of training time)",
                    parallel.size, perStep, share)
                    + "; parameters bit-identical on every rank: \(identical ? "yes" : "NO")")
        }
        if let epochs = network.progress?.history.epochs, epochs.count >= 2 { print(TextPlot.history(epochs)) }
        let trained = (network.progress?.epochs ?? initialEpoch) - initialEpoch
        let result = try network.evaluate(data.heldOutOrTraining(batchSize: settings.batchSize))
        print(
            String(
                format:
                    "\(data.heldOutName): loss %.4f - accuracy %.4f - precision %.4f - recall %.4f (%.0fs training, %.0f samples/s)",
                result["loss"] ?? .nan, result["accuracy"] ?? .nan, result["precision"] ?? .nan,
                result["recall"] ?? .nan, seconds, Double(data.train.count * trained) / max(seconds, 1e-9)))
        if let folder {
            try folder.finish(network, metrics: [data.heldOutName: result])
            print("saved \(folder.model)")
            let held = data.heldOutOrTraining(batchSize: settings.batchSize)
            let (evaluation, misclassified) = try RunLogs.evaluate(
                network, held, classNames: network.classNames ?? data.classNames, data: data.heldOutName)
            if let board, let misclassified {
                try reportingErrors {
                    try board.logImages(
                        "misclassified", misclassified, step: max(0, (network.progress?.epochs ?? 1) - 1))
                }
            }
            try reportingErrors {
                if let evaluation {
                    try AtomicFile.write(
                        try JSONEncoder.report.encode(evaluation), to: "\(folder.path)/evaluation.json")
                }
                try AtomicFile.write(Data(network.summary().utf8), to: "\(folder.path)/summary.txt")
                let timings = [
                    "seconds": seconds, "samples_per_second": Double(data.train.count * trained) / max(seconds, 1e-9),
                ]
                try AtomicFile.write(try JSONEncoder.report.encode(timings), to: "\(folder.path)/timings.json")
                try TrainingReport.write([try RunLogs.read(folder.path)], to: "\(folder.path)/report.html")
            }
            print("wrote \(folder.path)/report.html")
        }
        if let minAccuracy, let accuracy = result["accuracy"], accuracy < minAccuracy {
            FileHandle.standardError.write(
                Data(
                    String(
                        format: "error: \(data.heldOutName) accuracy %.4f is below the required %.4f\n", accuracy,
                        minAccuracy
                    ).utf8
                ))
            throw ExitCode(ExitStatus.belowMinimum)
        }
    }
}

extension TrainCommand {
    /// Runs the learning-rate finder on the training data, prints its curve and suggestion, and
    /// writes `lr-find.json` and `lr-find.png` into the run folder.
    func findLearningRate(
        _ network: Model, data: TrainingData, settings: TrainSettings, folder: RunFolder?
    ) throws
        -> Float
    {
        let search = try network.findLearningRate(
            TrainingData.batches(data.train, batchSize: settings.batchSize), from: 1e-6, to: 1, steps: 100,
            seed: settings.seed)
        print(
            TextPlot.render(
                "learning-rate finder: loss by learning rate (log scale)",
                [TextPlot.Series(label: "smoothed loss", values: search.smoothed, mark: "*")],
                x: search.rates.map(Double.init), logX: true))
        print(
            "learning-rate finder: \(search.rates.count) steps, lowest loss at \(search.minimumRate), steepest fall at \(search.steepestRate), suggested learning rate \(search.suggestion)"
        )
        if let folder {
            try AtomicFile.write(try jsonEncoder().encode(search), to: folder.path + "/lr-find.json")
            try AtomicFile.write(try Self.plot(search).png(), to: folder.path + "/lr-find.png")
        }
        return search.suggestion
    }
}

/// A learning rate, or `auto` for the learning-rate finder's suggestion.
enum LearningRateChoice: ExpressibleByArgument, Equatable {
    case rate(Float)
    case auto

    init?(argument: String) {
        if argument == "auto" {
            self = .auto
        } else if let rate = Float(argument), rate > 0, rate.isFinite {
            self = .rate(rate)
        } else {
            return nil
        }
    }
}

/// `nabla lr-find`: the learning-rate finder alone, with `nabla train`'s options.
struct LRFindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lr-find",
        abstract:
            "Sweep the learning rate over 100 steps, plot the loss and suggest a rate (takes nabla train's options).",
        discussion: """
            The model, data and optimizer are nabla train's (see nabla train --help); the sweep \
            raises the rate exponentially from 1e-6 to 1 over at most 100 steps and stops when the \
            smoothed loss passes four times its minimum (Smith's range test). It suggests the \
            geometric mean of the rate where the smoothed loss falls fastest and a tenth of the rate \
            where it is lowest, or that tenth alone when the fastest fall comes after it. With \
            --output the curve is saved as lr-find.json and lr-find.png. nabla train --learning-rate \
            auto runs it first and trains with its suggestion.
            """)

    @Argument(parsing: .captureForPassthrough, help: "nabla train's options.")
    var arguments: [String] = []

    func run() throws {
        // The passthrough captures --help too: it asks for this command's help, not train's.
        if arguments.contains("--help") || arguments.contains("-h") { throw CleanExit.helpRequest(self) }
        let train = try TrainCommand.parse(arguments + ["--lr-find-only"])
        try train.run()
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
        let encoder = jsonEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try reportingErrors { try AtomicFile.write(try encoder.encode(settings), to: Self.configPath(path)) }
    }

    func finish(_ model: Model, metrics: [String: [String: Double]]) throws {
        try reportingErrors {
            try AtomicFile.write(try jsonEncoder().encode(metrics), to: "\(path)/metrics.json")
            try model.save(to: self.model)
        }
    }
}

extension TrainCommand {
    /// One sigmoid unit, the head of a two-class model trained with `--binary`.
    static func sigmoidHead() -> [Layer] { [Dense(units: 1, activation: .sigmoid, name: "head")] }

    /// The network to train: a zoo model for the data, or a trained model's base with a new head.
    func makeModel(_ settings: TrainSettings, data: TrainingData, base: Model?) throws -> Sequential {
        if let base, let cut = settings.freezeUntil {
            guard let stack = base as? Sequential else {
                throw CLIError(message: "\(settings.from ?? ""): transfer learning needs a Sequential model")
            }
            guard stack.inputShape == data.inputShape else {
                throw CLIError(
                    message:
                        "\(settings.from ?? ""): the model takes \(stack.inputShape ?? []) but the data is \(data.inputShape); use --image-size and --color-mode"
                )
            }
            let model = try reportingErrors {
                try stack.transferred(
                    through: cut, classes: data.classNames.count, head: settings.binary ? Self.sigmoidHead() : nil)
            }
            print(
                "transferring \(settings.from ?? ""): layers up to '\(cut)' frozen, a new head for \(data.classNames.count) classes"
            )
            return model
        }
        guard let entry = Zoo.entry(named: settings.model.name) else { throw CLIError(message: "unknown model") }
        var model = try reportingErrors { try entry.built(inputShape: data.inputShape, classes: data.classNames.count) }
        if settings.binary, model.layers.count >= 2 {
            // The zoo's softmax head becomes one sigmoid unit.
            let below = model.layers[model.layers.count - 2].name
            model = try reportingErrors {
                try model.transferred(through: below, classes: 1, head: Self.sigmoidHead(), freezing: false)
            }
        }
        if data.isTabular, let normalization = model.layers.first as? Normalization,
            case .tensors(let x, _) = data.train
        {
            normalization.adapt(x)
        }
        return model
    }

    /// The finder's curve as a picture: each step's loss, the smoothed loss, and the suggestion.
    static func plot(_ search: LearningRateSearch) -> RasterPlot {
        var plot = RasterPlot(
            title: "learning-rate finder", xLabel: "learning rate", yLabel: "loss", x: search.rates.map(Double.init),
            logX: true,
            series: [
                .init(search.losses, color: (170, 190, 230)), .init(search.smoothed, color: (31, 90, 180)),
            ])
        // From the lowest smoothed loss to a little above the first: the divergence at the end is clipped.
        let low = search.smoothed.filter(\.isFinite).min() ?? 0
        plot.yRange = 0.9 * low...max(1.15 * (search.smoothed.first ?? 1), low + 1e-6)
        plot.marks = [(Double(search.suggestion), String(format: "suggested %.2e", search.suggestion))]
        return plot
    }
}
