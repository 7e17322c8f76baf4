import Nabla
import NablaNN

/// Returns VGG-16 (Simonyan & Zisserman, https://arxiv.org/abs/1409.1556): five blocks of 3×3
/// convolutions (2×64, 2×128, 3×256, 3×512, 3×512), each ending in a max pooling, named
/// `block1` … `block5` for transfer learning; then, with `includeTop`, Dense4096-Dense4096-Dense
/// (about 138M parameters at 224×224), else global average pooling and the dense head.
///
/// Input `[batch, 224, 224, 3]` uint8 by default (scaled by 1/255 inside).
public func vgg16(inputShape: [Int] = [224, 224, 3], classes: Int = 1000, includeTop: Bool = true) -> Sequential {
    Sequential(inputShape: inputShape, name: "vgg16") {
        Rescaling(scale: 1.0 / 255)
        for (block, (filters, count)) in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)].enumerated() {
            Sequential(name: "block\(block + 1)") {
                for _ in 0..<count { Conv2D(filters: filters, kernelSize: 3, padding: .same, activation: .relu) }
                MaxPool2D(poolSize: 2)
            }
        }
        if includeTop {
            Flatten()
            Dense(units: 4096, activation: .relu)
            Dropout(rate: 0.5)
            Dense(units: 4096, activation: .relu)
            Dropout(rate: 0.5)
        } else {
            GlobalAveragePooling2D()
        }
        Dense(units: classes, activation: .softmax)
    }
}
