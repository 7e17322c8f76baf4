import Nabla
import NablaNN

/// Returns a multilayer perceptron: Flatten-Dense512-Dropout-Dense512-Dropout-Dense10 (the Keras
/// `mnist_mlp` example).
public func mlp(inputShape: [Int] = [28, 28, 1], classes: Int = 10) -> Sequential {
    Sequential(inputShape: inputShape, name: "mlp") {
        Rescaling(scale: 1.0 / 255)
        Flatten()
        Dense(units: 512, activation: .relu)
        Dropout(rate: 0.2)
        Dense(units: 512, activation: .relu)
        Dropout(rate: 0.2)
        Dense(units: classes, activation: .softmax)
    }
}
