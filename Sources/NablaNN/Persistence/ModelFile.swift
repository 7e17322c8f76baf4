import Foundation
import Nabla

/// Describes the `.nabla` model file.
///
/// It is a safetensors file: the model's parameters under their hierarchical names, and in its
/// metadata (strings, some of them JSON):
/// - `format` = `nabla`, `format_version` = ``formatVersion``;
/// - `architecture`: the layer tree, each node `{"type", "name", "config", "layers"?, "trainable"?}`;
/// - `input`: the per-example ``InputSpec`` (shape, dtype, layout);
/// - `class_names`: a JSON list, when the model has them;
/// - `preprocessing`: how a raw image becomes the model's input (``Preprocessing``);
/// - in checkpoints, `checkpoint` (`TrainingCheckpoint`) and the optimizer's state tensors
///   under `optimizer/<slot>/<parameter>`.
///
/// Python's `safetensors` package reads it as it is. Files of format 1 hold weights only.
public enum ModelFile {
    private static let loaderLock = NSLock()
    nonisolated(unsafe) private static var loaders: [String: @Sendable (String) throws -> Model] = [:]

    /// Makes ``Model/load(_:)`` read files ending in `.ext` with `loader` (how NablaIO adds ONNX).
    public static func registerLoader(forExtension ext: String, _ loader: @escaping @Sendable (String) throws -> Model)
    {
        loaderLock.withLock { loaders[ext.lowercased()] = loader }
    }

    static func loader(forExtension ext: String) -> (@Sendable (String) throws -> Model)? {
        loaderLock.withLock { loaders[ext] }
    }

    /// The format version this build writes and the newest it reads.
    public static let formatVersion = 2
    /// The deepest nesting of layers a file may describe.
    public static let maxDepth = 32
    /// The most layers a file may describe.
    public static let maxLayers = 65_536
    /// The longest architecture description a file may hold (bytes).
    public static let maxArchitectureBytes = 16 << 20

    /// The prefix of the optimizer's state tensors in a checkpoint.
    static let optimizerPrefix = "optimizer/"

    /// One node of the architecture.
    struct LayerSpec: Codable {
        var type: String
        var name: String
        var trainable: Bool?
        var config: [String: JSONValue]
        var layers: [LayerSpec]?
    }

    /// Returns the architecture of `layer` as a tree of specs.
    static func spec(of layer: Layer) throws -> LayerSpec {
        let kind = type(of: layer)
        guard let serializable = layer as? any SerializableLayer else {
            throw NablaError(
                .invalidArgument,
                "layer '\(layer.name)' (\(kind)) cannot describe itself in a model file: conform it to SerializableLayer and register it with LayerRegistry.register, or save the weights alone with saveWeights(to:)"
            )
        }
        let typeName = type(of: serializable).typeName
        guard LayerRegistry.type(named: typeName) != nil else {
            throw NablaError(
                .invalidArgument,
                "layer '\(layer.name)': its type \(typeName) is not registered; call LayerRegistry.register(\(kind).self) first"
            )
        }
        let children = type(of: serializable).savesChildren ? try layer.children.map(spec(of:)) : nil
        return LayerSpec(
            type: typeName, name: layer.name, trainable: layer.isTrainable ? nil : false,
            config: serializable.config.values, layers: children)
    }

