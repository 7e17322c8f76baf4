import ArgumentParser
import Foundation
import Nabla
import NablaData
import NablaIO
import NablaNN

/// `nabla predict`: a saved model's top classes for images, IDX files and CSV files.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Print a saved model's most probable classes for images, folders of images, IDX and CSV files.",
        discussion: """
            Images (PNG, JPEG) are converted to the model's colour mode and size and given to it as \
            the model file's preprocessing says (raw 0–255 pixels unless the model was trained on \
            values prepared outside it). IDX files hold images [N, H, W]; CSV files are Kaggle \
            Digit Recognizer files (pixel0…, with or without a label column).

            --input takes a NumPy .npy array [N, ...] in the model's own input layout, given to \
            the model as it is; --save-output writes the model's raw outputs as .npy, to compare \
            with any other framework.

            \(ExitStatus.help)
            """)

    @Argument(help: "A .nabla or .onnx model file.")
    var model: String

    @Argument(help: "PNG or JPEG files, folders of them (searched recursively), IDX files, CSV files.")
    var inputs: [String] = []

    @Option(help: "A NumPy .npy array [N, ...] to run through the model as it is.")
    var input: String?

    @Option(name: .customLong("save-output"), help: "Write the model's raw outputs to this .npy file.")
    var saveOutput: String?

    @Option(name: .customLong("top-k"), help: "How many classes to print per example.")
    var topK = 3

    @Option(name: .customLong("batch-size"), help: "Examples per batch.")
    var batchSize = 128

    @Option(
        name: .customLong("kaggle-submission"),
        help: "Also write the predicted class of every example, in order, as a Kaggle submission (ImageId,Label).")
    var kaggleSubmission: String?

    @Option(help: "How to print the results.")
    var format: OutputFormat = .text

    func validate() throws {
        guard !inputs.isEmpty || input != nil else {
            throw ValidationError("give at least one input, or --input FILE.npy")
        }
        guard (1...1000).contains(topK) else { throw ValidationError("--top-k must be in 1...1000") }
        guard (1...65_536).contains(batchSize) else { throw ValidationError("--batch-size must be in 1...65536") }
    }

    struct Prediction: Encodable {
        struct Guess: Encodable {
            let index: Int
            let name: String
            let probability: Float
        }
        let input: String
        let top: [Guess]
    }

    func run() throws {
        let network = try loadModel(model)
        if let input {
            try runArray(network, input)
            if inputs.isEmpty { return }
        }
        guard let inputShape = network.inputShape, let classes = network.outputShape, classes.count == 1 else {
            throw CLIError(message: "\(model): the model does not output one score per class")
        }
        let reader = InputReader(shape: inputShape, spec: network.inputSpec, preprocessing: network.preprocessing)
        // One sigmoid output for two classes (trained with --binary): the second class's probability.
        let binary = classes == [1] && network.classNames?.count == 2
        let names = network.classNames ?? (0..<classes[0]).map(String.init)
        var all: [Prediction] = []
        var labels: [Int] = []
        var outputs: [Tensor] = []
        try reportingErrors {
            try reader.forEachGroup(inputs, batchSize: batchSize) { group in
                var scores = try network.predict(group.examples, batchSize: batchSize)
                if saveOutput != nil { outputs.append(scores) }
                if binary {
                    scores = concat([1 - scores, scores], axis: 1)
                } else if !network.endsInSoftmax {
                    scores = scores.softmax(axis: -1)
                }
                let values = scores.toArray()
                for (row, label) in group.labels.enumerated() {
                    let p = values[(row * names.count)..<((row + 1) * names.count)]
                    let order = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
                    let top = order.prefix(topK).map { i in
                        Prediction.Guess(index: i - p.startIndex, name: names[i - p.startIndex], probability: p[i])
                    }
                    labels.append(top[0].index)
                    let prediction = Prediction(input: label, top: top)
                    if format == .json {
                        all.append(prediction)
                    } else {
                        print(
                            "\(label): "
                                + top.map { "\($0.name) \(String(format: "%.4f", $0.probability))" }.joined(
                                    separator: ", "))
                    }
                }
            }
            if let kaggleSubmission { try KaggleCSV.writeSubmission(labels: labels, to: kaggleSubmission) }
            if let saveOutput, input == nil { try NPY.write(concat(outputs, axis: 0), to: saveOutput) }
        }
        if format == .json { try printJSON(all) }
        if let kaggleSubmission {
            FileHandle.standardError.write(Data("wrote \(labels.count) predictions to \(kaggleSubmission)\n".utf8))
        }
    }
}

