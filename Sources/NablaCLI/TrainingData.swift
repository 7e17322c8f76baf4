import ArgumentParser
import Foundation
import Nabla
import NablaData
import NablaNN

/// What `--dataset` names: Fashion-MNIST or MNIST by name, or a path to a folder of class folders
/// of images, a Kaggle Digit Recognizer CSV, a table of features (CSV), a CIFAR binary file or
/// folder, or packed record shards.
struct TrainingData {
    /// Examples held as tensors (trained on directly) or read through a loader.
    enum Examples {
        case tensors(Tensor, Tensor)
        case dataset(any Dataset)

        /// The first `count` inputs, when they are images `[N, H, W, C]`.
        func samples(_ count: Int) -> Tensor? {
            switch self {
            case .tensors(let x, _):
                return x.rank == 4 ? x.slice(axis: 0, start: 0, end: min(count, x.shape[0])) : nil
            case .dataset(let d):
                guard d.count > 0, let images = try? d.batch(at: Array(0..<min(count, d.count))).images else {
                    return nil
                }
                return images.rank == 4 ? images : nil
            }
        }

        var count: Int {
            switch self {
            case .tensors(let x, _): x.shape[0]
            case .dataset(let d): d.count
            }
        }
    }

    var train: Examples
    /// The held-out examples, evaluated after every epoch and at the end.
    var validation: Examples?
    var classNames: [String]
    var inputShape: [Int]
    var description: String
    var isTabular = false
    /// What the held-out examples are called in output: `test` for a test split or `test/`
    /// folder, `validation` otherwise.
    var heldOutKind = "test"

    /// How images are read when the dataset is a folder: size and channels.
    struct ImageSettings {
        var height: Int, width: Int
        var channels: Int?
    }

