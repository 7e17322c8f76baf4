// Trains the Keras mnist_cnn on Fashion-MNIST, Keras style: build, compile, fit, evaluate.
// Run in release: swift run -c release TrainFashionMNIST [epochs] [training images]
import Foundation
import Nabla
import NablaData
import NablaNN

#if DEBUG
    print("warning: this is a debug build; training runs orders of magnitude slower (swift run -c release …)")
#endif
let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let epochs = arguments.first ?? 1
var train = try MNIST.load(.fashion, split: .train)
let test = try MNIST.load(.fashion, split: .test)
if arguments.count > 1 {  // a smaller run: the first N training images
    let n = min(arguments[1], train.count)
    (train.images, train.labels) = (train.images.slice(axis: 0, end: n), train.labels.slice(axis: 0, end: n))
}

Random.seed(42)
let model = Sequential(inputShape: [28, 28, 1]) {
    Rescaling(scale: 1.0 / 255)
    Conv2D(filters: 32, kernelSize: 3, activation: .relu)
    Conv2D(filters: 64, kernelSize: 3, activation: .relu)
    MaxPool2D(poolSize: 2)
    Dropout(rate: 0.25)
    Flatten()
    Dense(units: 128, activation: .relu)
    Dropout(rate: 0.5)
    Dense(units: 10, activation: .softmax)
}
model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
print(model.summary())

let history = try model.fit(
    x: train.images, y: train.labels, batchSize: 128, epochs: epochs, validationData: (test.images, test.labels),
    callbacks: [EarlyStopping(monitor: "val_loss", patience: 2, restoreBestWeights: true)], seed: 42)
print("validation accuracy by epoch:", history["val_accuracy"])

let result = try model.evaluate(x: test.images, y: test.labels, batchSize: 128)
print(String(format: "test accuracy %.4f", result["accuracy"] ?? .nan))

// Saved with its architecture, class names and preprocessing, the model comes back with no code.
model.classNames = test.classNames
let path = FileManager.default.temporaryDirectory.appendingPathComponent("fashion-mnist-cnn.nabla").path
try model.save(to: path)
let loaded = try Model.load(path)
// Predictions are class probabilities; argmax turns them into class names.
let probabilities = try loaded.predict(test.images.slice(axis: 0, end: 5))
let predicted = probabilities.argmax(axis: 1).toArray(Int64.self).map { test.classNames[Int($0)] }
print("first five test images:", predicted, "saved to", path)
