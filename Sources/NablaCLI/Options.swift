import ArgumentParser
import Foundation
import NablaCUDA
import NablaData
import NablaIO
import NablaModels
import NablaNN

// The values the options take, each written once: parsing, `--help` and the error for a wrong
// value all come from these types.

/// A model of the zoo, by name.
struct ZooModel: ExpressibleByArgument, Codable, Equatable, CustomStringConvertible {
    let name: String

    init?(argument: String) {
        guard Zoo.names.contains(argument) else { return nil }
        name = argument
    }

    /// The default: the Keras mnist_cnn.
    static let standard = ZooModel(name: "mnist-cnn")
    private init(name: String) { self.name = name }

    static var allValueStrings: [String] { Zoo.names }
    var description: String { name }

    /// Each model with its parameter count, for `--help`: `mnist-cnn 1.2M, …`.
    static var catalogue: String {
        Zoo.entries.map { entry in
            let n = Double(entry.parameters)
            let size = n >= 1e6 ? String(format: "%.1fM", n / 1e6) : String(format: "%.1fK", n / 1e3)
            return "\(entry.name) \(size)"
        }.joined(separator: ", ")
    }

    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let model = ZooModel(argument: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "unknown model '\(text.prefix(64))'"))
        }
        self = model
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// A dataset the command line finds (or downloads) by name.
enum DatasetName: String, ExpressibleByArgument, CaseIterable, Codable {
    case fashionMNIST = "fashion-mnist"
    case mnist

    var variant: MNIST.Variant { self == .mnist ? .digits : .fashion }

    /// The classes each of them has: ten.
    static let classCount = 10
}

/// The optimizers `nabla train` offers.
enum OptimizerName: String, ExpressibleByArgument, CaseIterable, Codable {
    case adam, adamw, sgd, rmsprop, adagrad, adadelta
}

/// The learning-rate schedules `nabla train` offers.
enum ScheduleName: String, ExpressibleByArgument, CaseIterable, Codable {
    /// The same rate throughout.
    case constant
    /// Cosine decay to 0 over the whole run.
    case cosine
}

/// A dataset split.
enum SplitName: String, ExpressibleByArgument, CaseIterable, Codable {
    case train, test
    var split: MNIST.Split { self == .train ? .train : .test }
}

/// How results are printed.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    /// Lines for people.
    case text
    /// One JSON document for scripts (exact numbers).
    case json
}

/// The exit statuses scripts can rely on (also in `nabla --help`).
enum ExitStatus {
    static let help = """
        Exit status: 0 success; 1 an error (one line on standard error: what failed and where); \
        2 the trained model missed --min-accuracy; 64 a wrong option or argument.
        """
    static let belowMinimum: Int32 = 2
}

/// Loads a model file (`.nabla` or `.onnx`), turning its errors into the command line's one-line error.
func loadModel(_ path: String) throws -> Model {
    ONNXImport.register()
    return try reportingErrors { try Model.load(path) }
}

/// The JSON the command line writes: pretty, keys sorted, slashes as they are, and NaN or
/// infinite metrics as the strings `nan`, `inf`, `-inf`.
func jsonEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return encoder
}

/// Writes `value` as JSON (``jsonEncoder()``) to standard output.
func printJSON(_ value: some Encodable) throws {
    print(String(decoding: try jsonEncoder().encode(value), as: UTF8.self))
}

/// An image size given as `HxW`.
struct ImageSize: ExpressibleByArgument {
    let height: Int, width: Int

    init?(argument: String) {
        let parts = argument.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let h = parts[0], let w = parts[1], (1...4096).contains(h), (1...4096).contains(w)
        else { return nil }
        (height, width) = (h, w)
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// Grey or colour images.
enum ColorMode: String, ExpressibleByArgument, CaseIterable, Codable {
    case grayscale, rgb
}

/// The augmentations `--augment` offers, each with the strength the Keras examples use.
enum AugmentName: String, CaseIterable, Codable {
    /// Left-right flips.
    case flip
    /// Random crops of the image padded by an eighth of its size.
    case crop
    /// Zoom in or out by up to 10%.
    case zoom
    /// Rotations of up to 15°.
    case rotate
    /// Shifts of up to 10% of the size.
    case shift
    /// Shears of up to 10°.
    case shear

    /// The loader transform for images of `height`×`width`.
    func transform(height: Int, width: Int) -> any Transform {
        switch self {
        case .flip: Augment.horizontalFlip()
        case .crop: Augment.randomCrop(height: height, width: width, padding: max(1, min(height, width) / 8))
        case .zoom: Augment.randomZoom(factor: 0.1)
        case .rotate: Augment.randomRotation(maxDegrees: 15)
        case .shift: Augment.randomTranslation(fraction: 0.1)
        case .shear: Augment.randomShear(maxDegrees: 10)
        }
    }
}

/// A comma-separated list of augmentations.
struct AugmentList: ExpressibleByArgument {
    let items: [AugmentName]

    init?(argument: String) {
        let names = argument.split(separator: ",").map { AugmentName(rawValue: String($0)) }
        guard !names.isEmpty, names.allSatisfy({ $0 != nil }) else { return nil }
        items = names.compactMap { $0 }
    }

    static var allValueStrings: [String] { AugmentName.allCases.map(\.rawValue) }
}

extension CUDADriver.Request: ExpressibleByArgument {}