extension PredictCommand {
    /// Runs a `.npy` array through the model as it is and prints (or saves) the outputs.
    func runArray(_ network: Model, _ path: String) throws {
        try reportingErrors {
            var x = try NPY.read(path)
            let shape = network.inputShape ?? []
            if Array(x.shape) == shape { x = x.unsqueezed(axis: 0) }
            guard x.rank >= 1, Array(x.shape.dropFirst()) == shape else {
                throw NablaError(
                    .invalidArgument,
                    "the array is \(x.shape); the model takes [N, \(shape.map(String.init).joined(separator: ", "))]",
                    path: path)
            }
            let wanted: DType = network.inputSpec?.dtype == "uint8" ? .uint8 : .float32
            if x.dtype != wanted { x = x.asType(wanted) }
            let y = try network.predict(x, batchSize: batchSize)
            if let saveOutput {
                try NPY.write(y, to: saveOutput)
                FileHandle.standardError.write(Data("wrote outputs \(y.shape) to \(saveOutput)\n".utf8))
            } else {
                print(y)
            }
        }
    }
}

/// Turns files into a model's input, as its file says: colour mode, size, dtype and scaling.
struct InputReader {
    let input: ImageInput

    init(shape: [Int], spec: InputSpec?, preprocessing: Preprocessing?) {
        input = ImageInput(shape: shape, spec: spec, preprocessing: preprocessing)
    }

    /// A batch of examples and the name of each (`file`, or `file[i]` inside IDX and CSV files).
    struct Group {
        var examples: Tensor
        var labels: [String]
    }

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Passes the inputs to `body` in order, image files gathered `batchSize` at a time, so only
    /// one group is in memory at once.
    func forEachGroup(_ inputs: [String], batchSize: Int, _ body: (Group) throws -> Void) throws {
        var pending: [String] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            let images = try pending.map { try image(InputFile.contents($0), path: $0) }
            try body(Group(examples: try prepared(stack(images)), labels: pending))
            pending = []
        }
        for input in inputs {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isFolder) else {
                throw NablaError(.notFound, "no such file or folder", path: input)
            }
            let ext = URL(fileURLWithPath: input).pathExtension.lowercased()
            if isFolder.boolValue {
                for file in try Self.images(in: input) {
                    pending.append(file)
                    if pending.count == batchSize { try flush() }
                }
            } else if Self.imageExtensions.contains(ext) {
                pending.append(input)
                if pending.count == batchSize { try flush() }
            } else {
                try flush()
                let images = try ext == "csv" ? KaggleCSV.read(input).images : idxImages(input)
                let count = images.shape[0]
                try body(Group(examples: try prepared(images), labels: (0..<count).map { "\(input)[\($0)]" }))
            }
        }
        try flush()
    }

    /// The image files under `folder`, sorted.
    static func images(in folder: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else {
            throw NablaError(.io, "cannot list the folder", path: folder)
        }
        var files: [String] = []
        while let next = walker.nextObject() as? String {
            if imageExtensions.contains(URL(fileURLWithPath: next).pathExtension.lowercased()) {
                files.append("\(folder)/\(next)")
            }
        }
        guard !files.isEmpty else { throw NablaError(.notFound, "the folder holds no PNG or JPEG file", path: folder) }
        return files.sorted()
    }

    /// Reads an IDX file of uint8 images `[N, H, W]` as `[N, H, W, 1]`.
    func idxImages(_ path: String) throws -> Tensor {
        let tensor = try IDXReader.read(path)
        guard tensor.dtype == .uint8, tensor.rank == 3 else {
            throw NablaError(
                .invalidArgument, "expected uint8 images [N, H, W], got \(tensor.dtype) \(tensor.shape)", path: path)
        }
        return tensor.unsqueezed(axis: 3)
    }

    func image(_ data: Data, path: String) throws -> Tensor { try input.image(data, path: path) }

    func prepared(_ raw: Tensor) throws -> Tensor { try input.prepared(raw) }
}
