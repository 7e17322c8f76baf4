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
