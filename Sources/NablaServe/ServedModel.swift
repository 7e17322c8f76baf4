import Foundation
import Nabla
import NablaIO
import NablaNN

/// A model as the server offers it: one input and one output tensor, named and typed as the
/// Open Inference Protocol describes them, run by its own `Batcher`.
public final class ServedModel: @unchecked Sendable {
    /// The name clients use in paths (`/v2/models/{name}`).
    public let name: String
    /// The only version served.
    public let version = "1"
    /// `nabla` for Nabla model files, `onnx` for imported ONNX graphs.
    public let platform: String
    /// The input's name, datatype (`FP32`, or `UINT8` for models that take raw pixels) and
    /// per-example shape.
    public let inputName = "input", inputDatatype: String, inputShape: [Int]
    /// The output's name and per-example shape (always `FP32`).
    public let outputName = "output", outputShape: [Int]
    /// Label of each output (a classifier's class names), when the model file has them.
    public let classNames: [String]?
    /// How the model turns a PNG or JPEG into its input, when it takes images.
    public let images: ImageInput?
    /// Whether the output already holds probabilities (the model ends in a softmax).
    public let outputsProbabilities: Bool
    public let policy: BatchingPolicy
    let metrics: ModelMetrics
    private let model: Model
    private let batcher: Batcher

    /// Values per example in the input and the output.
    public var inputValues: Int { inputShape.reduce(1, *) }
    public var outputValues: Int { outputShape.reduce(1, *) }
    /// The model as the protocol's parser and writer see it.
    package var signature: InferenceSignature {
        InferenceSignature(modelName: name, inputShape: inputShape, outputShape: outputShape, classNames: classNames)
    }

    /// Loads `path` (`.nabla` or `.onnx`) and runs it once on zeros at batch 1 and at a small
    /// batch, so the first requests do not pay for first-run work.
    public init(name: String, path: String, policy: BatchingPolicy) throws {
        let model = try Model.load(path)
        guard let input = model.inputShape, let output = model.outputShape else {
            throw NablaError(.invalidArgument, "the model has no input or output shape", path: path)
        }
        self.name = name
        self.model = model
        self.policy = policy
        platform = (path as NSString).pathExtension.lowercased() == "onnx" ? "onnx" : "nabla"
        inputShape = input
        outputShape = output
        inputDatatype = model.inputSpec?.dtype == "uint8" ? "UINT8" : "FP32"
        classNames = model.classNames?.count == output.reduce(1, *) ? model.classNames : nil
        images =
            input.count == 3
            ? ImageInput(
                shape: input, spec: model.inputSpec, preprocessing: model.preprocessing, maxPixels: 4096 * 4096) : nil
        outputsProbabilities = model.endsInSoftmax
        let metrics = ModelMetrics(name: name, version: "1")
        self.metrics = metrics
        model.isTraining = false
        let values = output.reduce(1, *)
        batcher = Batcher(
            policy: policy, exampleShape: input, outputValues: values, name: name,
            run: { x in try model.checkedCall(x).contiguous() },
            onRun: { metrics.recordExecution() })
        // Batch 1 and a small batch: a large model at its largest batch could take gigabytes.
        for rows in Set([1, min(policy.maxBatchSize, 8)]) {
            _ = try withoutGradients { try model.checkedCall(Tensor.zeros([rows] + input)).contiguous() }
        }
    }

    /// Runs `rows` examples (already checked against ``inputShape``) through the model, batched
    /// with other requests that wait.
    func infer(rows: Int, input: [Float]) async throws -> BatchResult {
        metrics.changePending(by: 1)
        defer { metrics.changePending(by: -1) }
        return try await batcher.submit(rows: rows, input: input)
    }

    /// Lets the requests already queued finish, then stops the model's thread.
    func stop() { batcher.stop() }

    /// The output as probabilities: a softmax over each row unless the model ends in one; a
    /// single sigmoid output naming two classes becomes `[1 − p, p]`.
    func probabilities(_ output: [Float], rows: Int) -> (values: [Float], classes: Int) {
        let width = outputValues
        if width == 1, model.classNames?.count == 2 { return (output.flatMap { [1 - $0, $0] }, 2) }
        if outputsProbabilities { return (output, width) }
        return (Tensor(output, shape: [rows, width]).softmax(axis: -1).toArray(Float.self), width)
    }

    /// Class names for the probabilities of ``probabilities(_:rows:)``.
    var labels: [String] {
        if let names = model.classNames, names.count == outputValues || (outputValues == 1 && names.count == 2) {
            return names
        }
        return (0..<outputValues).map(String.init)
    }
}
