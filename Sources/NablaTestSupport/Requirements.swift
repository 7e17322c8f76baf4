import Foundation
import Testing

/// A tool or data set outside the package that some tests check our work against.
///
/// Examples: the real Fashion-MNIST, ONNX Runtime, Python's `safetensors`, Open MPI's `mpirun`, Chromium.
///
/// Tests name what they need with the ``RequiresTrait`` trait (`@Suite(.requires(.onnxRuntime))`).
/// On a developer's machine a test whose requirement is missing is skipped, with the reason;
/// with `NABLA_REQUIRE_ALL=1` in the environment (as `.ci/run` sets it) it fails instead, so a CI
/// machine that lacks a package cannot report those tests as passed.
public struct Requirement: Sendable, CustomStringConvertible {
    /// What is needed, as a person names it.
    public let name: String
    /// How to get it on Debian, for the message.
    public let howToGet: String
    /// Whether it was found (checked once, when the requirement is first used).
    public let isAvailable: Bool

    public init(name: String, howToGet: String, isAvailable: Bool) {
        (self.name, self.howToGet, self.isAvailable) = (name, howToGet, isAvailable)
    }

    public var description: String { "\(name) (\(howToGet))" }

    /// Whether a missing requirement fails the test (`NABLA_REQUIRE_ALL=1`) rather than skipping it.
    public static var allRequired: Bool { ProcessInfo.processInfo.environment["NABLA_REQUIRE_ALL"] == "1" }

    static func python(_ name: String, imports: String, package: String) -> Requirement {
        Requirement(
            name: name, howToGet: "python3 -m pip install \(package)",
            isAvailable: (try? PythonCheck.run("import \(imports); print('ok')")) == "ok\n")
    }

    static func executable(_ name: String, paths: [String], package: String) -> Requirement {
        Requirement(
            name: name, howToGet: "apt-get install \(package)",
            isAvailable: paths.contains { FileManager.default.isExecutableFile(atPath: $0) })
    }

    /// The path of `command` in the folders of `$PATH`, or nil.
    public static func onPath(_ command: String) -> String? {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return folders.map { "\($0)/\(command)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

extension Requirement {
    /// The real Fashion-MNIST that Debian's `dataset-fashion-mnist` installs.
    public static let fashionMNIST = Requirement(
        name: "Fashion-MNIST in /usr/share/datasets/fashion-mnist", howToGet: "apt-get install dataset-fashion-mnist",
        isAvailable: FileManager.default.fileExists(
            atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))

    /// The ONNX backend test suite (node and model tests with reference outputs).
    public static let onnxTestData = Requirement(
        name: "the ONNX backend test data in /usr/share/libonnx-testdata", howToGet: "apt-get install libonnx-testdata",
        isAvailable: FileManager.default.fileExists(atPath: "/usr/share/libonnx-testdata/data/node"))

    /// ONNX Runtime and the `onnx` package, the independent readers of the ONNX files we write.
    public static let onnxRuntime = python(
        "ONNX Runtime", imports: "onnxruntime, onnx, numpy", package: "onnx onnxruntime")

    /// Python's `safetensors` reader (with numpy), the reference reader of our model files.
    public static let pythonSafetensors = python(
        "Python's safetensors", imports: "safetensors, numpy", package: "safetensors numpy")

    /// The official Triton HTTP client, spoken to the server.
    public static let tritonClient = python(
        "the Triton HTTP client", imports: "tritonclient.http, numpy", package: "'tritonclient[http]'")

    /// TensorBoard's own event reader.
    public static let tensorBoard = python(
        "TensorBoard", imports: "tensorboard.backend.event_processing.event_accumulator", package: "tensorboard")

    /// Debian's Chromium, the headless browser pages are rendered in.
    public static let chromium = executable("Chromium", paths: ["/usr/bin/chromium"], package: "chromium")

    /// Python's playwright, which drives Chromium through the server's page.
    public static let playwright = python("playwright", imports: "playwright.sync_api", package: "playwright")

    /// Open MPI's launcher, for data-parallel runs.
    public static let mpirun = Requirement(
        name: "Open MPI's mpirun on the PATH", howToGet: "apt-get install openmpi-bin",
        isAvailable: onPath("mpirun") != nil)

    /// GNU time, which reports a process's peak memory.
    public static let gnuTime = executable("GNU time", paths: ["/usr/bin/time"], package: "time")

    /// The folder of the "light" model-zoo graphs the `onnx` wheel ships, or nil.
    public static let onnxLightModelsFolder: String? = {
        let script = "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'backend/test/data/light'))"
        guard let out = try? PythonCheck.run(script) else { return nil }
        let path = out.trimmingCharacters(in: .whitespacesAndNewlines)
        return FileManager.default.fileExists(atPath: path + "/light_resnet50.onnx") ? path : nil
    }()

    /// The `onnx` wheel's light model-zoo graphs with their reference outputs.
    public static let onnxLightModels = Requirement(
        name: "the onnx wheel's light model-zoo graphs", howToGet: "python3 -m pip install onnx",
        isAvailable: onnxLightModelsFolder != nil)

    /// Every requirement, for the listing in CONTRIBUTING and for checks.
    public static let all: [Requirement] = [
        fashionMNIST, onnxTestData, onnxRuntime, pythonSafetensors, tritonClient, tensorBoard, chromium, playwright,
        mpirun, gnuTime, onnxLightModels,
    ]
}

/// A trait that runs a test or suite only where its ``Requirement``s are found, and fails it
/// (rather than skipping it) under `NABLA_REQUIRE_ALL=1`.
public struct RequiresTrait: TestTrait, SuiteTrait {
    /// What the test needs.
    public let requirements: [Requirement]
    let sourceLocation: SourceLocation

    public var isRecursive: Bool { true }

    public func prepare(for test: Test) async throws {
        let missing = requirements.filter { !$0.isAvailable }
        guard !missing.isEmpty else { return }
        let list = missing.map(\.description).joined(separator: ", ")
        if Requirement.allRequired {
            throw MissingRequirement(message: "needs \(list), which is missing (NABLA_REQUIRE_ALL=1)")
        }
        try await ConditionTrait.disabled(Comment(rawValue: "needs \(list)"), sourceLocation: sourceLocation)
            .prepare(for: test)
    }
}

/// The error a test fails with when something it requires is missing under `NABLA_REQUIRE_ALL=1`.
public struct MissingRequirement: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension Trait where Self == RequiresTrait {
    /// Runs the test only where every one of `requirements` is found; under `NABLA_REQUIRE_ALL=1`
    /// a missing one fails it.
    public static func requires(
        _ requirements: Requirement..., sourceLocation: SourceLocation = #_sourceLocation
    ) -> Self {
        RequiresTrait(requirements: requirements, sourceLocation: sourceLocation)
    }
}
