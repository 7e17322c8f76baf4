import Nabla
import NablaNN

/// Returns MobileNetV2 at width 1 (Sandler et al., https://arxiv.org/abs/1801.04381).
///
/// Inverted residual blocks with linear bottlenecks (expand 1×1, depthwise 3×3, project 1×1), ReLU6, a
/// 1280-channel last convolution, global average pooling and the dense head; about 3.5M
/// parameters at 1000 classes. Blocks are named `block1` … `block17`.
///
/// Input `[batch, 224, 224, 3]` uint8 by default (scaled by 1/255 inside).
public func mobileNetV2(inputShape: [Int] = [224, 224, 3], classes: Int = 1000) -> Sequential {
    // (expansion, output channels, repeats, first stride), from the paper's table 2.
    let settings = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]
    var channels = 32
    var index = 0
    return Sequential(inputShape: inputShape, name: "mobilenet_v2") {
        Rescaling(scale: 1.0 / 255)
        convBN(32, 3, stride: 2, activation: .relu6)
        for (expansion, out, repeats, firstStride) in settings {
            for r in 0..<repeats {
                let stride = r == 0 ? firstStride : 1
                let hidden = channels * expansion
                let main = Sequential {
                    if expansion != 1 { convBN(hidden, 1, activation: .relu6) }
                    DepthwiseConv2D(kernelSize: 3, strides: Size2D(stride, stride), padding: .same, useBias: false)
                    BatchNormalization(momentum: 0.9, epsilon: 1e-3)
                    ActivationLayer(.relu6)
                    convBN(out, 1, activation: .linear)
                }
                let _ = index += 1
                if stride == 1 && channels == out {
                    Residual(main, name: "block\(index)")
                } else {
                    let _ = main.name = "block\(index)"
                    main
                }
                let _ = channels = out
            }
        }
        convBN(1280, 1, activation: .relu6)
        GlobalAveragePooling2D()
        Dense(units: classes, activation: .softmax)
    }
}
