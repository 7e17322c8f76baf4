import Foundation
import Nabla

// The parts of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) that a model
// graph needs, decoded by hand with ProtobufReader. Field numbers are the specification's.
// Unknown fields are skipped, as protobuf requires; fields of the wrong wire type are errors.

/// An ONNX tensor as stored: its shape, element type and where the values are.
struct ONNXTensorProto {
    /// The ONNX `TensorProto.DataType` codes this reader converts.
    enum ElementType: Int64 {
        case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7, bool = 9, double = 11
    }
    var name = ""
    var dims: [Int64] = []
    var dataType: Int64 = 0
    var raw: Range<Int>?
    var floats: [Float] = []
    var ints: [Int64] = []
    var external: [String: String] = [:]
    var isExternal = false
    /// The bytes the ranges index.
    var data = Data()

    init() {}

    init(_ r: ProtobufReader) throws {
        var r = r
        data = r.data
        var int32s: [Int64] = []
        let limit = r.end - r.position + 1
        while let (n, f) = try r.next() {
            switch n {
            case 1:
                try r.ints(f, "dims", into: &dims, limit: ONNXLimits.maxRank)
            case 2: dataType = try r.int(f, "data_type")
            case 4: try r.floats(f, "float_data", into: &floats, limit: limit)
            case 5: try r.ints(f, "int32_data", into: &int32s, limit: limit)
            case 7: try r.ints(f, "int64_data", into: &ints, limit: limit)
            case 8: name = try r.string(f, "name")
            case 9: raw = try r.bytes(f, "raw_data")
            case 10: try r.doubles(f, "double_data", into: &floats, limit: limit)
            case 13:
                let (key, value) = try r.message(f, "external_data").stringPair()
                external[key] = value
            case 14: isExternal = try r.int(f, "data_location") == 1
            default: break
            }
        }
        // int32_data also carries the 8- and 16-bit types and bool.
        if ints.isEmpty { ints = int32s }
    }
}

/// An attribute of a node.
enum ONNXAttribute {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(ONNXTensorProto)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    case graph
}

/// One node of the graph.
struct ONNXNodeProto {
    var name = ""
    var opType = ""
    var domain = ""
    var inputs: [String] = []
    var outputs: [String] = []
    var attributes: [String: ONNXAttribute] = [:]

    init(_ r: ProtobufReader) throws {
        var r = r
        while let (n, f) = try r.next() {
            switch n {
            case 1: inputs.append(try r.string(f, "input"))
            case 2: outputs.append(try r.string(f, "output"))
            case 3: name = try r.string(f, "name")
            case 4: opType = try r.string(f, "op_type")
            case 7: domain = try r.string(f, "domain")
            case 5:
                let (key, value) = try Self.attribute(try r.message(f, "attribute"))
                attributes[key] = value
            default: break
            }
        }
        guard inputs.count <= ONNXLimits.maxNodeArity, outputs.count <= ONNXLimits.maxNodeArity else {
            throw r.error("node '\(name)' (\(opType)) has more than \(ONNXLimits.maxNodeArity) inputs or outputs")
        }
    }

    static func attribute(_ r: ProtobufReader) throws -> (String, ONNXAttribute) {
        var r = r
        var name = "", type: Int64 = 0
        var f: Float?, i: Int64?, s: String?, t: ONNXTensorProto?
        var floats: [Float] = [], ints: [Int64] = [], strings: [String] = []
        var hasGraph = false
        let limit = ONNXLimits.maxAttributeValues
        while let (n, field) = try r.next() {
            switch n {
            case 1: name = try r.string(field, "name")
            case 20: type = try r.int(field, "type")
            case 2: f = try r.float(field, "f")
            case 3: i = try r.int(field, "i")
            case 4: s = try r.string(field, "s")
            case 5: t = try ONNXTensorProto(try r.message(field, "t"))
            case 6, 11: hasGraph = true
            case 7: try r.floats(field, "floats", into: &floats, limit: limit)
            case 8: try r.ints(field, "ints", into: &ints, limit: limit)
            case 9:
                strings.append(try r.string(field, "strings"))
                guard strings.count <= limit else { throw r.error("'strings' holds more than \(limit) values") }
            default: break
            }
        }
        let value: ONNXAttribute
        switch type {
        case 1: value = .float(f ?? 0)
        case 2: value = .int(i ?? 0)
        case 3: value = .string(s ?? "")
        case 4:
            guard let t else { throw r.error("attribute '\(name)' is a tensor without one") }
            value = .tensor(t)
        case 5, 10: value = .graph
        case 6: value = .floats(floats)
        case 7: value = .ints(ints)
        case 8: value = .strings(strings)
        default:
            // IR versions before 2 leave out the type: take whichever field is set.
            if let t {
                value = .tensor(t)
            } else if hasGraph {
                value = .graph
            } else if let f {
                value = .float(f)
            } else if let i {
                value = .int(i)
            } else if let s {
                value = .string(s)
            } else if !floats.isEmpty {
                value = .floats(floats)
            } else if !strings.isEmpty {
                value = .strings(strings)
            } else {
                value = .ints(ints)
            }
        }
        return (name, value)
    }
}

