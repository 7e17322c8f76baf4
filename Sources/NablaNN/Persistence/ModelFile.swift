import Foundation
import Nabla

/// Describes the `.nabla` model file.
///
/// It is a safetensors file of the model's parameters under their
/// hierarchical names, with the format version and the layer list in its metadata.
/// Python's `safetensors` package reads it as it is.
public enum ModelFile {
    /// The format version this build writes and the newest it reads.
    public static let formatVersion = 1

    /// Describes the layers (name and type, in order) for the metadata.
    static func layerList(_ model: Layer) -> String {
        let entries = (model.children.isEmpty ? [model] : model.children).map {
            ["name": $0.name, "type": String(describing: type(of: $0))]
        }
        let data = (try? JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension Layer {
    /// Saves the parameters (weights and statistics) to `path`, atomically.
    ///
    /// - Throws: ``NablaError`` (`.io`) when the file cannot be written; a previous file stays intact.
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta["format"] = "nabla"
        meta["format_version"] = String(ModelFile.formatVersion)
        meta["layers"] = ModelFile.layerList(self)
        try Safetensors.write(parameters().map { ($0.name, $0.parameter.value) }, metadata: meta, to: path)
    }

    /// Loads parameter values saved by ``save(to:metadata:)`` into this (built) model.
    ///
    /// - Throws: ``NablaError``: `.invalidArgument` for a model not built yet (it has no
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
        let version = metadata["format_version"].flatMap(Int.init)
        if let version, version > ModelFile.formatVersion {
            throw NablaError(
                .unsupportedVersion,
                "model file format \(version) is newer than this version of Nabla reads (\(ModelFile.formatVersion)); upgrade Nabla",
                path: path)
        }
        guard metadata["format"] == "nabla" else {
            let found = metadata["format"].map { "'\($0)'" } ?? "missing"
            throw NablaError(.corruptFile, "not a Nabla model file: its format is \(found), not 'nabla'", path: path)
        }
        guard version != nil else {
            throw NablaError(
                .corruptFile, "model file format_version '\(metadata["format_version"] ?? "")' is not a number",
                path: path)
        }
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
        for (name, parameter) in targets { if let value = tensors[name] { parameter.value.assign(value) } }
    }
}
