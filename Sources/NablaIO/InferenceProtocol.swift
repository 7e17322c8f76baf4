import Foundation
import Nabla
import NablaNN

/// What a served model takes and gives, as the Open Inference Protocol describes it.
package struct InferenceSignature: Sendable {
    package var modelName: String
    package var version = "1"
    package var inputName = "input", inputShape: [Int]
    package var outputName = "output", outputShape: [Int]
    /// Labels of the outputs, for the classification extension.
    package var classNames: [String]?

    package var inputValues: Int { inputShape.reduce(1, *) }
    package var outputValues: Int { outputShape.reduce(1, *) }

    package init(modelName: String, inputShape: [Int], outputShape: [Int], classNames: [String]?) {
        (self.modelName, self.inputShape, self.outputShape, self.classNames) =
            (modelName, inputShape, outputShape, classNames)
    }
}

/// An error answered to a client: what went wrong, and the HTTP status it maps to.
package struct ServeError: Error, CustomStringConvertible, Sendable {
    package enum Kind: Sendable {
        case badRequest, notFound, tooLarge, unsupportedMediaType, timeout, unavailable, internalError

        package var status: Int {
            switch self {
            case .badRequest: 400
            case .notFound: 404
            case .tooLarge: 413
            case .unsupportedMediaType: 415
            case .timeout: 504
            case .unavailable: 503
            case .internalError: 500
            }
        }
    }

    package let kind: Kind
    package let message: String

    package init(_ kind: Kind, _ message: String) { (self.kind, self.message) = (kind, message) }

    package var description: String { message }
}