    /// Encodes `value` as compact JSON with sorted keys.
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes the JSON metadata entry `key` after checking its size and nesting.
    static func decode<T: Decodable>(_ type: T.Type, _ key: String, from metadata: [String: String]) throws -> T? {
        guard let text = metadata[key] else { return nil }
        guard text.utf8.count <= maxArchitectureBytes else {
            throw NablaError(
                .resourceLimit, "'\(key)' is \(text.utf8.count) bytes, more than the \(maxArchitectureBytes) allowed")
        }
        var depth = 0, deepest = 0, inString = false, escaped = false
        for byte in text.utf8 {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == 34 {
                    inString = false
                }
                continue
            }
            switch byte {
            case 34: inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        // Each layer of nesting takes two JSON levels (its object and its "layers" list).
        guard deepest <= 2 * maxDepth + 8 else {
            throw NablaError(
                .resourceLimit, "'\(key)' nests \(deepest) levels deep; a model file may nest layers \(maxDepth) deep")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(T.self, from: Data(text.utf8)) } catch {
            throw NablaError(.corruptFile, "'\(key)' is not a valid description: \(error)")
        }
    }

    /// Makes the layer tree of `spec`, counting layers against ``maxLayers``.
    static func makeLayer(_ spec: LayerSpec, depth: Int = 1, count: inout Int) throws -> Layer {
        count += 1
        guard count <= maxLayers, depth <= maxDepth else {
            throw NablaError(
                .resourceLimit,
                "the architecture has more than \(maxLayers) layers or nests deeper than \(maxDepth) (at layer '\(spec.name.prefix(64))')"
            )
        }
        guard (1...128).contains(spec.name.count), !spec.name.contains(".") else {
            throw NablaError(
                .corruptFile, "layer name '\(spec.name.prefix(64))' must have 1 to 128 characters and no '.'")
        }
        guard let kind = LayerRegistry.type(named: spec.type) else {
            throw NablaError(
                .unsupportedOperator,
                "layer '\(spec.name)' has the unknown type '\(spec.type.prefix(64))'; a custom layer must be registered with LayerRegistry.register before loading"
            )
        }
        if !kind.savesChildren && spec.layers != nil {
            throw NablaError(.corruptFile, "layer '\(spec.name)' (\(spec.type)) lists sublayers it does not take")
        }
        var children: [Layer] = []
        for child in spec.layers ?? [] {
            children.append(try makeLayer(child, depth: depth + 1, count: &count))
        }
        var config = LayerConfig(spec.config)
        config.owner = "layer '\(spec.name)' (\(spec.type))"
        let layer = try kind.make(config, children: children)
        layer.name = spec.name
        if spec.trainable == false { layer.isTrainable = false }
        return layer
    }

    /// Checks that `metadata` is a Nabla model file's this version reads.
    static func checkFormat(_ metadata: [String: String], path: String) throws {
        let version = metadata["format_version"].flatMap(Int.init)
        if let version, version > formatVersion {
            throw NablaError(
                .unsupportedVersion,
                "model file format \(version) is newer than this version of Nabla reads (\(formatVersion)); upgrade Nabla",
                path: path)
        }
        guard metadata["format"] == "nabla" else {
            let found = metadata["format"].map { "'\($0.prefix(64))'" } ?? "missing"
            throw NablaError(.corruptFile, "not a Nabla model file: its format is \(found), not 'nabla'", path: path)
        }
        guard version != nil else {
            throw NablaError(
                .corruptFile,
                "model file format_version '\(metadata["format_version"]?.prefix(64) ?? "")' is not a number",
                path: path)
        }
    }
}

/// What a model takes, per example: shape, element type and layout.
public struct InputSpec: Codable, Sendable, Equatable {
    /// The per-example shape (without the batch).
    public var shape: [Int]
    /// `uint8` or `float32`.
    public var dtype: String
    /// `NHWC` for images, `features` for flat vectors.
    public var layout: String

    public init(shape: [Int], dtype: DType = .float32) {
        self.shape = shape
        self.dtype = "\(dtype)"
        layout = shape.count == 3 ? "NHWC" : "features"
    }
}

/// How a raw image (a PNG or JPEG file, a row of a CSV) becomes a model's input.
///
/// Nabla's convention, Keras's: datasets yield raw pixel values 0–255 and the model's first layers
/// rescale and normalise (``Rescaling``), so `scale` is 1 and `offset` 0 unless a model was
/// trained on values prepared outside it.
public struct Preprocessing: Codable, Sendable, Equatable {
    /// Grey or colour.
    public enum ColorMode: String, Codable, Sendable {
        case grayscale, rgb
    }

    public var colorMode: ColorMode
    /// The size images are resized to (bilinear) when theirs differs.
    public var height: Int, width: Int
    /// Applied to raw values before the model: `value · scale + offset`.
    public var scale: Float, offset: Float

    public init(colorMode: ColorMode, height: Int, width: Int, scale: Float = 1, offset: Float = 0) {
        (self.colorMode, self.height, self.width, self.scale, self.offset) = (colorMode, height, width, scale, offset)
    }

