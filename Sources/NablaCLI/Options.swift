import ArgumentParser
import Foundation
import NablaData
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

/// Loads a model file, turning its errors into the command line's one-line error.
func loadModel(_ path: String) throws -> Model {
    try reportingErrors { try Model.load(path) }
}

/// Writes `value` as pretty, key-sorted JSON to standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
