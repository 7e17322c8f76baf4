import Nabla
import NablaNN

/// The model zoo: small reference architectures by the names the command line uses.
public enum Zoo {
    /// The names `nabla train --model` accepts.
    public static let names = ["mnist-cnn", "mnist-cnn-bn", "mlp"]

    /// Returns a fresh model for 28×28×1 uint8 images and `classes` outputs (softmax), or nil for an unknown name.
    public static func model(named name: String, classes: Int = 10) -> Sequential? {
        switch name {
        case "mnist-cnn": mnistCNN(classes: classes)
        case "mnist-cnn-bn": mnistCNNBatchNorm(classes: classes)
        case "mlp": mlp(classes: classes)
        default: nil
        }
    }
}

/// Returns the Keras `mnist_cnn` example: Conv32-Conv64-MaxPool-Dropout-Dense128-Dropout-Dense10.
///
/// Input `[batch, 28, 28, 1]` uint8 (scaled by 1/255 inside), output class probabilities. About 1.2M
/// parameters, nearly all in the 9216×128 dense layer. Trained with Adam 1e-3 at batch 128.
public func mnistCNN(classes: Int = 10) -> Sequential {
    Sequential(inputShape: [28, 28, 1], name: "mnist_cnn") {
        Rescaling(scale: 1.0 / 255)
        Conv2D(filters: 32, kernelSize: 3, activation: .relu)
        Conv2D(filters: 64, kernelSize: 3, activation: .relu)
        MaxPool2D(poolSize: 2)
        Dropout(rate: 0.25)
        Flatten()
        Dense(units: 128, activation: .relu)
        Dropout(rate: 0.5)
        Dense(units: classes, activation: .softmax)
    }
}

/// Returns a VGG-style CNN with batch normalisation and augmentation (random crop after 2-pixel
/// padding, horizontal flip): two blocks of two 3×3 convolutions (32, then 64 filters) each
/// followed by batch normalisation and ReLU, max pooling and dropout, then Dense 256.
public func mnistCNNBatchNorm(classes: Int = 10) -> Sequential {
    Sequential(inputShape: [28, 28, 1], name: "mnist_cnn_bn") {
        Rescaling(scale: 1.0 / 255)
        RandomCrop(height: 28, width: 28, padding: 2)
        RandomFlip(horizontal: true)
        for filters in [32, 64] {
            Conv2D(filters: filters, kernelSize: 3, padding: .same, useBias: false)
            BatchNormalization()
            ActivationLayer(.relu)
            Conv2D(filters: filters, kernelSize: 3, padding: .same, useBias: false)
            BatchNormalization()
            ActivationLayer(.relu)
            MaxPool2D(poolSize: 2)
            Dropout(rate: 0.25)
        }
        Flatten()
        Dense(units: 256, useBias: false)
        BatchNormalization()
        ActivationLayer(.relu)
        Dropout(rate: 0.5)
        Dense(units: classes, activation: .softmax)
    }
}

/// Returns a multilayer perceptron: Flatten-Dense512-Dropout-Dense512-Dropout-Dense10 (the Keras
/// `mnist_mlp` example).
public func mlp(classes: Int = 10) -> Sequential {
    Sequential(inputShape: [28, 28, 1], name: "mlp") {
        Rescaling(scale: 1.0 / 255)
        Flatten()
        Dense(units: 512, activation: .relu)
        Dropout(rate: 0.2)
        Dense(units: 512, activation: .relu)
        Dropout(rate: 0.2)
        Dense(units: classes, activation: .softmax)
    }
}