/// A graph input or output: a name and, when given, its element type and shape (nil for a
/// dimension given by name or not at all).
struct ONNXValueInfo {
    var name = ""
    var elementType: Int64 = 0
    var shape: [Int?]?

    init(_ r: ProtobufReader) throws {
        var r = r
        while let (n, f) = try r.next() {
            switch n {
            case 1: name = try r.string(f, "name")
            case 2:
                var type = try r.message(f, "type")
                while let (k, g) = try type.next() {
                    guard k == 1 else { continue }
                    var tensor = try type.message(g, "tensor_type")
                    while let (j, h) = try tensor.next() {
                        if j == 1 { elementType = try tensor.int(h, "elem_type") }
                        if j == 2 { shape = try Self.shape(try tensor.message(h, "shape")) }
                    }
                }
            default: break
            }
        }
    }

    static func shape(_ r: ProtobufReader) throws -> [Int?] {
        var r = r
        var dims: [Int?] = []
        while let (n, f) = try r.next() {
            guard n == 1 else { continue }
            var dim = try r.message(f, "dim")
            var value: Int?
            while let (k, g) = try dim.next() {
                guard k == 1 else { continue }
                let v = try dim.int(g, "dim_value")
                value = v > 0 && v <= Int64(LayerConfigLimits.maxDimension) ? Int(v) : nil
            }
            dims.append(value)
            guard dims.count <= ONNXLimits.maxRank else {
                throw r.error("a shape has more than \(ONNXLimits.maxRank) dimensions")
            }
        }
        return dims
    }
}

/// The graph: nodes, initializers, inputs and outputs.
struct ONNXGraphProto {
    var name = ""
    var nodes: [ONNXNodeProto] = []
    var initializers: [ONNXTensorProto] = []
    var inputs: [ONNXValueInfo] = []
    var outputs: [ONNXValueInfo] = []

    init(_ r: ProtobufReader) throws {
        var r = r
        while let (n, f) = try r.next() {
            switch n {
            case 1:
                nodes.append(try ONNXNodeProto(try r.message(f, "node[\(nodes.count)]")))
                guard nodes.count <= ONNXLimits.maxNodes else {
                    throw r.error("more than \(ONNXLimits.maxNodes) nodes")
                }
            case 2: name = try r.string(f, "name")
            case 5: initializers.append(try ONNXTensorProto(try r.message(f, "initializer[\(initializers.count)]")))
            case 11: inputs.append(try ONNXValueInfo(try r.message(f, "input")))
            case 12: outputs.append(try ONNXValueInfo(try r.message(f, "output")))
            case 15: throw r.error("sparse initializers are not supported")
            default: break
            }
        }
    }
}

/// A whole ONNX file.
struct ONNXModelProto {
    var irVersion: Int64 = 0
    var producer = ""
    /// The opset version per domain ("" is the default ONNX domain).
    var opsets: [String: Int64] = [:]
    var graph: ONNXGraphProto?
    var metadata: [String: String] = [:]

    init(_ data: Data, context: String) throws {
        var r = ProtobufReader(data, context: context)
        while let (n, f) = try r.next() {
            switch n {
            case 1: irVersion = try r.int(f, "ir_version")
            case 2: producer = try r.string(f, "producer_name")
            case 7: graph = try ONNXGraphProto(try r.message(f, "graph"))
            case 8:
                var entry = try r.message(f, "opset_import")
                var domain = "", version: Int64 = 0
                while let (k, g) = try entry.next() {
                    if k == 1 {
                        domain = try entry.string(g, "domain")
                    } else if k == 2 {
                        version = try entry.int(g, "version")
                    }
                }
                opsets[domain == "ai.onnx" ? "" : domain] = version
            case 14:
                let (key, value) = try r.message(f, "metadata_props").stringPair()
                metadata[key] = value
            default: break
            }
        }
    }
}

/// The bounds the ONNX reader puts on what a file may ask for.
enum ONNXLimits {
    static let maxRank = 8
    static let maxNodes = 1 << 22
    static let maxNodeArity = 4096
    static let maxAttributeValues = 1 << 16
    /// The largest kernel, stride, dilation or padding an attribute may give.
    static let maxSize = 1 << 24
}

enum LayerConfigLimits {
    /// The largest single dimension a shape in a file may give.
    static let maxDimension = 1 << 31
}
