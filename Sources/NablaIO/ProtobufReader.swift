import Foundation
import Nabla

/// Reads Protocol Buffers wire format (https://protobuf.dev/programming-guides/encoding/) from
/// bytes that may be hostile: every length is checked against the bytes left before anything is
/// read or allocated, and a wrong wire type or a truncated field is an error naming the message.
struct ProtobufReader {
    /// The field kinds of the wire format.
    enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    /// One field: its number and its raw content.
    enum Field {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(Range<Int>)
    }

    let data: Data
    private(set) var position: Int
    let end: Int
    /// The message being read, for errors.
    let context: String

    init(_ data: Data, context: String) {
        self.data = data
        position = data.startIndex
        end = data.endIndex
        self.context = context
    }

    init(_ data: Data, range: Range<Int>, context: String) {
        self.data = data
        position = range.lowerBound
        end = range.upperBound
        self.context = context
    }

    var isAtEnd: Bool { position >= end }

    func error(_ problem: String) -> NablaError {
        NablaError(.corruptFile, "\(context): \(problem) at byte \(position - data.startIndex)")
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw error("truncated varint") }
            let byte = data[position]
            position += 1
            guard shift < 64 else { throw error("varint longer than ten bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    /// Reads the next field, or nil at the end of the message.
    mutating func next() throws -> (number: Int, field: Field)? {
        guard !isAtEnd else { return nil }
        let key = try varint()
        let number = Int(truncatingIfNeeded: key >> 3)
        guard number > 0, number < 1 << 29 else { throw error("field number \(key >> 3) is out of range") }
        switch key & 7 {
        case WireType.varint.rawValue: return (number, .varint(try varint()))
        case WireType.fixed64.rawValue: return (number, .fixed64(try littleEndian(8, field: number)))
        case WireType.lengthDelimited.rawValue:
            let length = try varint()
            guard length <= UInt64(end - position) else {
                throw error("field \(number) claims \(length) bytes, only \(end - position) are left")
            }
            let range = position..<(position + Int(length))
            position += Int(length)
            return (number, .bytes(range))
        case WireType.fixed32.rawValue:
            return (number, .fixed32(UInt32(truncatingIfNeeded: try littleEndian(4, field: number))))
        default: throw error("field \(number) has wire type \(key & 7), which protobuf does not define")
        }
    }

    /// Reads a little-endian fixed-width field of `size` bytes.
    private mutating func littleEndian(_ size: Int, field number: Int) throws -> UInt64 {
        guard end - position >= size else { throw error("truncated \(size * 8)-bit field \(number)") }
        var v: UInt64 = 0
        for i in 0..<size { v |= UInt64(data[position + i]) << (8 * UInt64(i)) }
        position += size
        return v
    }

    /// Reads a `StringStringEntryProto` (key 1, value 2), the form of metadata and external-data entries.
    func stringPair() throws -> (key: String, value: String) {
        var entry = self
        var key = "", value = ""
        while let (k, g) = try entry.next() {
            if k == 1 { key = try entry.string(g, "key") } else if k == 2 { value = try entry.string(g, "value") }
        }
        return (key, value)
    }

    // MARK: Typed access to a field read by next()

    func int(_ field: Field, _ name: String) throws -> Int64 {
        guard case .varint(let v) = field else { throw error("'\(name)' is not a varint") }
        return Int64(bitPattern: v)
    }

    func float(_ field: Field, _ name: String) throws -> Float {
        guard case .fixed32(let v) = field else { throw error("'\(name)' is not a 32-bit float") }
        return Float(bitPattern: v)
    }

    func bytes(_ field: Field, _ name: String) throws -> Range<Int> {
        guard case .bytes(let r) = field else { throw error("'\(name)' is not length-delimited") }
        return r
    }

    func string(_ field: Field, _ name: String) throws -> String {
        let r = try bytes(field, name)
        guard let s = String(data: data[r], encoding: .utf8) else { throw error("'\(name)' is not UTF-8") }
        return s
    }

    func message(_ field: Field, _ name: String) throws -> ProtobufReader {
        ProtobufReader(data, range: try bytes(field, name), context: "\(context) > \(name)")
    }

    /// Appends a repeated varint field, packed or not; `limit` bounds the count.
    func ints(_ field: Field, _ name: String, into out: inout [Int64], limit: Int) throws {
        switch field {
        case .varint(let v): out.append(Int64(bitPattern: v))
        case .bytes(let r):
            var inner = ProtobufReader(data, range: r, context: "\(context) > \(name)")
            while !inner.isAtEnd {
                out.append(Int64(bitPattern: try inner.varint()))
                guard out.count <= limit else { throw error("'\(name)' holds more than \(limit) values") }
            }
        default: throw error("'\(name)' is not a varint list")
        }
        guard out.count <= limit else { throw error("'\(name)' holds more than \(limit) values") }
    }

    /// Appends a repeated float field, packed or not; `limit` bounds the count.
    func floats(_ field: Field, _ name: String, into out: inout [Float], limit: Int) throws {
        switch field {
        case .fixed32(let v): out.append(Float(bitPattern: v))
        case .bytes(let r):
            guard r.count % 4 == 0 else { throw error("'\(name)' is \(r.count) bytes, not a whole number of floats") }
            guard out.count + r.count / 4 <= limit else { throw error("'\(name)' holds more than \(limit) values") }
            out.reserveCapacity(out.count + r.count / 4)
            var i = r.lowerBound
            while i < r.upperBound {
                let bits =
                    UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
                out.append(Float(bitPattern: bits))
                i += 4
            }
        default: throw error("'\(name)' is not a float list")
        }
        guard out.count <= limit else { throw error("'\(name)' holds more than \(limit) values") }
    }

    /// Appends a repeated double field, packed or not, as floats.
    func doubles(_ field: Field, _ name: String, into out: inout [Float], limit: Int) throws {
        switch field {
        case .fixed64(let v): out.append(Float(Double(bitPattern: v)))
        case .bytes(let r):
            guard r.count % 8 == 0 else { throw error("'\(name)' is \(r.count) bytes, not a whole number of doubles") }
            guard out.count + r.count / 8 <= limit else { throw error("'\(name)' holds more than \(limit) values") }
            var i = r.lowerBound
            while i < r.upperBound {
                var bits: UInt64 = 0
                for k in 0..<8 { bits |= UInt64(data[i + k]) << (8 * UInt64(k)) }
                out.append(Float(Double(bitPattern: bits)))
                i += 8
            }
        default: throw error("'\(name)' is not a double list")
        }
        guard out.count <= limit else { throw error("'\(name)' holds more than \(limit) values") }
    }
}
