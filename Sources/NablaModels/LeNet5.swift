import Nabla
import NablaNN

/// Returns LeNet-5, from "Gradient-based learning applied to document recognition" (LeCun, 1998).
///
/// Conv6 5×5 (same) - AvgPool - Conv16 5×5 - AvgPool - Dense120 - Dense84 - Dense, tanh throughout.
///
/// Input `[batch, 28, 28, 1]` uint8 by default (scaled by 1/255 inside); about 61,700 parameters.
public func leNet5(inputShape: [Int] = [28, 28, 1], classes: Int = 10) -> Sequential {
    Sequential(inputShape: inputShape, name: "lenet5") {
        Rescaling(scale: 1.0 / 255)
        Conv2D(filters: 6, kernelSize: 5, padding: .same, activation: .tanh)
        AvgPool2D(poolSize: 2)
        Conv2D(filters: 16, kernelSize: 5, activation: .tanh)
        AvgPool2D(poolSize: 2)
        Flatten()
        Dense(units: 120, activation: .tanh)
        Dense(units: 84, activation: .tanh)
        Dense(units: classes, activation: .softmax)
    }
}
