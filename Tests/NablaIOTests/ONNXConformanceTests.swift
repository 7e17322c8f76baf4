import Foundation
import Nabla
import NablaIO
import NablaTestSupport
import Testing

/// The ONNX backend test suite that Debian's `libonnx-testdata` ships: each test is a model with
/// reference inputs and outputs written by the ONNX project's reference implementation.
enum ONNXTestData {
    static let root = "/usr/share/libonnx-testdata/data"

    /// The operators this suite checks: every one the README lists as imported (a test checks
    /// that the README names each, and that the importer still supports each).
    static let operators: Set<String> = [
        "Conv", "ConvTranspose", "BatchNormalization", "InstanceNormalization", "LRN", "Gemm", "MatMul", "Relu",
        "LeakyRelu", "PRelu", "Elu", "Selu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Erf", "Gelu",
        "Softplus", "Softsign", "Softmax", "LogSoftmax", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log",
        "Neg", "Abs", "Reciprocal", "Sum", "Mean", "Max", "Min", "MaxPool", "AveragePool", "GlobalAveragePool",
        "GlobalMaxPool", "Flatten", "Reshape", "Transpose", "Concat", "Split", "Slice", "Squeeze", "Unsqueeze",
        "Gather", "Shape", "Size", "Constant", "ConstantOfShape", "Identity", "Dropout", "Pad", "Resize",
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "Cast", "Expand", "Tile", "Range", "Where", "Equal",
        "Less", "Greater", "Not",
    ]

    /// The counts the README states, as floors: a change may raise them (then raise these and the
    /// README together), never lower them silently.
    static let floors = (nodeTests: 370, pytorchConverted: 67, pytorchOperator: 35, simple: 5, gradientChecked: 60)

    /// Node tests of those operators that are skipped, by name prefix, each with the reason.
    static let skipped: [(prefix: String, reason: String)] = [
        ("test_averagepool_3d", "3-D pooling (1-D and 2-D windows are supported)"),
        ("test_maxpool_3d", "3-D pooling (1-D and 2-D windows are supported)"),
        ("test_convtranspose_3d", "3-D convolution (1-D and 2-D windows are supported)"),
        ("test_maxpool_2d_dilations", "dilated max pooling"),
        ("test_maxpool_2d_uint8", "pooling of integer tensors"),
        ("test_maxpool_with_argmax", "MaxPool's second output (the indices)"),
        (
            "test_batchnorm_epsilon_training_mode",
            "BatchNormalization in training mode (an import is for inference and fine-tuning with frozen statistics)"
        ),
        (
            "test_batchnorm_example_training_mode",
            "BatchNormalization in training mode (an import is for inference and fine-tuning with frozen statistics)"
        ),
        ("test_resize_downsample_scales_cubic", "cubic resizing (nearest and linear are supported)"),
        ("test_resize_downsample_sizes_cubic", "cubic resizing (nearest and linear are supported)"),
        ("test_resize_upsample_scales_cubic", "cubic resizing (nearest and linear are supported)"),
        ("test_resize_upsample_sizes_cubic", "cubic resizing (nearest and linear are supported)"),
        ("test_resize_tf_crop_and_resize", "the tf_crop_and_resize coordinate mode (it takes a region of interest)"),
        (
            "test_training_dropout",
            "dropout in training mode draws its mask from another random generator than the reference"
        ),
        ("test_identity_opt", "optional values"),
        ("test_identity_sequence", "sequence values"),
        ("test_AvgPool3d", "3-D pooling (1-D and 2-D windows are supported)"),
        ("test_MaxPool3d", "3-D pooling (1-D and 2-D windows are supported)"),
        ("test_Conv3d", "3-D convolution (1-D and 2-D windows are supported)"),
        ("test_MaxPool1d_stride_padding_dilation", "dilated max pooling"),
        ("test_MaxPool2d_stride_padding_dilation", "dilated max pooling"),
    ]

