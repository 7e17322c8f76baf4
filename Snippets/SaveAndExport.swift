// Saving a model and exchanging it: the .nabla file keeps architecture, weights, class names and
// preprocessing, so it loads with no code; ONNX carries it to other frameworks (ONNX Runtime,
// PyTorch, TensorRT) and back. Both round trips are checked on real test images.
// Run in release: swift run -c release SaveAndExport [training images]
import Foundation
import Nabla
import NablaData
import NablaIO
import NablaModels
import NablaNN

#if DEBUG
    print("warning: this is a debug build; training runs orders of magnitude slower (swift run -c release …)")
#endif
let n = CommandLine.arguments.dropFirst().compactMap { Int($0) }.first ?? 6000
let train = try MNIST.load(.fashion, split: .train), test = try MNIST.load(.fashion, split: .test)
Random.seed(42)
let model = mnistCNN()
model.classNames = train.classNames
model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
try model.fit(
    x: train.images.slice(axis: 0, end: n), y: train.labels.slice(axis: 0, end: n), batchSize: 128, epochs: 1,
    verbose: .silent, seed: 42)

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-save-\(getpid())").path
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }
let images = test.images.slice(axis: 0, end: 256)
let expected = try model.predict(images)

// The native file: written atomically, read back bit for bit.
try model.save(to: folder + "/fashion.nabla")
let loaded = try Model.load(folder + "/fashion.nabla")
let same = try loaded.predict(images).toArray(Float.self) == expected.toArray(Float.self)
print(
    "fashion.nabla: \(loaded.parameterCounts.trainable) parameters, classes \(loaded.classNames ?? []), same outputs: \(same)"
)

// ONNX: the exported graph takes the same raw 0–255 images; imported back, it runs on our kernels.
try ONNXExport.write(model, to: folder + "/fashion.onnx")
let onnx = try ONNXImport.load(folder + "/fashion.onnx")
let difference = (try onnx.predict(images) - expected).abs().max().item()
print(String(format: "fashion.onnx: largest difference from the original %.2e", difference))

// Predictions are probabilities; argmax gives the class.
let predicted = expected.argmax(axis: 1).toArray(Int64.self).prefix(5).map { test.classNames[Int($0)] }
print("first five test images:", predicted)
if !same || difference > 1e-4 { fatalError("a round trip changed the model's outputs") }
