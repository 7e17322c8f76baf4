import Foundation
import Nabla
import Testing

@testable import NablaNN

/// A custom layer with a configuration of its own, registered by name.
final class Scale: Layer, SerializableLayer, @unchecked Sendable {
    let factor: Float
    init(factor: Float) {
        self.factor = factor
        super.init()
    }
    override func forward(_ input: Tensor) -> Tensor { input * factor }
    var config: LayerConfig { LayerConfig(["factor": .number(Double(factor))]) }
    static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        Scale(factor: try config.float("factor"))
    }
}

/// A custom model that branches: two dense heads on one input, concatenated.
///
/// Its sublayers come from its configuration, so the file holds only `units`.
final class TwoHeads: Model, SerializableLayer, @unchecked Sendable {
    let units: Int
    let left: Dense, right: Dense, join = Concatenate()
    init(units: Int) {
        self.units = units
        (left, right) = (Dense(units: units, name: "left"), Dense(units: units, activation: .tanh, name: "right"))
        super.init(name: "two_heads")
        addChild(left)
        addChild(right)
        addChild(join)
    }
    override func build(inputShape: [Int]) throws -> [Int] {
        try left.buildChecked(inputShape: inputShape)
        try right.buildChecked(inputShape: inputShape)
        return [2 * units]
    }
    override func forward(_ input: Tensor) -> Tensor { join([left(input), right(input)]) }
    var config: LayerConfig { LayerConfig(["units": .number(Double(units))]) }
    static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        TwoHeads(units: try config.int("units"))
    }
}

@Suite struct ModelLoadTests {
    static func path(_ name: String) -> String {
        let folder = NSTemporaryDirectory() + "nabla-load-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return "\(folder)/\(name)"
    }

    /// Nested containers, a residual branch, a custom layer and a frozen block come back with the
    /// same configuration, names, trainability and outputs.
    @Test func nestedBranchingAndCustomLayersRoundTrip() throws {
        LayerRegistry.register(Scale.self)
        try Random.withSeed(3) {
            let model = Sequential(inputShape: [6, 6, 2], name: "net") {
                Rescaling(scale: 1.0 / 255)
                Sequential(name: "stem") {
                    Conv2D(filters: 4, kernelSize: 3, padding: .same, activation: .leakyRelu(alpha: 0.2))
                    BatchNormalization(momentum: 0.9)
                }
                Residual(
                    Sequential {
                        Conv2D(filters: 4, kernelSize: 3, padding: .same, useBias: false, kernelInitializer: .heNormal)
                        ActivationLayer(.relu)
                    }, activation: .relu)
                Scale(factor: 0.5)
                MaxPool2D(poolSize: 2, strides: [1, 2], padding: .explicit(top: 0, bottom: 1, left: 0, right: 0))
                Flatten()
                Dense(units: 3, activation: .softmax)
            }
            model.layers[1].isTrainable = false
            model.classNames = ["x", "y", "z"]
            let path = Self.path("net.nabla")
            try model.save(to: path)
            let loaded = try #require(try Model.load(path) as? Sequential)
            #expect(loaded.name == "net" && loaded.classNames == ["x", "y", "z"])
            #expect(loaded.parameters().map(\.name) == model.parameters().map(\.name))
            #expect(loaded.parameters().map(\.parameter.isTrainable) == model.parameters().map(\.parameter.isTrainable))
            #expect(loaded.inputSpec == InputSpec(shape: [6, 6, 2], dtype: .uint8))
            #expect(loaded.summary() == model.summary())
            let x = Tensor.uniform([5, 6, 6, 2], high: 255)
            #expect(try loaded.predict(x).toArray() == (try model.predict(x)).toArray())
        }
    }

    @Test func customBranchingModelRoundTrips() throws {
        LayerRegistry.register(TwoHeads.self)
        let model = TwoHeads(units: 3)
        try model.buildChecked(inputShape: [4])
        let path = Self.path("heads.nabla")
        try model.save(to: path)
        let loaded = try Model.load(path)
        let x = Tensor.uniform([2, 4])
        #expect(loaded.outputShape == [6])
        #expect(try loaded.predict(x).toArray() == (try model.predict(x)).toArray())
    }