    /// Element types the tests' data may use that Nabla does not compute in.
    static let unsupportedTypes = [
        "FLOAT16", "BFLOAT16", "STRING", "uint32", "uint64", "float16", "int16", "uint16",
    ]

    /// Listed operators the Debian test data has no node test of, each with where it is checked instead.
    static let withoutNodeTests = [
        "Gelu": "opset 20, which the test data predates; ONNXImportTests checks it against ONNX Runtime",
        "Constant": "every other test's graph holds Constant nodes",
    ]

    /// Why a test is skipped, or nil.
    static func skipReason(_ name: String, operators: [String]) -> String? {
        if let s = skipped.first(where: { name.hasPrefix($0.prefix) }) { return s.reason }
        if let t = unsupportedTypes.first(where: { name.contains($0) }) { return "element type \(t)" }
        let missing = Set(operators.filter { ONNXImportInspection.supportedOperators.contains($0) == false })
        if !missing.isEmpty { return "also uses \(missing.sorted().joined(separator: ", "))" }
        return nil
    }

    /// The result of one test folder: nil when it passed, else why not.
    static func check(_ folder: String) -> String? {
        let model = folder + "/model.onnx"
        let sets = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
            $0.hasPrefix("test_data_set")
        }.sorted()
        guard !sets.isEmpty else { return "no test data" }
        do {
            for set in sets {
                let dir = "\(folder)/\(set)"
                let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted { a, b in
                    a.count == b.count ? a < b : a.count < b.count
                }
                let inputs = try files.filter { $0.hasPrefix("input_") }.map {
                    try ONNXImport.readTensor("\(dir)/\($0)")
                }
                let expected = try files.filter { $0.hasPrefix("output_") }.map {
                    try ONNXImport.readTensor("\(dir)/\($0)")
                }
                let outputs = try ONNXImport.run(model, inputs: inputs)
                guard outputs.count == expected.count else {
                    return "\(outputs.count) outputs, expected \(expected.count)"
                }
                for (i, (y, want)) in zip(outputs, expected).enumerated() {
                    guard y.shape == want.shape else { return "output \(i): shape \(y.shape), expected \(want.shape)" }
                    let a = y.asType(.float32).toArray(Float.self), b = want.asType(.float32).toArray(Float.self)
                    // The tolerances of ONNX's own backend tests: rtol 1e-3, atol 1e-7 (1e-5 here, float32
                    // sums in another order). NaN against a number is a difference.
                    if let (k, _) = worstMismatch(a, b, rtol: 1e-3, atol: 1e-5) {
                        return "output \(i), element \(k): \(a[k]) against \(b[k])"
                    }
                }
            }
        } catch {
            return "\(error)"
        }
        return nil
    }
}

