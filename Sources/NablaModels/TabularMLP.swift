import Nabla
import NablaNN

/// Returns a small classifier for a table of numeric features (the Iris case): standardisation
/// (call `adapt` on its first layer with the training features), Dense32-Dense32 with ReLU, and
/// the softmax head.
public func tabularMLP(inputShape: [Int] = [4], classes: Int = 3) -> Sequential {
    Sequential(inputShape: inputShape, name: "tabular_mlp") {
        Normalization()
        Dense(units: 32, activation: .relu)
        Dense(units: 32, activation: .relu)
        Dense(units: classes, activation: .softmax)
    }
}
