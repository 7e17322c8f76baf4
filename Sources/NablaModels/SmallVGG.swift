import Nabla
import NablaNN

/// Returns a small VGG-style network, the Keras dogs-vs-cats recipe.
///
/// Three blocks of two 3×3 convolutions (32, 64, 128 filters) and a max pooling, then
/// Dense512-Dropout-Dense. With
/// `batchNorm` each convolution is followed by batch normalisation before its ReLU.
///
/// Input `[batch, 150, 150, 3]` uint8 by default (scaled by 1/255 inside).
public func smallVGG(inputShape: [Int] = [150, 150, 3], classes: Int = 2, batchNorm: Bool = false) -> Sequential {
    Sequential(inputShape: inputShape, name: batchNorm ? "small_vgg_bn" : "small_vgg") {
        Rescaling(scale: 1.0 / 255)
        for filters in [32, 64, 128] {
            for _ in 0..<2 {
                if batchNorm {
                    Conv2D(filters: filters, kernelSize: 3, padding: .same, useBias: false)
                    BatchNormalization()
                    ActivationLayer(.relu)
                } else {
                    Conv2D(filters: filters, kernelSize: 3, padding: .same, activation: .relu)
                }
            }
            MaxPool2D(poolSize: 2)
        }
        Flatten()
        Dense(units: 512, activation: .relu)
        Dropout(rate: 0.5)
        Dense(units: classes, activation: .softmax)
    }
}