@Suite(.requires(.onnxTestData)) struct ONNXConformanceTests {
    @Test func nodeTestsOfSupportedOperatorsPass() throws {
        let root = ONNXTestData.root + "/node"
        var passed: [String: Int] = [:], failed: [String] = []
        var skips: [String: [String]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            let operators = try self.operators(root + "/" + name)
            guard let op = operators.first, ONNXTestData.operators.contains(op) else { continue }
            if let reason = ONNXTestData.skipReason(name, operators: operators) {
                skips[reason, default: []].append(name)
                continue
            }
            if let problem = ONNXTestData.check(root + "/" + name) {
                failed.append("\(name): \(problem)")
            } else {
                passed[op, default: 0] += 1
            }
        }
        let skippedCount = skips.values.reduce(0) { $0 + $1.count }
        for (reason, names) in skips.sorted(by: { $0.key < $1.key }) {
            print("skipped \(names.count) (\(reason)): \(names.joined(separator: " "))")
        }
        print(
            "ONNX node tests passed per operator: \(passed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))"
        )
        print("ONNX node tests: \(passed.values.reduce(0, +)) passed, \(failed.count) failed, \(skippedCount) skipped")
        for f in failed { print("  FAIL \(f)") }
        #expect(failed.isEmpty)
        let total = passed.values.reduce(0, +)
        #expect(
            total >= ONNXTestData.floors.nodeTests,
            "\(total) node tests passed; the README states \(ONNXTestData.floors.nodeTests)")
        let untested = ONNXTestData.operators.subtracting(passed.keys).subtracting(ONNXTestData.withoutNodeTests.keys)
            .sorted()
        #expect(untested.isEmpty, "operators the README lists with no node test passed: \(untested)")
    }

    /// Every operator the README lists is one the importer supports and one the README names: an
    /// operator that drops out of the supported set fails here rather than skipping its tests.
    @Test func listedOperatorsAreSupportedAndNamedInTheREADME() throws {
        let unsupported = ONNXTestData.operators.subtracting(ONNXImportInspection.supportedOperators).sorted()
        #expect(unsupported.isEmpty, "listed but not supported: \(unsupported)")
        let readme = try String(contentsOfFile: packageRoot() + "/README.md", encoding: .utf8)
        let start = try #require(readme.range(of: "The\noperators:") ?? readme.range(of: "The operators:"))
        let end = try #require(readme.range(of: "What is checked", range: start.upperBound..<readme.endIndex))
        let listed = readme[start.upperBound..<end.lowerBound]
        let words = Set(listed.split { !$0.isLetter }.map(String.init))
        let unnamed = ONNXTestData.operators.subtracting(words).sorted()
        #expect(unnamed.isEmpty, "checked here but not in the README's list: \(unnamed)")
        let unchecked = words.intersection(ONNXImportInspection.supportedOperators).subtracting(ONNXTestData.operators)
        #expect(unchecked.isEmpty, "in the README's list but not checked here: \(unchecked.sorted())")
    }

    /// The ops of a test's graph, read with the importer's own reader.
    func operators(_ folder: String) throws -> [String] {
        ONNXImportInspection.operators(try Data(contentsOf: URL(fileURLWithPath: folder + "/model.onnx")))
    }
}

extension ONNXConformanceTests {
    /// Whole models from PyTorch's exporter and the simple models, where every operator is supported.
    @Test(arguments: ["pytorch-converted", "pytorch-operator", "simple"])
    func modelTestsPass(kind: String) throws {
        let root = ONNXTestData.root + "/" + kind
        var passed = 0, failed: [String] = []
        var skips: [String: [String]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            let operators = try self.operators(root + "/" + name)
            if let reason = ONNXTestData.skipReason(name, operators: operators) {
                skips[reason, default: []].append(name)
                continue
            }
            if let problem = ONNXTestData.check(root + "/" + name) {
                failed.append("\(name): \(problem)")
            } else {
                passed += 1
            }
        }
        for (reason, names) in skips.sorted(by: { $0.key < $1.key }) {
            print("\(kind): skipped \(names.count) (\(reason)): \(names.joined(separator: " "))")
        }
        print("\(kind): \(passed) passed, \(failed.count) failed, \(skips.values.reduce(0) { $0 + $1.count }) skipped")
        for f in failed { print("  FAIL \(f)") }
        #expect(failed.isEmpty)
        let floor = [
            "pytorch-converted": ONNXTestData.floors.pytorchConverted,
            "pytorch-operator": ONNXTestData.floors.pytorchOperator, "simple": ONNXTestData.floors.simple,
        ][kind, default: 0]
        #expect(passed >= floor, "\(kind): \(passed) passed; the README states \(floor)")
    }
}

