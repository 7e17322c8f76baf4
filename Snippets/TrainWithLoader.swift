// Trains the Keras mnist_cnn on Fashion-MNIST streamed from its gzip files through a shuffle
// buffer, with flip augmentation on the loader's worker threads. The data stays raw (0–255): the
// model's first layer, Rescaling(1/255), scales it, so a saved model takes raw images too.
// Run in release: swift run -c release TrainWithLoader [epochs]
import Foundation
import Nabla
import NablaData
import NablaModels
import NablaNN

#if DEBUG
    print("warning: this is a debug build; training runs orders of magnitude slower (swift run -c release …)")
#endif
let epochs = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 1
let train = StreamLoader(
    try MNIST.stream(.fashion, split: .train), batchSize: 128, shuffleBuffer: 10_000, seed: 1,
    transform: Augment.horizontalFlip())
let test = DataLoader(try MNIST.load(.fashion, split: .test), batchSize: 128, shuffle: false)

Random.seed(42)
let model = mnistCNN()
model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
try model.fit(train, epochs: epochs, validationData: test, seed: 42)
let result = try model.evaluate(test)
print(String(format: "test accuracy %.4f", result["accuracy"] ?? .nan))