    /// Checks values read from a file: sides in `1...32768` within the image-pixel limit
    /// (`NABLA_MAX_IMAGE_PIXELS`), a finite scale and offset.
    ///
    /// - Throws: `NablaError` (`.corruptFile`) naming the bad value.
    public func validate() throws {
        guard (1...(1 << 15)).contains(height), (1...(1 << 15)).contains(width),
            height * width <= ResourceLimits.maxImagePixels
        else {
            throw NablaError(
                .corruptFile,
                "preprocessing: images of \(height)×\(width) (sides 1 to 32768, at most \(ResourceLimits.maxImagePixels) pixels)"
            )
        }
        guard scale.isFinite, offset.isFinite else {
            throw NablaError(.corruptFile, "preprocessing: scale \(scale) and offset \(offset) must be finite")
        }
    }

    /// The convention for an NHWC input of 1 or 3 channels; nil for other inputs.
    public init?(for input: [Int]) {
        guard input.count == 3, input[2] == 1 || input[2] == 3 else { return nil }
        self.init(colorMode: input[2] == 1 ? .grayscale : .rgb, height: input[0], width: input[1])
    }
}

extension Model {
    /// Saves the whole model to `path`, atomically: architecture, weights, input, class names and
    /// preprocessing, so ``load(_:)`` rebuilds it with no code (Keras `model.save`).
    ///
    /// - Throws: `NablaError`: `.invalidArgument` for a model not built yet or holding a layer
    ///   that cannot describe itself (see ``SerializableLayer``); `.io` when the file cannot be
    ///   written (a previous file stays intact).
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        try Safetensors.write(
            parameters().map { ($0.name, $0.parameter.value) }, metadata: try fileMetadata(metadata), to: path)
    }

    /// The metadata of a model file: `extra`, then the format, architecture, input, class names and preprocessing.
    func fileMetadata(_ extra: [String: String]) throws -> [String: String] {
        guard let shape = inputShape else {
            throw NablaError(.invalidArgument, "\(name) is not built yet; give it an input shape or train it first")
        }
        var meta = extra
        meta["format"] = "nabla"
        meta["format_version"] = String(ModelFile.formatVersion)
        meta["architecture"] = try ModelFile.json(try ModelFile.spec(of: self))
        let input = inputSpec ?? InputSpec(shape: shape, dtype: convertsIntegerInputs ? .uint8 : .float32)
        meta["input"] = try ModelFile.json(input)
        if let classNames { meta["class_names"] = try ModelFile.json(classNames) }
        if let preprocessing = preprocessing ?? Preprocessing(for: shape) {
            meta["preprocessing"] = try ModelFile.json(preprocessing)
        }
        return meta
    }