extension ONNXConformanceTests {
    /// The differentiable operators: for each, node tests with small float inputs are run with
    /// gradients, checked against central finite differences.
    static let differentiable = [
        "Conv", "ConvTranspose", "BatchNormalization", "Gemm", "MatMul", "LeakyRelu", "PRelu", "Sigmoid",
        "HardSigmoid", "Tanh", "Erf", "Softmax", "LogSoftmax", "Add", "Sub", "Mul", "Div", "Sqrt", "Exp", "Neg",
        "AveragePool", "MaxPool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape", "Transpose", "Concat",
        "Split", "Slice", "Squeeze", "Unsqueeze", "Gather", "Pad", "Resize", "ReduceMean", "ReduceSum", "LRN", "Sum",
        "Expand", "Where", "Relu", "Clip", "HardSwish", "Pow", "Identity", "Dropout", "InstanceNormalization", "Elu",
        "Selu", "Softplus", "Softsign", "Log", "Abs", "Reciprocal", "Mean", "Max", "Min", "ReduceMax", "ReduceMin",
        "Tile", "Gelu",
    ]

    @Test func gradientsFlowThroughImportedOperators() throws {
        let root = ONNXTestData.root + "/node"
        var checked: [String: Int] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            let operators = try self.operators(root + "/" + name)
            guard operators.count == 1, let op = operators.first, Self.differentiable.contains(op),
                (checked[op] ?? 0) < 3, ONNXTestData.skipReason(name, operators: operators) == nil,
                ONNXTestData.check(root + "/" + name) == nil
            else { continue }
            let f = try ONNXImport.function(root + "/" + name + "/model.onnx")
            let dir = root + "/" + name + "/test_data_set_0"
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("input_") }
                .sorted {
                    $0.count == $1.count ? $0 < $1 : $0.count < $1.count
                }
            let inputs = try files.map { try ONNXImport.readTensor("\(dir)/\($0)") }
            let settings = ONNXImportInspection.settingInputs(of: op)
            let floats = inputs.indices.filter { inputs[$0].dtype == .float32 && !settings.contains($0) }
            guard !floats.isEmpty, floats.reduce(0, { $0 + inputs[$1].count }) <= 1500,
                inputs.allSatisfy({ $0.dtype != .float32 || !$0.toArray(Float.self).contains { $0.isNaN } })
            else { continue }
            // Kinked functions are checked away from their kinks, Sqrt and Pow where they are smooth.
            let kinked = ["Relu", "LeakyRelu", "PRelu", "HardSwish", "HardSigmoid", "Elu", "Selu", "Abs"].contains(op)
            if kinked, inputs[0].toArray(Float.self).contains(where: { abs($0) < 0.01 }) { continue }
            // Selections (max, min) are checked where no two values tie: at a tie the derivative does not exist.
            if ["Max", "Min", "ReduceMax", "ReduceMin"].contains(op), Self.hasNearTies(floats.map { inputs[$0] }) {
                continue
            }
            if ["Sqrt", "Pow", "Log", "Reciprocal"].contains(op),
                inputs[0].toArray(Float.self).contains(where: { $0 <= 0.1 })
            {
                continue
            }
            let output = try withoutGradients { try f(inputs) }
            guard output.first?.dtype == .float32 else { continue }
            try checkGradients(
                of: { xs in
                    var all = inputs
                    for (k, i) in floats.enumerated() { all[i] = xs[k] }
                    return try f(all)[0]
                }, at: floats.map { inputs[$0] }, epsilon: 1e-3, rtol: 2e-2, name)
            checked[op, default: 0] += 1
        }
        print(
            "gradient checks per operator: \(checked.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))"
        )
        #expect(
            checked.count >= ONNXTestData.floors.gradientChecked,
            "\(checked.count) operators gradient-checked; the README states \(ONNXTestData.floors.gradientChecked)")
    }

    /// Whether any two values of `tensors` lie within 0.01 of each other.
    static func hasNearTies(_ tensors: [Tensor]) -> Bool {
        let values = tensors.flatMap { $0.toArray(Float.self) }.sorted()
        return zip(values, values.dropFirst()).contains { $1 - $0 < 0.01 }
    }
}