/// The Open Inference Protocol v2 (KServe, Triton) request and response bodies, with the binary
/// tensor data and classification extensions.
///
/// Everything a request gives is checked against the model before anything is allocated from it
/// or run: names, datatypes, shapes (checked products), byte counts, numbers.
package enum InferenceProtocol {
    /// The datatypes accepted for the input; all become `FP32` for the model.
    package static let elementSizes = ["FP32": 4, "UINT8": 1, "INT64": 8]
    /// The most examples one request may hold.
    package static let maxRequestRows = 65_536

    /// What was asked of one output.
    package struct RequestedOutput {
        package var binary: Bool
        package var classification: Int
    }

    /// A checked request: its examples as floats, and how to answer.
    package struct Request {
        package init(id: String?, rows: Int, input: [Float], output: RequestedOutput?) {
            (self.id, self.rows, self.input, self.output) = (id, rows, input, output)
        }

        package var id: String?
        package var rows: Int
        package var input: [Float]
        package var output: RequestedOutput?
    }

    /// Parses and checks an infer request body (JSON, or a JSON header followed by binary tensors
    /// when `headerLength` is given).
    package static func parse(_ body: [UInt8], headerLength: Int?, for model: InferenceSignature) throws -> Request {
        let jsonEnd = headerLength ?? body.count
        guard jsonEnd >= 0, jsonEnd <= body.count else {
            throw ServeError(
                .badRequest,
                "Inference-Header-Content-Length is \(jsonEnd) but the body holds \(body.count) bytes")
        }
        let object: JSONValue
        do {
            object = try JSONReader.parse(body[0..<jsonEnd])
        } catch let error as NablaError {
            throw ServeError(.badRequest, "the request is not valid JSON: \(error.message)")
        }
        guard let request = object.objectValue else {
            throw ServeError(.badRequest, "the request must be a JSON object")
        }
        let id = request["id"].map { $0.stringValue ?? $0.brief }
        let parameters = request["parameters"]?.objectValue ?? [:]
        guard let inputs = request["inputs"]?.arrayValue?.compactMap(\.objectValue), inputs.count == 1,
            request["inputs"]?.arrayValue?.count == 1
        else {
            throw ServeError(
                .badRequest,
                "'inputs' must be an array of one tensor ('\(model.inputName)') for model '\(model.modelName)'")
        }
        let tensor = inputs[0]
        guard let name = tensor["name"]?.stringValue, name == model.inputName else {
            throw ServeError(
                .badRequest,
                "unknown input \(tensor["name"]?.brief ?? "(none)") for model '\(model.modelName)': it takes '\(model.inputName)'"
            )
        }
        guard let datatype = tensor["datatype"]?.stringValue, let size = elementSizes[datatype] else {
            throw ServeError(
                .badRequest,
                "input '\(name)': datatype \(tensor["datatype"]?.brief ?? "(none)") is not one of FP32, UINT8, INT64")
        }
        let shape = try checkedShape(tensor["shape"], for: model)
        let rows = shape[0]
        let (count, overflow) = rows.multipliedReportingOverflow(by: model.inputValues)
        guard !overflow, rows <= maxRequestRows else {
            throw ServeError(.badRequest, "input '\(name)': batch \(rows) is more than \(maxRequestRows)")
        }
        let binarySize = tensor["parameters"]?.objectValue?["binary_data_size"]
        let values: [Float]
        if let binarySize {
            guard let headerLength else {
                throw ServeError(
                    .badRequest,
                    "input '\(name)' has binary_data_size but the request has no Inference-Header-Content-Length")
            }
            guard let bytes = binarySize.intValue, bytes == count * size else {
                throw ServeError(
                    .badRequest,
                    "input '\(name)': binary_data_size is \(binarySize.brief) but shape \(shape) of \(datatype) needs \(count * size) bytes"
                )
            }
            guard body.count - headerLength == bytes else {
                throw ServeError(
                    .badRequest,
                    "input '\(name)': the body holds \(body.count - headerLength) bytes after the JSON header but binary_data_size is \(bytes)"
                )
            }
            values = decodeBinary(body[headerLength...], datatype: datatype, count: count)
        } else {
            guard headerLength == nil || headerLength == body.count else {
                throw ServeError(
                    .badRequest, "the body has bytes after the JSON header but no input has binary_data_size")
            }
            guard let data = tensor["data"] else {
                throw ServeError(.badRequest, "input '\(name)' has neither 'data' nor binary_data_size")
            }
            values = try flatten(data, datatype: datatype, count: count, name: name)
        }
        guard values.allSatisfy(\.isFinite) else {
            throw ServeError(.badRequest, "input '\(name)' holds a value that is not finite")
        }
        return Request(id: id, rows: rows, input: values, output: try requestedOutput(request, parameters, for: model))
    }

    /// The input's shape: `[rows] + model.inputShape`, with every size a positive integer.
    package static func checkedShape(_ value: JSONValue?, for model: InferenceSignature) throws -> [Int] {
        let expected = "[-1, " + model.inputShape.map(String.init).joined(separator: ", ") + "]"
        guard let list = value?.arrayValue, list.count == model.inputShape.count + 1 else {
            throw ServeError(.badRequest, "input '\(model.inputName)': shape must be \(expected)")
        }
        let shape = list.map { $0.intValue ?? -1 }
        guard shape[0] >= 1, Array(shape.dropFirst()) == model.inputShape else {
            throw ServeError(
                .badRequest,
                "input '\(model.inputName)': shape \(JSONValue.array(list).brief) does not match the model's \(expected)"
            )
        }
        return shape
    }

    /// Binary tensor data, little-endian as the extension says, as floats.
    package static func decodeBinary(_ bytes: ArraySlice<UInt8>, datatype: String, count: Int) -> [Float] {
        bytes.withUnsafeBytes { raw in
            switch datatype {
            case "UINT8":
                return raw.map(Float.init)
            case "INT64":
                return (0..<count).map {
                    Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)))
                }
            default:
                return (0..<count).map {
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
                }
            }
        }
    }

    /// JSON `data`, flat or nested, as `count` floats; UINT8 and INT64 values must be integers in range.
    package static func flatten(_ data: JSONValue, datatype: String, count: Int, name: String) throws -> [Float] {
        var values: [Float] = []
        values.reserveCapacity(count)
        func visit(_ value: JSONValue, depth: Int) throws {
            if let list = value.arrayValue {
                guard depth < 9 else { throw ServeError(.badRequest, "input '\(name)': 'data' is nested too deeply") }
                for item in list {
                    try visit(item, depth: depth + 1)
                    guard values.count <= count else {
                        throw ServeError(
                            .badRequest, "input '\(name)': 'data' holds more than the shape's \(count) values")
                    }
                }
            } else if let double = value.numberValue {
                switch datatype {
                case "UINT8":
                    guard double >= 0, double <= 255, double == double.rounded() else {
                        throw ServeError(.badRequest, "input '\(name)': \(double) is not a UINT8")
                    }
                case "INT64":
                    guard double == double.rounded(), abs(double) < 9.3e18 else {
                        throw ServeError(.badRequest, "input '\(name)': \(double) is not an INT64")
                    }
                default: break
                }
                values.append(Float(double))
            } else {
                throw ServeError(.badRequest, "input '\(name)': 'data' must hold only numbers")
            }
        }
        try visit(data, depth: 0)
        guard values.count == count else {
            throw ServeError(
                .badRequest, "input '\(name)': 'data' holds \(values.count) values but the shape needs \(count)")
        }
        return values
    }

    /// The output asked for: by `outputs` (name, `binary_data`, `classification`) or by the
    /// request's `binary_data_output`; nil when no output is named (then all are returned).
    package static func requestedOutput(
        _ request: [String: JSONValue], _ parameters: [String: JSONValue], for model: InferenceSignature
    ) throws
        -> RequestedOutput
    {
        var result = RequestedOutput(binary: parameters["binary_data_output"]?.boolValue ?? false, classification: 0)
        guard let outputs = request["outputs"] else { return result }
        guard let list = outputs.arrayValue?.compactMap(\.objectValue), list.count <= 1,
            outputs.arrayValue?.count == list.count
        else {
            throw ServeError(.badRequest, "'outputs' must be an array naming at most '\(model.outputName)'")
        }
        guard let output = list.first else { return result }
        guard output["name"]?.stringValue == model.outputName else {
            throw ServeError(
                .badRequest,
                "unknown output \(output["name"]?.brief ?? "(none)") for model '\(model.modelName)': it gives '\(model.outputName)'"
            )
        }
        let p = output["parameters"]?.objectValue ?? [:]
        if let binary = p["binary_data"]?.boolValue { result.binary = binary }
        if let classes = p["classification"] {
            guard let n = classes.intValue, n >= 1, n <= model.outputValues else {
                throw ServeError(
                    .badRequest,
                    "classification must be an integer from 1 to \(model.outputValues), got \(classes.brief)")
            }
            result.classification = n
        }
        return result
    }

    /// The response: JSON alone, or a JSON header and the binary output (its length in `headerLength`).
    package static func response(
        for request: Request, output: [Float], model: InferenceSignature
    ) -> (body: [UInt8], headerLength: Int?) {
        let spec = request.output ?? RequestedOutput(binary: false, classification: 0)
        var json = JSONWriter()
        json.beginObject()
        json.field("model_name", model.modelName)
        json.field("model_version", model.version)
        if let id = request.id { json.field("id", id) }
        json.key("outputs")
        json.beginArray()
        json.beginObject()
        json.field("name", model.outputName)
        var binary: [UInt8] = []
        if spec.classification > 0 {
            let strings = classify(output, rows: request.rows, top: spec.classification, model: model)
            json.field("datatype", "BYTES")
            json.field("shape", [request.rows, spec.classification])
            if spec.binary {
                for s in strings {
                    let bytes = Array(s.utf8)
                    withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { binary += $0 }
                    binary += bytes
                }
            } else {
                json.field("data", strings)
            }
        } else {
            json.field("datatype", "FP32")
            json.field("shape", [request.rows] + model.outputShape)
            if spec.binary {
                binary.reserveCapacity(output.count * 4)
                for v in output { withUnsafeBytes(of: v.bitPattern.littleEndian) { binary += $0 } }
            } else {
                json.key("data")
                json.numbers(output)
            }
        }
        if spec.binary {
            json.key("parameters")
            json.beginObject()
            json.field("binary_data_size", binary.count)
            json.endObject()
        }
        json.endObject()
        json.endArray()
        json.endObject()
        let header = Array(json.text.utf8)
        return spec.binary ? (header + binary, header.count) : (header, nil)
    }

    /// Triton's classification strings, `"score:index"` or `"score:index:label"`, best first.
    package static func classify(_ output: [Float], rows: Int, top: Int, model: InferenceSignature) -> [String] {
        let width = model.outputValues
        var strings: [String] = []
        for row in 0..<rows {
            let scores = output[row * width..<(row + 1) * width]
            let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            for i in order.prefix(top) {
                let index = i - scores.startIndex
                let label = model.classNames.map { ":" + $0[index] } ?? ""
                strings.append("\(scores[i]):\(index)\(label)")
            }
        }
        return strings
    }
}

