import Foundation

/// Reads and writes named tensors in the safetensors format (the Hugging Face format that Python's
/// `safetensors` package reads).
///
/// Layout: an 8-byte little-endian header length `n`, `n` bytes of JSON mapping each name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data section) plus an
/// optional `"__metadata__"` object of strings, then the raw little-endian data.
/// The reader is total: every size and offset is checked against the file before use.
public enum Safetensors {
    /// The largest header the reader accepts (bytes).
    public static let maximumHeaderSize = 100 << 20

    static func code(_ dtype: DType) -> String {
        switch dtype {
        case .float32: "F32"
        case .int32: "I32"
        case .int64: "I64"
        case .uint8: "U8"
        case .bool: "BOOL"
        }
    }

    static func dtype(_ code: String) -> DType? {
        switch code {
        case "F32": .float32
        case "I32": .int32
        case "I64": .int64
        case "U8": .uint8
        case "BOOL": .bool
        default: nil
        }
    }

    /// Returns the bytes of a safetensors file holding `tensors` (in the given order) and `metadata`.
    ///
    /// - Throws: ``NablaError`` (`.invalidArgument`) for a name given twice or the reserved name
    ///   `__metadata__` (the header would keep one entry for two tensors), or a header that cannot
    ///   be serialised; never writes a file its readers would misread.
    public static func encode(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]
    ) throws
        -> Data
    {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in tensors {
            guard header[name] == nil, name != "__metadata__" else {
                throw NablaError(.invalidArgument, "safetensors: the tensor name '\(name)' is given twice or reserved")
            }
            let size = tensor.count * tensor.dtype.byteSize
            header[name] = [
                "dtype": code(tensor.dtype), "shape": tensor.shape, "data_offsets": [offset, offset + size],
            ]
            offset += size
        }
        var json: Data
        do { json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) } catch {
            throw NablaError(.invalidArgument, "safetensors: the header cannot be serialised", cause: error)
        }
        // Pad the header with spaces so the data starts 8-byte aligned.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for (_, tensor) in tensors {
            tensor.withUnsafeBytes { data.append($0.assumingMemoryBound(to: UInt8.self)) }
        }
        return data
    }

    /// Writes `tensors` and `metadata` to `path` atomically.
    ///
    /// - Throws: ``NablaError`` (`.io`) when the file cannot be written.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to path: String
    ) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata), to: path)
    }

    /// Reads every tensor and the metadata of a safetensors file.
    ///
    /// - Throws: ``NablaError``: `.notFound` for a missing file, `.corruptFile` naming the path and
    ///   the tensor for a malformed header, offsets outside the file or overlapping, a shape that
    ///   does not match its byte count, or an unknown dtype.
    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        try decode(InputFile.contents(path), path: path)
    }

    /// Decodes the bytes of a safetensors file; `path` only names it in errors.
    public static func decode(
        _ data: Data, path: String = "<memory>"
    ) throws -> (
        tensors: [String: Tensor], metadata: [String: String]
    ) {
        func corrupt(_ message: String) -> NablaError {
            NablaError(.corruptFile, "not a valid safetensors file: \(message)", path: path)
        }
        guard data.count >= 8 else { throw corrupt("\(data.count) bytes is shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        guard headerLength <= UInt64(Swift.min(maximumHeaderSize, data.count - 8)) else {
            throw corrupt("header length \(headerLength) exceeds the file (\(data.count) bytes) or the limit")
        }
        let dataStart = 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<dataStart)) as? [String: Any]
        else {
            throw corrupt("the header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        if let meta = header["__metadata__"] {
            guard let strings = meta as? [String: String] else {
                throw corrupt("__metadata__ is not an object of strings")
            }
            metadata = strings
        }
        let available = data.count - dataStart
        // Every entry is checked, and the entries against each other, before any tensor is made.
        var entries: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let code = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw corrupt("tensor '\(name)' lacks dtype, shape or data_offsets") }
            guard let dtype = dtype(code) else { throw corrupt("tensor '\(name)' has unsupported dtype \(code)") }
            guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 40 }) else {
                throw corrupt("tensor '\(name)' has shape \(shape)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= available else {
                throw corrupt("tensor '\(name)' data [\(begin), \(end)) lies outside the \(available) data bytes")
            }
            guard let byteCount = dtype.byteCount(of: shape) else {
                throw corrupt("tensor '\(name)' of shape \(shape) \(dtype) needs more than \(Int.max) bytes")
            }
            guard byteCount == end - begin else {
                throw corrupt(
                    "tensor '\(name)' of shape \(shape) \(dtype) needs \(byteCount) bytes, has \(end - begin)")
            }
            entries.append((name, dtype, shape, begin, end))
        }
        // As the reference reader: no name twice, and the tensors tile the data section exactly.
        if let name = duplicateKey(in: data.subdata(in: 8..<dataStart)) {
            throw corrupt("the header names tensor '\(name)' twice")
        }
        let ranges = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        for entry in ranges {
            if entry.begin < covered {
                let other = ranges.last { $0.end > entry.begin && $0.name != entry.name }?.name ?? "?"
                throw corrupt("tensors '\(other)' and '\(entry.name)' overlap")
            }
            guard entry.begin == covered else {
                throw corrupt("bytes \(covered)..<\(entry.begin) of the data section belong to no tensor")
            }
            covered = entry.end
        }
        guard covered == available else {
            throw corrupt("bytes \(covered)..<\(available) of the data section belong to no tensor")
        }
        for entry in entries where entry.dtype == .bool {
            let bytes = data[(data.startIndex + dataStart + entry.begin)..<(data.startIndex + dataStart + entry.end)]
            if let bad = bytes.firstIndex(where: { $0 > 1 }) {
                throw corrupt("BOOL tensor '\(entry.name)' holds byte \(data[bad]) (only 0 and 1 are booleans)")
            }
        }
        var tensors: [String: Tensor] = [:]
        for entry in entries {
            tensors[entry.name] = Tensor(unsafeUninitializedShape: entry.shape, dtype: entry.dtype) { out in
                data.withUnsafeBytes { bytes in
                    if entry.end > entry.begin, let base = bytes.baseAddress, let target = out.baseAddress {
                        target.copyMemory(from: base + dataStart + entry.begin, byteCount: entry.end - entry.begin)
                    }
                }
            }
        }
        return (tensors, metadata)
    }

    /// Returns a key that occurs twice at the top level of the JSON object `json`, if any
    /// (`JSONSerialization` keeps one of them silently).
    static func duplicateKey(in json: Data) -> String? {
        var keys = Set<Data>()
        var depth = 0
        var index = json.startIndex
        var expectingKey = false
        while index < json.endIndex {
            let byte = json[index]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectingKey = byte == UInt8(ascii: "{") && depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): expectingKey = depth == 1
            case UInt8(ascii: "\""):
                // Scan the string, honouring backslash escapes.
                var end = json.index(after: index)
                while end < json.endIndex && json[end] != UInt8(ascii: "\"") {
                    end =
                        json[end] == UInt8(ascii: "\\")
                        ? json.index(end, offsetBy: 2, limitedBy: json.endIndex) ?? json.endIndex
                        : json.index(after: end)
                }
                if expectingKey {
                    let key = json[json.index(after: index)..<Swift.min(end, json.endIndex)]
                    if !keys.insert(Data(key)).inserted { return String(decoding: key, as: UTF8.self) }
                    expectingKey = false
                }
                index = end
            default: break
            }
            if index < json.endIndex { index = json.index(after: index) }
        }
        return nil
    }
}
