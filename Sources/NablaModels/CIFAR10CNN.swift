import Nabla
import NablaNN

/// Returns the Keras `cifar10_cnn` example: two blocks of Conv-Conv-MaxPool-Dropout (32, then 64
/// filters), Dense512-Dropout-Dense.
///
/// Input `[batch, 32, 32, 3]` uint8 by default (scaled by 1/255 inside); about 1.25M parameters
/// for 10 classes.
public func cifar10CNN(inputShape: [Int] = [32, 32, 3], classes: Int = 10) -> Sequential {
    Sequential(inputShape: inputShape, name: "cifar10_cnn") {
        Rescaling(scale: 1.0 / 255)
        for filters in [32, 64] {
            Conv2D(filters: filters, kernelSize: 3, padding: .same, activation: .relu)
            Conv2D(filters: filters, kernelSize: 3, activation: .relu)
            MaxPool2D(poolSize: 2)
            Dropout(rate: 0.25)
        }
        Flatten()
        Dense(units: 512, activation: .relu)
        Dropout(rate: 0.5)
        Dense(units: classes, activation: .softmax)
    }
}