    /// Opens `name`: the training split, and the held-out examples evaluated after every epoch.
    ///
    /// With `validationSplit`, that fraction of the training examples is held out (drawn with
    /// `seed`), as Keras's `validation_split` does, and a test split (of a named dataset, a CIFAR
    /// folder, or `test/` beside `train/`) is left untouched, for `nabla evaluate`. Without it,
    /// the held-out examples are that test split, or a `validation/` folder.
    ///
    /// - Throws: `ValidationError` (exit status 64) for `--validation-split` on a folder that has
    ///   its own `validation/` folder.
    static func open(
        _ name: String, images: ImageSettings, validationSplit: Double?, seed: UInt64, split: SplitName = .train
    ) throws -> TrainingData {
        var data: TrainingData
        if let known = DatasetName(rawValue: name) {
            let main = try MNIST.load(known.variant, split: split.split)
            data = TrainingData(
                train: .tensors(main.images, main.labels), validation: nil, classNames: main.classNames,
                inputShape: Array(main.images.shape.dropFirst()),
                description: "\(name): \(main.count) \(split == .test ? "test" : "training") images")
            if split == .train && !(validationSplit ?? 0 > 0) {
                let test = try MNIST.load(known.variant, split: .test)
                data.validation = .tensors(test.images, test.labels)
                data.description += " and \(test.count) test images"
            } else if split == .train {
                data.description += " (the test split is left for nabla evaluate)"
            }
        } else if let files = cifarFiles[name] {
            let folder = try DatasetDiscovery.locate(
                name, files: files,
                howToGet:
                    "Download \(name == "cifar10" ? "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" : "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz") and put the .bin files it holds into one of these folders."
            )
            data = try cifar(folder, names: files, split: split)
        } else {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: name, isDirectory: &isFolder) else {
                throw NablaError(
                    .notFound, "no such dataset: give fashion-mnist, mnist, or the path of a folder or file", path: name
                )
            }
            data = isFolder.boolValue ? try folder(name, images: images, split: split) : try file(name)
        }
        if let fraction = validationSplit, fraction > 0, split == .train {
            if data.validation != nil {
                guard data.heldOutKind == "test" else {
                    throw ValidationError(
                        "--validation-split: \(name) has its own validation folder; leave the option out to use it")
                }
                // Keras's validation_split: carved from the training examples; the test split stays unseen.
                data.validation = nil
                data.description += " (the test images are left for nabla evaluate)"
            }
            data.split(fraction, seed: seed)
        }
        return data
    }

    /// Holds out `fraction` of the training examples, by a seeded shuffle.
    mutating func split(_ fraction: Double, seed: UInt64) {
        let dataset: any Dataset
        switch train {
        case .dataset(let d): dataset = d
        case .tensors(let x, let y):
            let (kept, held) = SubsetDataset.splitIndices(count: x.shape[0], validationFraction: fraction, seed: seed)
            let keep = Tensor(kept.map(Int64.init)), out = Tensor(held.map(Int64.init))
            train = .tensors(x.gathered(keep), y.gathered(keep))
            validation = .tensors(x.gathered(out), y.gathered(out))
            heldOutKind = "validation"
            description += "; \(held.count) of them held out for validation"
            return
        }
        let (kept, held) = SubsetDataset.split(dataset, validationFraction: fraction, seed: seed)
        train = .dataset(kept)
        validation = .dataset(held)
        heldOutKind = "validation"
        description += "; \(held.count) held out for validation"
    }

    static func folder(_ root: String, images: ImageSettings, split: SplitName) throws -> TrainingData {
        let files = FileManager.default
        func isFolder(_ path: String) -> Bool {
            var flag: ObjCBool = false
            return files.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
        }
        // CIFAR binaries: data_batch_*.bin / test_batch.bin (10 classes) or train.bin / test.bin (100).
        let names = (try? files.contentsOfDirectory(atPath: root)) ?? []
        if names.contains("test_batch.bin") || names.contains("train.bin") {
            return try cifar(root, names: names, split: split)
        }
        let trainRoot = isFolder("\(root)/train") ? "\(root)/train" : root
        let heldRoot = ["validation", "val", "test"].map { "\(root)/\($0)" }.first(where: isFolder)
        // Without --color-mode, the images are read as the first one stores its colours.
        let channels =
            try images.channels
            ?? {
                let probe = try ImageFolder(root: trainRoot, size: (1, 1))
                guard let first = probe.files.first else {
                    throw NablaError(.notFound, "the folder holds no images", path: trainRoot)
                }
                return try ImageCodec.storedChannels(InputFile.contents(first), path: first)
            }()
        let size = (images.height, images.width)
        let trainFolder = try ImageFolder(
            root: split == .test ? heldRoot ?? trainRoot : trainRoot, size: size, channels: channels)
        let held = try heldRoot.map { try ImageFolder(root: $0, size: size, channels: channels) }
        if let held, held.classNames != trainFolder.classNames {
            throw NablaError(
                .invalidArgument,
                "its classes \(held.classNames) differ from the training classes \(trainFolder.classNames)",
                path: heldRoot)
        }
        var data = TrainingData(
            train: .dataset(trainFolder), validation: held.map { .dataset($0) }, classNames: trainFolder.classNames,
            inputShape: [size.0, size.1, channels],
            description:
                "\(root): \(trainFolder.count) images in \(trainFolder.classNames.count) classes\(held.map { ", \($0.count) held out in \(heldRoot ?? "")" } ?? ""), read at \(size.0)×\(size.1)×\(channels)"
        )
        if let heldRoot, !heldRoot.hasSuffix("/test") { data.heldOutKind = "validation" }
        return data
    }

    /// The CIFAR datasets found by name, and the files each needs.
    static let cifarFiles = [
        "cifar10": (1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"], "cifar100": ["train.bin", "test.bin"],
    ]

    static func cifar(_ root: String, names: [String], split: SplitName) throws -> TrainingData {
        let ten = names.contains("test_batch.bin")
        let variant: CIFARBinaryReader.Variant = ten ? .cifar10 : .cifar100(fine: true)
        let trainFiles = ten ? names.filter { $0.hasPrefix("data_batch_") }.sorted() : ["train.bin"]
        let testFiles = ten ? ["test_batch.bin"] : ["test.bin"]
        let (x, y) = try CIFARBinaryReader.read(
            (split == .test ? testFiles : trainFiles).map { "\(root)/\($0)" }, variant: variant)
        let (tx, ty) = try CIFARBinaryReader.read(testFiles.map { "\(root)/\($0)" }, variant: variant)
        let classes = ten ? CIFARBinaryReader.cifar10Classes : (0..<100).map { String($0) }
        return TrainingData(
            train: .tensors(x, y), validation: .tensors(tx, ty), classNames: classes, inputShape: [32, 32, 3],
            description: "\(root): CIFAR-\(ten ? 10 : 100), \(x.shape[0]) training and \(tx.shape[0]) test images")
    }

    static func file(_ path: String) throws -> TrainingData {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "csv":
            let head = try String(decoding: InputFile.contents(path).prefix(64), as: UTF8.self).lowercased()
            if head.hasPrefix("label,pixel") || head.hasPrefix("pixel0") || head.hasPrefix("\u{FEFF}label,pixel") {
                let (images, labels) = try KaggleCSV.read(path)
                guard let labels else {
                    throw NablaError(
                        .invalidArgument, "a Kaggle CSV without a label column cannot be trained on", path: path)
                }
                let classes = Int(labels.asType(.int64).toArray(Int64.self).max() ?? 0) + 1
                return TrainingData(
                    train: .tensors(images, labels), validation: nil, classNames: (0..<classes).map(String.init),
                    inputShape: Array(images.shape.dropFirst()),
                    description: "\(path): Kaggle CSV, \(images.shape[0]) labelled images")
            }
            let table = try TabularCSV.read(path)
            return TrainingData(
                train: .tensors(table.features, table.labels), validation: nil, classNames: table.classNames,
                inputShape: [table.features.shape[1]],
                description:
                    "\(path): a table of \(table.features.shape[0]) rows, features \(table.featureNames.joined(separator: ", ")), classes \(table.classNames.joined(separator: ", "))",
                isTabular: true)
        case "bin", "nblrec":
            // The readers `nabla data` opens these with.
            let opened = try DatasetSource.open(path)
            let first = try opened.dataset.batch(at: [0]).images
            let examples: Examples =
                (opened.dataset as? InMemoryDataset).map { .tensors($0.images, $0.labels) } ?? .dataset(opened.dataset)
            return TrainingData(
                train: examples, validation: nil, classNames: opened.classNames,
                inputShape: Array(first.shape.dropFirst()),
                description: "\(opened.description): \(opened.dataset.count) examples")
        default:
            throw NablaError(
                .invalidArgument,
                "not a dataset: expected fashion-mnist, mnist, an image folder, a CIFAR folder or .bin, a .csv or .nblrec shards",
                path: path)
        }
    }
}

