import Nabla
import NablaNN

/// A strict JSON reader (RFC 8259) for request bodies: nesting at most ``maxDepth`` deep, every
/// error naming its byte offset, numbers read without building a string when they are small
/// integers (the common case of pixel data).
package enum JSONReader {
    package static let maxDepth = 64

    /// Reads one JSON value that fills `bytes` (surrounding white space allowed).
    ///
    /// - Throws: ``NablaError`` (`.invalidArgument`) naming the offset of the first fault.
    package static func parse(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        func read(_ buffer: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
            var reader = Reader(bytes: buffer)
            let value = try reader.value(depth: 0)
            reader.skipSpace()
            guard reader.at == buffer.count else { throw reader.fault("unexpected text after the value") }
            return value
        }
        // A request body is contiguous already: read it in place rather than copy it.
        if let value = try bytes.withContiguousStorageIfAvailable(read) { return value }
        return try Array(bytes).withUnsafeBufferPointer(read)
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func fault(_ what: String) -> NablaError {
            NablaError(.invalidArgument, "invalid JSON at byte \(at): \(what)")
        }

        mutating func skipSpace() {
            while at < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[at]) { at += 1 }
        }

        mutating func expect(_ literal: StaticString, _ value: JSONValue) throws -> JSONValue {
            let count = literal.utf8CodeUnitCount
            guard at + count <= bytes.count else { throw fault("truncated literal") }
            for i in 0..<count where bytes[at + i] != literal.utf8Start[i] { throw fault("unknown literal") }
            at += count
            return value
        }

        mutating func value(depth: Int) throws -> JSONValue {
            skipSpace()
            guard at < bytes.count else { throw fault("unexpected end") }
            switch bytes[at] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            default: return .number(try number())
            }
        }

        mutating func object(depth: Int) throws -> JSONValue {
            guard depth <= maxDepth else { throw fault("nested more than \(maxDepth) deep") }
            at += 1
            var result: [String: JSONValue] = [:]
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") {
                at += 1
                return .object(result)
            }
            while true {
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fault("expected a key") }
                let key = try string()
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fault("expected ':'") }
                at += 1
                guard result.updateValue(try value(depth: depth), forKey: key) == nil else {
                    throw fault("the key '\(key.prefix(64))' appears twice")
                }
                skipSpace()
                guard at < bytes.count else { throw fault("unexpected end in an object") }
                if bytes[at] == UInt8(ascii: "}") {
                    at += 1
                    return .object(result)
                }
                guard bytes[at] == UInt8(ascii: ",") else { throw fault("expected ',' or '}'") }
                at += 1
            }
        }

        mutating func array(depth: Int) throws -> JSONValue {
            guard depth <= maxDepth else { throw fault("nested more than \(maxDepth) deep") }
            at += 1
            var result: [JSONValue] = []
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") {
                at += 1
                return .array(result)
            }
            while true {
                result.append(try value(depth: depth))
                skipSpace()
                guard at < bytes.count else { throw fault("unexpected end in an array") }
                if bytes[at] == UInt8(ascii: "]") {
                    at += 1
                    return .array(result)
                }
                guard bytes[at] == UInt8(ascii: ",") else { throw fault("expected ',' or ']'") }
                at += 1
            }
        }

        /// A number as the grammar has it: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
        mutating func number() throws -> Double {
            let start = at
            func digits() -> Int {
                let from = at
                while at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39 { at += 1 }
                return at - from
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
            let integerStart = at
            let integerDigits = digits()
            guard integerDigits > 0 else { throw fault("expected a value") }
            guard integerDigits == 1 || bytes[integerStart] != 0x30 else { throw fault("a number has a leading zero") }
            var simple = integerDigits <= 15
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                guard digits() > 0 else { throw fault("expected digits after '.'") }
                simple = false
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
                at += 1
                if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
                guard digits() > 0 else { throw fault("expected digits in an exponent") }
                simple = false
            }
            if simple {
                var value = 0
                for i in integerStart..<at { value = value * 10 + Int(bytes[i] - 0x30) }
                return Double(bytes[start] == UInt8(ascii: "-") ? -value : value)
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
            guard let value = Double(text), value.isFinite else {
                throw fault("the number \(text.prefix(32)) is out of range")
            }
            return value
        }

        mutating func string() throws -> String {
            at += 1
            var scalars = String.UnicodeScalarView()
            var plainStart = at
            func flushPlain() throws {
                guard plainStart < at else { return }
                guard
                    let text = String(validating: UnsafeBufferPointer(rebasing: bytes[plainStart..<at]), as: UTF8.self)
                else { throw fault("a string is not valid UTF-8") }
                scalars.append(contentsOf: text.unicodeScalars)
            }
            while at < bytes.count {
                let byte = bytes[at]
                if byte == UInt8(ascii: "\"") {
                    try flushPlain()
                    at += 1
                    return String(scalars)
                }
                guard byte >= 0x20 else { throw fault("a control character in a string") }
                if byte == UInt8(ascii: "\\") {
                    try flushPlain()
                    at += 1
                    guard at < bytes.count else { break }
                    switch bytes[at] {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800..<0xDC00).contains(code) {
                            guard at + 2 < bytes.count, bytes[at + 1] == UInt8(ascii: "\\"),
                                bytes[at + 2] == UInt8(ascii: "u")
                            else { throw fault("an unpaired surrogate") }
                            at += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw fault("an unpaired surrogate") }
                            code = 0x10000 + (code - 0xD800) << 10 + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw fault("an unpaired surrogate") }
                        scalars.append(scalar)
                    default: throw fault("an unknown escape")
                    }
                    at += 1
                    plainStart = at
                } else {
                    at += 1
                }
            }
            throw fault("a string is not closed")
        }

        /// The four hex digits after `\u` (leaves `at` on the last).
        mutating func hex4() throws -> UInt32 {
            guard at + 4 < bytes.count else { throw fault("a truncated \\u escape") }
            var code: UInt32 = 0
            for _ in 0..<4 {
                at += 1
                guard let digit = Character(Unicode.Scalar(bytes[at])).hexDigitValue else {
                    throw fault("a \\u escape that is not hexadecimal")
                }
                code = code << 4 | UInt32(digit)
            }
            return code
        }
    }
}

extension JSONValue {
    /// The members of an object; nil for other values.
    package var objectValue: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    package var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    package var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    package var numberValue: Double? { if case .number(let n) = self { n } else { nil } }
    package var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// The value if it is a number holding an integer.
    package var intValue: Int? { numberValue.flatMap { Int(exactly: $0) } }

    /// The value as JSON text, short (for error messages).
    package var brief: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .number(let n): n == n.rounded() && abs(n) < 1e15 ? "\(Int(n))" : "\(n)"
        case .string(let s): "\"\(s.prefix(64))\""
        case .array(let a): "[" + a.prefix(8).map(\.brief).joined(separator: ", ") + (a.count > 8 ? ", …]" : "]")
        case .object: "{…}"
        }
    }
}
