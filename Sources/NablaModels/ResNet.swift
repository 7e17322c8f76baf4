import Nabla
import NablaNN

// ResNet-18, -34 and -50 (He et al., https://arxiv.org/abs/1512.03385) built from `Residual`
// blocks, so the files they save rebuild with no code. Stages are named `stage1` … `stage4` for
// transfer learning.

/// A convolution, batch normalisation and (unless `activation` is linear) an activation.
func convBN(_ filters: Int, _ kernel: Int, stride: Int = 1, activation: Activation = .relu) -> [Layer] {
    var layers: [Layer] = [
        Conv2D(
            filters: filters, kernelSize: Size2D(kernel, kernel), strides: Size2D(stride, stride), padding: .same,
            useBias: false, kernelInitializer: .heNormal),
        BatchNormalization(momentum: 0.9, epsilon: 1e-5),
    ]
    if activation != .linear { layers.append(ActivationLayer(activation)) }
    return layers
}

/// A residual block: two 3×3 convolutions (basic) or 1×1-3×3-1×1 with 4× expansion (bottleneck);
/// a projecting shortcut when the shape changes.
func resNetBlock(filters: Int, stride: Int, inputChannels: Int, bottleneck: Bool) -> Residual {
    let out = bottleneck ? 4 * filters : filters
    let main =
        bottleneck
        ? Sequential {
            convBN(filters, 1)
            convBN(filters, 3, stride: stride)
            convBN(out, 1, activation: .linear)
        }
        : Sequential {
            convBN(filters, 3, stride: stride)
            convBN(filters, 3, activation: .linear)
        }
    let shortcut =
        stride != 1 || inputChannels != out ? Sequential { convBN(out, 1, stride: stride, activation: .linear) } : nil
    return Residual(main, shortcut: shortcut, activation: .relu)
}

/// Returns a ResNet with `blocks` residual blocks per stage.
func resNet(name: String, blocks: [Int], bottleneck: Bool, inputShape: [Int], classes: Int) -> Sequential {
    var channels = 64
    return Sequential(inputShape: inputShape, name: name) {
        Rescaling(scale: 1.0 / 255)
        convBN(64, 7, stride: 2)
        MaxPool2D(poolSize: 3, strides: 2, padding: .same)
        for (stage, count) in blocks.enumerated() {
            Sequential(name: "stage\(stage + 1)") {
                for block in 0..<count {
                    let filters = 64 << stage
                    let layer = resNetBlock(
                        filters: filters, stride: block == 0 && stage > 0 ? 2 : 1, inputChannels: channels,
                        bottleneck: bottleneck)
                    let _ = channels = bottleneck ? 4 * filters : filters
                    layer
                }
            }
        }
        GlobalAveragePooling2D()
        Dense(units: classes, activation: .softmax)
    }
}

/// ResNet-18: basic blocks [2, 2, 2, 2]; about 11.7M parameters at 1000 classes.
public func resNet18(inputShape: [Int] = [224, 224, 3], classes: Int = 1000) -> Sequential {
    resNet(name: "resnet18", blocks: [2, 2, 2, 2], bottleneck: false, inputShape: inputShape, classes: classes)
}

/// ResNet-34: basic blocks [3, 4, 6, 3]; about 21.8M parameters at 1000 classes.
public func resNet34(inputShape: [Int] = [224, 224, 3], classes: Int = 1000) -> Sequential {
    resNet(name: "resnet34", blocks: [3, 4, 6, 3], bottleneck: false, inputShape: inputShape, classes: classes)
}

/// ResNet-50: bottleneck blocks [3, 4, 6, 3]; about 25.6M parameters at 1000 classes.
public func resNet50(inputShape: [Int] = [224, 224, 3], classes: Int = 1000) -> Sequential {
    resNet(name: "resnet50", blocks: [3, 4, 6, 3], bottleneck: true, inputShape: inputShape, classes: classes)
}
