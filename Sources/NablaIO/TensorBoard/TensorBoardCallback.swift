import Foundation
import Nabla
import NablaData
import NablaNN

/// Logs a training run for TensorBoard, as Keras's `TensorBoard` callback lays it out: under
/// `logDirectory/train` the batch loss and metrics every `updateEvery` batches (`batch_loss`…),
/// each epoch's (`epoch_loss`, `epoch_accuracy`, `epoch_learning_rate`…), histograms of every weight
/// and of its last gradient, sample inputs and the model summary; under
/// `logDirectory/validation` the validation loss and metrics with the same tags, so TensorBoard
/// draws training and validation on the same charts.
public final class TensorBoardCallback: Callback {
    public let logDirectory: String
    /// How often batch values are logged, in batches.
    public let updateEvery: Int
    /// Whether weights and gradients are logged as histograms each epoch.
    public let histograms: Bool
    /// Examples `[N, H, W, C]` (0–255) shown as one image when training begins.
    public let sampleImages: Tensor?
    private var train: EventFileWriter?
    private var validation: EventFileWriter?
    private var step = 0
    private let recorder = GradientRecorder()

    public var wantsBatchLogs: Bool { true }

    public init(logDirectory: String, updateEvery: Int = 50, histograms: Bool = true, sampleImages: Tensor? = nil) {
        precondition(updateEvery >= 1, "TensorBoardCallback: updateEvery must be at least 1")
        (self.logDirectory, self.updateEvery, self.histograms, self.sampleImages) =
            (logDirectory, updateEvery, histograms, sampleImages)
    }

    public func onTrainBegin(model: Model) throws {
        let train = try EventFileWriter(logDirectory: logDirectory + "/train")
        self.train = train
        validation = try EventFileWriter(logDirectory: logDirectory + "/validation")
        step = model.optimizer?.state.iterations ?? 0
        if histograms, let optimizer = model.optimizer { optimizer.gradientHooks.append(recorder) }
        try train.text("model_summary", "```\n" + model.summary() + "\n```", step: 0)
        if let sampleImages { try logImages("sample_inputs", sampleImages, step: 0) }
    }

    public func onTrainEnd(model: Model) throws {
        if let optimizer = model.optimizer {
            optimizer.gradientHooks.removeAll { $0 as? GradientRecorder === recorder }
        }
    }

    public func onBatchEnd(_ batch: Int, logs: [String: Double], model: Model) throws {
        step += 1
        guard let train, step % updateEvery == 0 else { return }
        for (name, value) in logs.sorted(by: { $0.key < $1.key }) {
            try train.scalar("batch_" + name, value, step: step)
        }
    }

    public func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {
        guard let train, let validation else { return }
        for (name, value) in logs.sorted(by: { $0.key < $1.key }) {
            if name.hasPrefix("val_") {
                try validation.scalar("epoch_" + name.dropFirst(4), value, step: epoch)
            } else {
                try train.scalar("epoch_" + name, value, step: epoch)
            }
        }
        guard histograms else { return }
        let gradients = recorder.latest()
        for (name, parameter) in model.parameters() {
            try train.histogram(name + "/histogram", parameter.value.toArray(Float.self), step: epoch)
            if let gradient = gradients[ObjectIdentifier(parameter)] {
                try train.histogram(name + "/gradient", gradient.toArray(Float.self), step: epoch)
            }
        }
    }

    /// Adds images `[N, H, W, C]` (0–255, 1 or 3 channels) as one grid under `tag` in `train/`:
    /// after training, for example, the misclassified examples.
    public func logImages(_ tag: String, _ images: Tensor, step: Int) throws {
        guard let train, images.rank == 4, images.shape[0] > 0, [1, 3].contains(images.shape[3]) else { return }
        let grid = Self.grid(images.asType(.float32).clamp(min: 0, max: 255).asType(.uint8))
        try train.image(
            tag, encoded: try ImageCodec.encodePNG(grid), height: grid.shape[0], width: grid.shape[1],
            channels: grid.shape[2], step: step)
    }

    /// Keeps the gradients of the last step (references only: nothing is copied).
    final class GradientRecorder: GradientHook, @unchecked Sendable {
        private let lock = NSLock()
        private var gradients: [ObjectIdentifier: Tensor] = [:]

        func process(_ gradients: [Tensor], of parameters: [Parameter]) throws -> [Tensor] {
            lock.lock()
            defer { lock.unlock() }
            for (gradient, parameter) in zip(gradients, parameters) {
                self.gradients[ObjectIdentifier(parameter)] = gradient
            }
            return gradients
        }

        func latest() -> [ObjectIdentifier: Tensor] {
            lock.lock()
            defer { lock.unlock() }
            return gradients
        }
    }

    /// Up to 64 images `[N, H, W, C]` side by side, 8 to a row, as one `[H', W', C]` image.
    static func grid(_ images: Tensor) -> Tensor {
        let n = min(images.shape[0], 64), (h, w, c) = (images.shape[1], images.shape[2], images.shape[3])
        let columns = min(n, 8), rows = (n + columns - 1) / columns
        let pixels = images.toArray(UInt8.self)
        var out = [UInt8](repeating: 0, count: rows * h * columns * w * c)
        for i in 0..<n {
            let (r, col) = (i / columns, i % columns)
            for y in 0..<h {
                let source = ((i * h + y) * w) * c
                let target = ((r * h + y) * columns * w + col * w) * c
                out.replaceSubrange(target..<(target + w * c), with: pixels[source..<(source + w * c)])
            }
        }
        return Tensor(out, shape: [rows * h, columns * w, c])
    }
}