    /// Rebuilds a model saved by ``save(to:metadata:)``: Keras's `load_model`.
    ///
    /// The model comes back built, with its weights, input spec, class names and preprocessing, in
    /// inference mode and not compiled.
    ///
    /// - Throws: `NablaError`, naming the file and the layer: `.unsupportedVersion` for a newer
    ///   format; `.unsupportedOperator` for a layer type that is not registered; `.corruptFile`
    ///   for a description that is not valid, a parameter missing, extra or of another shape;
    ///   `.resourceLimit` for an architecture too large or too deep; the safetensors reader's errors.
    public static func load(_ path: String) throws -> Model {
        let ext = (path as NSString).pathExtension.lowercased()
        if ext != "nabla", let loader = ModelFile.loader(forExtension: ext) { return try loader(path) }
        let (tensors, metadata) = try Safetensors.read(path)
        return try NablaError.at(path) {
            try ModelFile.checkFormat(metadata, path: path)
            guard let spec = try ModelFile.decode(ModelFile.LayerSpec.self, "architecture", from: metadata) else {
                throw NablaError(
                    .corruptFile,
                    "the file holds weights but no architecture (saved by saveWeights or by an older Nabla); build the model in code and call loadWeights(from:)"
                )
            }
            var count = 0
            guard let model = try ModelFile.makeLayer(spec, count: &count) as? Model else {
                throw NablaError(
                    .corruptFile, "the architecture's top layer '\(spec.name)' (\(spec.type)) is not a model")
            }
            guard let input = try ModelFile.decode(InputSpec.self, "input", from: metadata),
                (1...8).contains(input.shape.count), ["uint8", "float32"].contains(input.dtype)
            else {
                throw NablaError(
                    .corruptFile, "the file's 'input' is missing or not a shape of rank 1 to 8 with a dtype")
            }
            let values = tensors.filter { !$0.key.hasPrefix(ModelFile.optimizerPrefix) }.values.reduce(0) {
                $0 + $1.count
            }
            try Layer.$loadingBudget.withValue(Layer.LoadingBudget(values)) {
                _ = try model.buildChecked(inputShape: input.shape)
            }
            try model.assign(tensors, path: path, exact: true)
            model.inputSpec = input
            model.classNames = try ModelFile.decode([String].self, "class_names", from: metadata)
            model.preprocessing = try ModelFile.decode(Preprocessing.self, "preprocessing", from: metadata)
            try model.preprocessing?.validate()
            // One sigmoid output may name two classes.
            if let names = model.classNames, let classes = model.outputShape?.last, names.count != classes,
                model.outputShape?.count == 1, !(classes == 1 && names.count == 2)
            {
                throw NablaError(
                    .corruptFile, "the file names \(names.count) classes but the model has \(classes) outputs")
            }
            model.isTraining = false
            return model
        }
    }
}

extension Layer {
    /// Saves the parameters alone (weights and statistics) to `path`, atomically (Keras
    /// `save_weights`); ``loadWeights(from:)`` loads them into a model built by the same code.
    ///
    /// - Throws: `NablaError` (`.io`) when the file cannot be written; a previous file stays intact.
    public func saveWeights(to path: String, metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta["format"] = "nabla"
        meta["format_version"] = String(ModelFile.formatVersion)
        try Safetensors.write(parameters().map { ($0.name, $0.parameter.value) }, metadata: meta, to: path)
    }

    /// Loads parameter values from a model file (whole or weights only) into this built model.
    ///
    /// - Throws: `NablaError`: `.invalidArgument` for a model not built yet (it has no
    ///   parameters to load into); `.corruptFile` for a file whose `format` is not `nabla` or whose
    ///   `format_version` is not a number; `.unsupportedVersion` for a file from a newer format;
    ///   `.invalidArgument` naming the parameter when one is missing or has another shape; and the
    ///   safetensors reader's errors for a corrupt file. Nothing is changed unless all fit.
    public func loadWeights(from path: String) throws {
        guard outputShape != nil else {
            throw NablaError(
                .invalidArgument,
                "\(name) is not built yet, so it has no parameters to load into; give it an input shape first",
                path: path)
        }
        let (tensors, metadata) = try Safetensors.read(path)
        try ModelFile.checkFormat(metadata, path: path)
        try assign(tensors, path: path, exact: false)
    }

    /// Sets every parameter from `tensors` by name.
    ///
    /// With `exact`, the file may hold no other parameters. Nothing changes unless all fit.
    func assign(_ tensors: [String: Tensor], path: String, exact: Bool) throws {
        let targets = parameters()
        for (name, parameter) in targets {
            guard let value = tensors[name] else {
                throw NablaError(.invalidArgument, "the file has no parameter '\(name)'", path: path)
            }
            guard value.shape == parameter.value.shape, value.dtype == parameter.value.dtype else {
                throw NablaError(
                    .invalidArgument,
                    "parameter '\(name)' is \(value.dtype) \(value.shape) in the file but \(parameter.value.dtype) \(parameter.value.shape) in the model",
                    path: path)
            }
        }
        if exact {
            let known = Set(targets.map(\.name))
            if let extra = tensors.keys.sorted().first(where: {
                !known.contains($0) && !$0.hasPrefix(ModelFile.optimizerPrefix)
            }) {
                throw NablaError(
                    .corruptFile, "the file has a parameter '\(extra.prefix(128))' the architecture has no place for",
                    path: path)
            }
        }
        for (name, parameter) in targets { if let value = tensors[name] { parameter.value.assign(value) } }
    }
}
