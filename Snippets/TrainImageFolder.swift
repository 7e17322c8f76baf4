// Trains a CNN on a folder of photos with one sub-folder per class (and train/ + test/ inside, or
// a held-out fifth), then saves it, loads it back with no code and classifies one file.
// Make a folder from Fashion-MNIST: nabla data export fashion-mnist --per-class 1000 --output photos/train
//                                   nabla data export fashion-mnist --split test --output photos/test
// Run in release: swift run -c release TrainImageFolder photos [epochs]
import Foundation
import Nabla
import NablaData
import NablaModels
import NablaNN

#if DEBUG
    print("warning: this is a debug build; training runs orders of magnitude slower (swift run -c release …)")
#endif
let arguments = CommandLine.arguments.dropFirst()
let root = arguments.first ?? "photos"
let epochs = arguments.dropFirst().first.flatMap(Int.init) ?? 3

// Grey 28×28 images, kept raw (0–255): the model's Rescaling layer scales them.
let size = (height: 28, width: 28)
var train: any Dataset = try ImageFolder(root: "\(root)/train", size: size, channels: 1)
let classes = (train as? ImageFolder)?.classNames ?? []
var test: any Dataset
if FileManager.default.fileExists(atPath: "\(root)/test") {
    test = try ImageFolder(root: "\(root)/test", size: size, channels: 1)
} else {
    (train, test) = SubsetDataset.split(train, validationFraction: 0.2, seed: 1)
}
print("\(train.count) training and \(test.count) held-out images of \(classes.count) classes")

Random.seed(42)
let model = mnistCNN(inputShape: [size.height, size.width, 1], classes: classes.count)
model.classNames = classes
model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
let loader = DataLoader(train, batchSize: 128, seed: 1, transform: Augment.horizontalFlip())
let held = DataLoader(test, batchSize: 128, shuffle: false)
try model.fit(loader, epochs: epochs, validationData: held, seed: 42)
print(String(format: "held-out accuracy %.4f", try model.evaluate(held)["accuracy"] ?? .nan))

let path = FileManager.default.temporaryDirectory.appendingPathComponent("photos.nabla").path
try model.save(to: path)
let loaded = try Model.load(path)
if let file = (test as? ImageFolder)?.files.first {
    let image = ImageCodec.resized(
        try ImageCodec.decode(try Data(contentsOf: URL(fileURLWithPath: file)), channels: 1, path: file),
        height: size.height, width: size.width)
    let probabilities = try loaded.predict(image.unsqueezed(axis: 0)).toArray()
    let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? 0
    print("\(file): \(classes[best]) (\(String(format: "%.3f", probabilities[best])))")
}
