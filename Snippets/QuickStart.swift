// A linear classifier's gradient in a few lines: tensors, an op, a loss, backward.
import Nabla

var weight = Tensor.normal([784, 10], standardDeviation: 0.01)
weight.requiresGradient = true
let images = Tensor.uniform([32, 784])
let labels = Tensor((0..<32).map { Int64($0 % 10) })

let loss = softmaxCrossEntropy(logits: matmul(images, weight), labels: labels).mean()
loss.backward()
print("loss", loss.item(), "gradient shape", weight.gradient?.shape ?? [])
