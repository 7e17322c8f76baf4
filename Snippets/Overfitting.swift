// Over-fitting made visible: the same small CNN trained on a small slice of Fashion-MNIST, plain
// and then with batch normalisation, dropout and augmentation, comparing training and validation
// accuracy epoch by epoch. The plain model learns its training images by heart and the gap opens;
// the regularised one keeps it narrow.
// Run in release: swift run -c release Overfitting [epochs] [training images]
import Foundation
import Nabla
import NablaData
import NablaNN

#if DEBUG
    print("warning: this is a debug build; training runs orders of magnitude slower (swift run -c release …)")
#endif
let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let epochs = arguments.first ?? 15
let full = try MNIST.load(.fashion, split: .train)
let n = min(arguments.count > 1 ? arguments[1] : 2000, full.count)
let images = full.images.slice(axis: 0, end: n), labels = full.labels.slice(axis: 0, end: n)
let test = try MNIST.load(.fashion, split: .test)
let validation = (test.images.slice(axis: 0, end: 2000), test.labels.slice(axis: 0, end: 2000))

func cnn(regularised: Bool) -> Sequential {
    Sequential(inputShape: [28, 28, 1], name: regularised ? "regularised" : "plain") {
        Rescaling(scale: 1.0 / 255)
        // Augmentation acts in training only: each epoch sees mirrored variants of the images.
        if regularised { RandomFlip(horizontal: true) }
        Conv2D(filters: 32, kernelSize: 3, activation: regularised ? .linear : .relu)
        if regularised {
            BatchNormalization()
            ActivationLayer(.relu)
        }
        Conv2D(filters: 64, kernelSize: 3, activation: .relu)
        MaxPool2D(poolSize: 2)
        if regularised { Dropout(rate: 0.25) }
        Flatten()
        Dense(units: 128, activation: .relu)
        if regularised { Dropout(rate: 0.5) }
        Dense(units: 10, activation: .softmax)
    }
}

for regularised in [false, true] {
    Random.seed(42)
    let model = cnn(regularised: regularised)
    model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
    let history = try model.fit(
        x: images, y: labels, batchSize: 64, epochs: epochs, validationData: validation, verbose: .silent, seed: 42)
    print("\(model.name), \(n) training images:")
    for (epoch, (train, held)) in zip(history["accuracy"], history["val_accuracy"]).enumerated() {
        print(
            String(
                format: "  epoch %2d  training %.3f  validation %.3f  gap %+.3f", epoch + 1, train, held, train - held))
    }
}
