// Transfer learning: a CNN trained on seven Fashion-MNIST classes lends its convolutional base to
// a new task, the other three (coats, shirts, ankle boots), learnt from only a few images each:
// close relatives of what the base saw (pullovers, T-shirts, sneakers), as in most real uses. The frozen base with a new head is compared
// with the same network trained from scratch on the same few images; then the top of the base is
// unfrozen and fine-tuned at a lower learning rate.
// Run in release: swift run -c release TransferLearning [images per new class] [base images per class]
import Foundation
import Nabla
import NablaData
import NablaModels
import NablaNN

#if DEBUG
    print("warning: this is a debug build; training runs orders of magnitude slower (swift run -c release …)")
#endif
let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let perClass = arguments.first ?? 20, basePerClass = arguments.count > 1 ? arguments[1] : 1500
let train = try MNIST.load(.fashion, split: .train), test = try MNIST.load(.fashion, split: .test)

/// Returns the examples of `classes` (at most `limit` of each), relabelled 0, 1, and so on.
func subset(_ data: InMemoryDataset, classes: [Int64], limit: Int) -> (Tensor, Tensor) {
    var taken = [Int](repeating: 0, count: classes.count), rows: [Int64] = [], labels: [Int64] = []
    for (row, label) in data.labels.toArray(Int64.self).enumerated() {
        guard let k = classes.firstIndex(of: label), taken[k] < limit else { continue }
        taken[k] += 1
        rows.append(Int64(row))
        labels.append(Int64(k))
    }
    return (data.images.gathered(Tensor(rows), axis: 0), Tensor(labels))
}

// The base task: T-shirts/tops, trousers, pullovers, dresses, sandals, sneakers and bags, 1,500 each.
let (baseX, baseY) = subset(train, classes: [0, 1, 2, 3, 5, 7, 8], limit: basePerClass)
Random.seed(42)
let base = mnistCNN(classes: 7)
base.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
try base.fit(x: baseX, y: baseY, batchSize: 128, epochs: 2, verbose: .silent, seed: 42)
print(base.summary())

// The new task: a few images of each of the other three classes, judged on all their test images.
let (newX, newY) = subset(train, classes: [4, 6, 9], limit: perClass)
let (testX, testY) = subset(test, classes: [4, 6, 9], limit: 1000)

// The convolutional base (up to the dropout after pooling), frozen, and a new head on top:
// Flatten and a softmax Dense.
let transfer = try base.transferred(through: base.layers[4].name, classes: 3)
transfer.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
try transfer.fit(x: newX, y: newY, batchSize: 16, epochs: 20, verbose: .silent, seed: 42)
let frozen = try transfer.evaluate(x: testX, y: testY, batchSize: 256)["accuracy"] ?? .nan

// Fine-tuning: the last convolution and everything above it learn again, ten times slower.
try transfer.unfreeze(from: transfer.layers[2].name)
transfer.compile(optimizer: Adam(learningRate: 1e-4), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
try transfer.fit(x: newX, y: newY, batchSize: 16, epochs: 5, verbose: .silent, seed: 42)
let tuned = try transfer.evaluate(x: testX, y: testY, batchSize: 256)["accuracy"] ?? .nan

Random.seed(42)
let scratch = mnistCNN(classes: 3)
scratch.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
try scratch.fit(x: newX, y: newY, batchSize: 16, epochs: 20, verbose: .silent, seed: 42)
let alone = try scratch.evaluate(x: testX, y: testY, batchSize: 256)["accuracy"] ?? .nan

print("\(newX.shape[0]) training images of 3 new classes, \(testX.shape[0]) test images:")
print(String(format: "  from scratch          %.3f", alone))
print(String(format: "  frozen base, new head %.3f", frozen))
print(String(format: "  then fine-tuned       %.3f", tuned))