/// Writes JSON text by hand (numbers in their shortest exact form, strings escaped).
package struct JSONWriter {
    package init() {}

    package private(set) var text = ""
    private var empty = [true]
    private var afterKey = false

    private mutating func beginValue() {
        if afterKey {
            afterKey = false
        } else {
            if !empty[empty.count - 1] { text += "," }
            empty[empty.count - 1] = false
        }
    }

    package mutating func beginObject() {
        beginValue()
        text += "{"
        empty.append(true)
    }

    package mutating func endObject() {
        empty.removeLast()
        text += "}"
    }

    package mutating func beginArray() {
        beginValue()
        text += "["
        empty.append(true)
    }

    package mutating func endArray() {
        empty.removeLast()
        text += "]"
    }

    package mutating func key(_ name: String) {
        beginValue()
        text += JSONWriter.quoted(name) + ":"
        afterKey = true
    }

    /// A value that is JSON text already.
    package mutating func raw(_ json: String) {
        beginValue()
        text += json
    }

    package mutating func field(_ name: String, _ value: String) { field(name, raw: JSONWriter.quoted(value)) }
    package mutating func field(_ name: String, _ value: Int) { field(name, raw: String(value)) }
    package mutating func field(_ name: String, _ value: Double) {
        field(name, raw: value.isFinite ? "\(value)" : "null")
    }
    package mutating func field(_ name: String, _ value: Bool) { field(name, raw: value ? "true" : "false") }
    package mutating func field(_ name: String, _ value: [Int]) {
        field(name, raw: "[" + value.map(String.init).joined(separator: ",") + "]")
    }
    package mutating func field(_ name: String, _ value: [String]) {
        field(name, raw: "[" + value.map(JSONWriter.quoted).joined(separator: ",") + "]")
    }

    package mutating func field(_ name: String, raw json: String) {
        key(name)
        raw(json)
    }

    /// A JSON array of numbers; values that are not finite (JSON has none) become null.
    package mutating func numbers(_ values: [Float]) {
        beginValue()
        text.reserveCapacity(text.utf8.count + values.count * 12)
        text += "["
        for (i, v) in values.enumerated() {
            if i > 0 { text += "," }
            text += v.isFinite ? v.description : "null"
        }
        text += "]"
    }

    package static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