    @Test func layersThatCannotDescribeThemselvesAreNamed() throws {
        final class Opaque: Layer, @unchecked Sendable {}
        let model = Sequential(inputShape: [3]) { Opaque() }
        #expect { try model.save(to: Self.path("m.nabla")) } throws: {
            "\($0)".contains("layer 'opaque'") && "\($0)".contains("saveWeights")
        }
        try model.saveWeights(to: Self.path("w.nabla"))
    }

    /// Writes a model file by hand: `architecture` and `input` as given, weights `tensors`.
    static func file(
        _ architecture: String, input: String = #"{"shape":[4],"dtype":"float32","layout":"features"}"#,
        tensors: [(String, Tensor)] = [], version: String = "2"
    ) throws -> String {
        let path = Self.path("hostile.nabla")
        try Safetensors.write(
            tensors,
            metadata: ["format": "nabla", "format_version": version, "architecture": architecture, "input": input],
            to: path)
        return path
    }

    static func dense(_ units: Any, name: String = "dense", type: String = "Dense") -> String {
        #"{"type":"\#(type)","name":"\#(name)","config":{"units":\#(units),"activation":"linear","use_bias":true,"kernel_initializer":"zeros","bias_initializer":"zeros"}}"#
    }

    static func sequential(_ layers: String...) -> String {
        #"{"type":"Sequential","name":"seq","config":{},"layers":[\#(layers.joined(separator: ","))]}"#
    }

    @Test func hostileArchitecturesGiveClearErrors() throws {
        let weights: [(String, Tensor)] = [("dense.weight", Tensor.zeros([4, 2])), ("dense.bias", Tensor.zeros([2]))]
        func expectError(_ path: String, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(sourceLocation: sourceLocation) { _ = try Model.load(path) } throws: { error in
                let text = "\(error)"
                return fragments.allSatisfy(text.contains) && text.contains(path)
            }
        }
        // A valid file loads.
        _ = try Model.load(try Self.file(Self.sequential(Self.dense(2)), tensors: weights))
        expectError(
            try Self.file(Self.sequential(Self.dense(2, type: "Teleporter")), tensors: weights),
            "layer 'dense' has the unknown type 'Teleporter'")
        expectError(try Self.file(Self.sequential(Self.dense(0)), tensors: weights), "layer 'dense' (Dense): 'units'")
        expectError(
            try Self.file(Self.sequential(Self.dense("\"two\"")), tensors: weights), "'units' must be an integer")
        expectError(
            try Self.file(Self.sequential(Self.dense(1)), tensors: weights),
            "parameter 'dense.weight' is float32 [4, 2] in the file but float32 [4, 1] in the model")
        expectError(
            try Self.file(Self.sequential(Self.dense(1 << 24)), tensors: weights),
            "parameter 'weight' of shape [4, 16777216] needs more values than the file holds")
        expectError(
            try Self.file(Self.sequential(Self.dense(2)), tensors: weights + [("extra", Tensor.zeros([1]))]),
            "'extra' the architecture has no place for")
        expectError(
            try Self.file(
                Self.sequential(
                    #"{"type":"Conv2D","name":"conv","config":{"filters":2,"kernel_size":[3,3],"strides":[1,1],"padding":"valid","dilation":[1,1],"groups":1,"activation":"relu","use_bias":true,"kernel_initializer":"zeros","bias_initializer":"zeros"}}"#
                )),
            "conv: expected NHWC input")
        expectError(
            try Self.file(
                Self.sequential(Self.dense(2)),
                input: #"{"shape":[99999999,99999999,99999],"dtype":"float32","layout":"NHWC"}"#),
            "shape [99999999, 99999999, 99999] is empty or too large")
        expectError(try Self.file("{\"type\":", tensors: weights), "'architecture' is not a valid description")
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        expectError(try Self.file(deep), "nests 100000 levels deep")
        var nested = Self.dense(2)
        for _ in 0..<33 { nested = Self.sequential(nested) }
        expectError(try Self.file(nested, tensors: weights), "nests deeper than 32")
        let wide = Self.sequential(
            Array(repeating: #"{"type":"Flatten","name":"f","config":{}}"#, count: 70_000).joined(separator: ","))
        expectError(try Self.file(wide), "more than 65536 layers")
        expectError(
            try Self.file(Self.sequential(Self.dense(2, name: "a.b")), tensors: weights),
            "must have 1 to 128 characters")
        expectError(try Self.file(Self.sequential(Self.dense(2)), version: "3"), "model file format 3 is newer")
        let weightsOnly = Self.path("w.nabla")
        try Sequential(inputShape: [4]) { Dense(units: 2) }.saveWeights(to: weightsOnly)
        expectError(weightsOnly, "holds weights but no architecture")
    }

    /// A layer without parameters may not declare more activations per example than
    /// NABLA_MAX_MODEL_VALUES: zero padding of 16,384 on each side of a 4×4 image asks for
    /// 32,772² values (above 2^30, below the 2^34 a shape may have).
    @Test func activationsOfParameterFreeLayersAreCharged() throws {
        let padding = #"{"type":"ZeroPadding2D","name":"pad","config":{"padding":[16384,16384]}}"#
        let path = try Self.file(
            Self.sequential(padding), input: #"{"shape":[4,4,1],"dtype":"float32","layout":"NHWC"}"#)
        #expect { _ = try Model.load(path) } throws: { "\($0)".contains("more than NABLA_MAX_MODEL_VALUES") }
    }

    /// Preprocessing read from a file is checked: no side of 0 or below, no 100000 × 100000
    /// images (40 GiB to decode), no NaN scale.
    @Test func hostilePreprocessingIsRefused() throws {
        let weights: [(String, Tensor)] = [("dense.weight", Tensor.zeros([4, 2])), ("dense.bias", Tensor.zeros([2]))]
        for (preprocessing, expected) in [
            (#"{"colorMode":"grayscale","height":-5,"width":28,"scale":1,"offset":0}"#, "images of -5×28"),
            (#"{"colorMode":"grayscale","height":0,"width":28,"scale":1,"offset":0}"#, "images of 0×28"),
            (#"{"colorMode":"rgb","height":100000,"width":100000,"scale":1,"offset":0}"#, "images of 100000×100000"),
            (#"{"colorMode":"rgb","height":28,"width":28,"scale":"nan","offset":0}"#, "must be finite"),
        ] {
            let path = Self.path("preprocessing.nabla")
            try Safetensors.write(
                weights,
                metadata: [
                    "format": "nabla", "format_version": "2", "architecture": Self.sequential(Self.dense(2)),
                    "input": #"{"shape":[4],"dtype":"float32","layout":"features"}"#, "preprocessing": preprocessing,
                ], to: path)
            #expect { _ = try Model.load(path) } throws: { "\($0)".contains(expected) }
        }
    }

    /// A run stopped after epoch 2 and continued from its checkpoint in a new model equals the
    /// uninterrupted run bit for bit: weights, optimizer state and history (dropout and shuffling
    /// included).
    @Test func resumingFromACheckpointEqualsTheUninterruptedRun() throws {
        let (x, y) = Toy.data()
        func compiled() -> Sequential {
            Random.withSeed(11) {
                let model = Toy.model()
                model.compile(
                    optimizer: Adam(learningRate: 0.01, schedule: CosineDecay(initial: 0.01, decaySteps: 20)),
                    loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
                return model
            }
        }
        let whole = compiled()
        let full = try whole.fit(x: x, y: y, batchSize: 16, epochs: 4, validationSplit: 0.25, verbose: .silent, seed: 9)

        let path = Self.path("ckpt-{epoch}.nabla")
        let first = compiled()
        try first.fit(
            x: x, y: y, batchSize: 16, epochs: 2, validationSplit: 0.25,
            callbacks: [ModelCheckpoint(path: path, monitor: "loss")], verbose: .silent, seed: 9)
        let second = compiled()
        let progress = try second.loadCheckpoint(from: path.replacingOccurrences(of: "{epoch}", with: "2"))
        #expect(progress.epochs == 2 && progress.seed == 9)
        try second.fit(
            x: x, y: y, batchSize: 16, epochs: 4, validationSplit: 0.25, verbose: .silent, seed: progress.seed,
            initialEpoch: progress.epochs)
        #expect(second.progress?.history == full)
        #expect(
            second.weightsSnapshot().mapValues { $0.toArray() } == whole.weightsSnapshot().mapValues { $0.toArray() })
        #expect(second.optimizer?.iterations == whole.optimizer?.iterations)
    }

    @Test func dataScaledTwiceIsRefused() throws {
        let model = Sequential(inputShape: [8, 8, 1]) {
            Rescaling(scale: 1.0 / 255)
            Flatten()
            Dense(units: 3, activation: .softmax)
        }
        model.compile(optimizer: Adam(), loss: SparseCategoricalCrossEntropy())
        let (x, y) = Toy.data()
        let scaled = x.clamp(min: 0, max: 1)
        #expect { try model.fit(x: scaled, y: y, verbose: .silent) } throws: {
            "\($0)".contains("expects raw 0–255 pixels; remove Rescale()")
        }
        try model.fit(x: scaled * 255, y: y, verbose: .silent)
    }
}

/// Loading a file of many layers takes work linear in their count: adding a child never passes
/// over its siblings (a 60,000-layer file took 150 s when it did).
@Suite struct ManyLayersTests {
    @Test func sixtyThousandLayersOfOneNameLoadWithLinearWork() throws {
        let n = 60_000
        let path = NSTemporaryDirectory() + "nabla-wide-\(UUID().uuidString).nabla"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let architecture =
            #"{"type":"Sequential","name":"seq","config":{},"layers":["#
            + Array(repeating: #"{"type":"Flatten","name":"f","config":{}}"#, count: n).joined(separator: ",") + "]}"
        try Safetensors.write(
            [],
            metadata: [
                "format": "nabla", "format_version": "2", "architecture": architecture,
                "input": #"{"shape":[4],"dtype":"float32","layout":"features"}"#,
            ], to: path)
        let counter = Layer.LookupCounter()
        let model = try Layer.$nameLookups.withValue(counter) { try Model.load(path) }
        #expect(model.children.count == n)
        #expect(Set(model.children.map(\.name)).count == n, "names are unique")
        #expect(counter.count <= 4 * n, "\(counter.count) name lookups for \(n) layers")
    }
}
