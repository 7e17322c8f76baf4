import Foundation
import Nabla

/// Where the values of an ONNX file's tensors may come from, and how many of them are left.
struct ONNXTensorSource {
    /// The folder external data files are looked up in (the model file's folder), nil when the
    /// bytes came from memory.
    var folder: String?
    /// The values every tensor read so far may still take.
    var budget: Int

    init(folder: String?, budget: Int = ResourceLimits.maxModelValues) {
        (self.folder, self.budget) = (folder, budget)
    }

    /// Returns the checked element count of `dims`, charged against the budget.
    mutating func charge(_ dims: [Int64], _ what: String) throws -> [Int] {
        var count = 1
        for d in dims {
            guard d >= 0, d <= Int64(LayerConfigLimits.maxDimension) else {
                throw NablaError(.corruptFile, "\(what): dimension \(d) in \(dims) is out of range")
            }
            let (p, o) = count.multipliedReportingOverflow(by: Int(d))
            guard !o, p <= budget else {
                throw NablaError(
                    .resourceLimit,
                    "\(what): shape \(dims) holds more values than the \(budget) left to this model (NABLA_MAX_MODEL_VALUES)"
                )
            }
            count = p
        }
        budget -= count
        return dims.map { Int($0) }
    }

    /// Converts a tensor from the file into a value: float and double become float32 tensors, the
    /// integer types and bool host arrays.
    mutating func value(_ t: ONNXTensorProto, _ what: String) throws -> ONNXValue {
        let shape = try charge(t.dims, what)
        let count = shape.reduce(1, *)
        var bytes: Data?
        if t.isExternal {
            bytes = try external(t, count: count, what)
        } else if let raw = t.raw {
            bytes = t.data[raw]
        }
        func mismatch(_ have: Int) -> NablaError {
            NablaError(.corruptFile, "\(what): shape \(shape) needs \(count) values, the file holds \(have)")
        }
        switch t.dataType {
        case ONNXType.float, ONNXType.double:
            let values: [Float]
            if let bytes {
                let size = t.dataType == ONNXType.float ? 4 : 8
                guard bytes.count == count * size else { throw mismatch(bytes.count / size) }
                values = bytes.withUnsafeBytes { buf in
                    if size == 4 {
                        return (0..<count).map {
                            Float(
                                bitPattern: UInt32(
                                    littleEndian: buf.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
                        }
                    }
                    return (0..<count).map {
                        Float(
                            Double(
                                bitPattern: UInt64(
                                    littleEndian: buf.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))))
                    }
                }
            } else {
                guard t.floats.count == count else { throw mismatch(t.floats.count) }
                values = t.floats
            }
            return .float(Tensor(values, shape: shape), .native)
        case ONNXType.int64, ONNXType.int32, ONNXType.uint8, ONNXType.int8, ONNXType.bool:
            let dtype: DType =
                switch t.dataType {
                case ONNXType.int32: .int32
                case ONNXType.uint8: .uint8
                case ONNXType.bool: .bool
                default: .int64
                }
            var values: [Int64]
            if let bytes {
                let size = t.dataType == ONNXType.int64 ? 8 : t.dataType == ONNXType.int32 ? 4 : 1
                guard bytes.count == count * size else { throw mismatch(bytes.count / size) }
                values = bytes.withUnsafeBytes { buf in
                    (0..<count).map { i -> Int64 in
                        switch size {
                        case 8: Int64(littleEndian: buf.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
                        case 4: Int64(Int32(littleEndian: buf.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
                        default:
                            t.dataType == ONNXType.int8 ? Int64(Int8(bitPattern: buf[i])) : Int64(buf[i])
                        }
                    }
                }
            } else {
                guard t.ints.count == count else { throw mismatch(t.ints.count) }
                values = t.ints
            }
            if dtype == .bool { values = values.map { $0 != 0 ? 1 : 0 } }
            return .ints(IntArray(shape: shape, values: values, dtype: dtype))
        default:
            throw NablaError(
                .unsupportedOperator,
                "\(what): element type \(t.dataType) is not supported (float, double, integers and bool are)")
        }
    }

    /// Reads the bytes of a tensor stored outside the model file, checking the location stays in
    /// the model's folder (symbolic links followed, as ONNX Runtime does), names a regular file,
    /// and the offset and length lie inside it; without a length, no more than `count` values of
    /// the widest type are read.
    func external(_ t: ONNXTensorProto, count: Int, _ what: String) throws -> Data {
        guard let folder else {
            throw NablaError(
                .invalidArgument, "\(what): its values are in an external file, and the model came from memory")
        }
        guard let location = t.external["location"], !location.isEmpty, !location.hasPrefix("/"),
            !location.split(separator: "/").contains("..")
        else {
            throw NablaError(
                .corruptFile,
                "\(what): external data location '\(t.external["location"] ?? "")' must be a relative path inside the model's folder"
            )
        }
        let given = (folder as NSString).appendingPathComponent(location)
        let root = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        let path = URL(fileURLWithPath: given).resolvingSymlinksInPath().path
        guard path.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw NablaError(
                .corruptFile, "\(what): external data '\(location)' leads out of the model's folder (to \(path))",
                path: given)
        }
        let size = try InputFile.checkRegular(path)
        let offset = Int(t.external["offset"] ?? "0") ?? -1
        let (widest, overflow) = count.multipliedReportingOverflow(by: 8)
        let length =
            t.external["length"].map { Int($0) ?? -1 }
            ?? Swift.min(size - Swift.max(offset, 0), overflow ? size : widest)
        guard offset >= 0, length >= 0, offset <= size, length <= size - offset else {
            throw NablaError(
                .corruptFile,
                "\(what): offset \(offset) and length \(length) do not lie inside \(location) (\(size) bytes)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw NablaError(.io, "cannot open", path: path) }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: UInt64(offset))
            let data = try handle.read(upToCount: length) ?? Data()
            guard data.count == length else { throw NablaError(.corruptFile, "\(what): \(location) ended early") }
            return data
        } catch let e as NablaError { throw e } catch { throw NablaError(.io, "cannot read: \(error)", path: path) }
    }
}

extension ONNXValue {
    /// Reads a serialized `TensorProto` (the `.pb` files of the ONNX test data).
    static func read(protobuf path: String) throws -> ONNXValue {
        let data = try InputFile.contents(path)
        var source = ONNXTensorSource(folder: (path as NSString).deletingLastPathComponent)
        return try source.value(try ONNXTensorProto(ProtobufReader(data, context: path)), path)
    }
}
