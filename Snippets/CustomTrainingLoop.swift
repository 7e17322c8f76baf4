// A PyTorch-style training loop: forward, loss, backward, optimizer step.
import Nabla
import NablaNN

let inputs = Tensor.uniform([256, 2], low: -1, high: 1)
// The target is 1 inside the unit circle's inner half, 0 outside.
let targets = ((inputs.square().sum(axes: [1], keepDims: true) .< 0.5).asType(.float32))

let model = Sequential(inputShape: [2]) {
    Dense(units: 16, activation: .tanh)
    Dense(units: 1)
}
let optimizer = Adam(learningRate: 0.05)
let loss = BinaryCrossEntropy(fromLogits: true)
model.isTraining = true
for step in 0..<200 {
    let value = loss(model(inputs), targets)
    value.backward()
    try optimizer.step(model)  // updates every trainable parameter, then clears the gradients
    if step % 50 == 0 { print("step", step, "loss", value.item()) }
}