extension TrainingData {
    /// What the held-out examples are called in output, `training` when there are none.
    var heldOutName: String { validation == nil ? "training" : heldOutKind }

    /// Turns class indices 0 / 1 into float32 targets `[N, 1]` (for one sigmoid output).
    mutating func binaryTargets() {
        func convert(_ examples: Examples) -> Examples {
            switch examples {
            case .tensors(let x, let y): .tensors(x, y.asType(.float32).reshaped([-1, 1]))
            case .dataset(let d): .dataset(BinaryLabels(base: d))
            }
        }
        train = convert(train)
        validation = validation.map(convert)
    }

    /// Keeps the first `count` training examples.
    mutating func limit(_ count: Int) {
        guard count < train.count else { return }
        switch train {
        case .tensors(let x, let y): train = .tensors(x.slice(axis: 0, end: count), y.slice(axis: 0, end: count))
        case .dataset(let d): train = .dataset(SubsetDataset(d, indices: Array(0..<count)))
        }
    }

    /// The examples as batches, in order.
    static func batches(_ examples: Examples, batchSize: Int) -> any BatchSource {
        switch examples {
        case .tensors(let x, let y): TensorBatches(inputs: x, targets: y, batchSize: batchSize)
        case .dataset(let d): DataLoader(d, batchSize: batchSize, shuffle: false)
        }
    }

    /// The held-out examples (or the training ones when there are none), in order.
    func heldOutOrTraining(batchSize: Int) -> any BatchSource {
        Self.batches(validation ?? train, batchSize: batchSize)
    }

    /// Trains `model` to epoch `epochs` from `initialEpoch`: on tensors directly, or through a
    /// data loader that applies the augmentations.
    func fit(
        _ model: Model, settings: TrainSettings, epochs: Int, initialEpoch: Int, callbacks: [any Callback]
    ) throws {
        let validationBatches = validation.map { Self.batches($0, batchSize: settings.batchSize) }
        if case .tensors(let x, let y) = train, settings.augment.isEmpty {
            try model.fit(
                x: x, y: y, batchSize: settings.batchSize, epochs: epochs,
                validationData: validation.flatMap { if case .tensors(let vx, let vy) = $0 { (vx, vy) } else { nil } },
                callbacks: callbacks, seed: settings.seed, initialEpoch: initialEpoch)
            return
        }
        guard !isTabular || settings.augment.isEmpty else {
            throw CLIError(message: "--augment applies to images, not to a table of features")
        }
        let dataset: any Dataset
        switch train {
        case .dataset(let d): dataset = d
        case .tensors(let x, let y):
            // Binary float targets go back to class indices for the dataset, and out again.
            let binary = y.dtype == .float32
            let images = try InMemoryDataset(
                images: x, labels: binary ? y.reshaped([-1]).asType(.int64) : y, classNames: classNames)
            dataset = binary ? BinaryLabels(base: images) : images
        }
        let (h, w) = (inputShape[0], inputShape[1])
        let transforms = settings.augment.map { $0.transform(height: h, width: w) }
        let loader = DataLoader(
            dataset, batchSize: settings.batchSize, shuffle: true, seed: settings.seed,
            transform: transforms.isEmpty ? nil : Compose(transforms))
        try model.fit(
            loader, epochs: epochs, initialEpoch: initialEpoch, validationData: validationBatches, callbacks: callbacks,
            seed: settings.seed)
    }
}

/// A dataset whose labels 0 / 1 come out as float32 `[N, 1]` targets.
struct BinaryLabels: Dataset {
    let base: any Dataset
    var count: Int { base.count }
    func batch(at indices: [Int]) throws -> Batch {
        var batch = try base.batch(at: indices)
        batch.labels = batch.labels.asType(.float32).reshaped([-1, 1])
        return batch
    }
}
