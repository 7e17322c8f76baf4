import Nabla
import NablaNN

/// Returns the Keras `mnist_cnn` example: Conv32-Conv64-MaxPool-Dropout-Dense128-Dropout-Dense10.
///
/// Input `[batch, 28, 28, 1]` uint8 (scaled by 1/255 inside), output class probabilities. About 1.2M
/// parameters, nearly all in the 9216×128 dense layer. Trained with Adam 1e-3 at batch 128.
public func mnistCNN(inputShape: [Int] = [28, 28, 1], classes: Int = 10) -> Sequential {
    Sequential(inputShape: inputShape, name: "mnist_cnn") {
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
public func mnistCNNBatchNorm(inputShape: [Int] = [28, 28, 1], classes: Int = 10) -> Sequential {
    Sequential(inputShape: inputShape, name: "mnist_cnn_bn") {
        Rescaling(scale: 1.0 / 255)
        RandomCrop(height: inputShape[0], width: inputShape[1], padding: 2)
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
