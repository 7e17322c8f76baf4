import Foundation
import Nabla
import NablaFuzz
import NablaIO
import NablaNN
import Testing

/// The Open Inference Protocol's request reader and response writer, on the fuzz target's seeds
/// and model (`[2, 2, 1]` images, three labelled scores).
@Suite struct InferenceProtocolTests {
    let model = FuzzTargets.oipModel

    @Test func jsonRequestWithNestedDataAndClassification() throws {
        let seed = try FuzzTargets.seeds("oip")[0]
        let request = try InferenceProtocol.parse([UInt8](seed), headerLength: nil, for: model)
        #expect(request.rows == 2 && request.id == "7")
        #expect(request.input == [1, 2, 3, 4, 5.5, 6, 7, 8])
        #expect(request.output?.classification == 2 && request.output?.binary == false)
        let (body, header) = InferenceProtocol.response(for: request, output: [0.1, 0.7, 0.2, 3, 2, 1], model: model)
        #expect(header == nil)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let output = try #require((json["outputs"] as? [[String: Any]])?.first)
        #expect(output["datatype"] as? String == "BYTES")
        #expect(output["data"] as? [String] == ["0.7:1:b\"c", "0.2:2:d", "3.0:0:a", "2.0:1:b\"c"])
        #expect(json["id"] as? String == "7" && json["model_name"] as? String == "m")
    }

    @Test func binaryRequestAndBinaryAnswer() throws {
        let seed = [UInt8](try FuzzTargets.seeds("oip")[1])
        let header = Int(seed[1]) | Int(seed[2]) << 8
        let request = try InferenceProtocol.parse(Array(seed[3...]), headerLength: header, for: model)
        #expect(request.rows == 1 && request.input == [1, 2, 3, 255])
        let (body, length) = InferenceProtocol.response(for: request, output: [1.5, -2, 0], model: model)
        let jsonLength = try #require(length)
        let values = body[jsonLength...].withUnsafeBytes { raw in
            (0..<3).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        }
        #expect(values == [1.5, -2, 0] && body.count == jsonLength + 12)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body[..<jsonLength])) as? [String: Any])
        let output = try #require((json["outputs"] as? [[String: Any]])?.first)
        #expect((output["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 12)
    }

    @Test(arguments: [
        #"{"inputs": [{"name": "input", "shape": [1, 2, 2, 1], "datatype": "FP32", "data": [1, 2, 3, true]}]}"#,
        #"{"inputs": [{"name": "input", "shape": [1, 2, 2, 1.5], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#,
        #"{"inputs": [{"name": "input", "shape": [1, 2, 2, 1], "datatype": "INT64", "data": [1, 2, 3, 4.5]}]}"#,
        #"{"inputs": [{"name": "input", "shape": [1, 2, 2, 1], "datatype": "FP32", "data": [1, 2, 3, 4]}, {}]}"#,
        #"{"inputs": [{"name": "input", "shape": [1, 2, 2, 1], "datatype": "FP32", "data": [1, 2, 3, 4]}], "outputs": [{"name": "output", "parameters": {"classification": 0}}]}"#,
    ])
    func badRequestsAreRefused(_ text: String) throws {
        #expect(throws: ServeError.self) {
            try InferenceProtocol.parse(Array(text.utf8), headerLength: nil, for: model)
        }
    }
}

/// The JSON reader against Foundation's: the same values for valid documents, an error for invalid ones.
@Suite struct JSONReaderTests {
    /// Foundation's reading of `text` as a `JSONValue`, nil when it refuses it.
    static func foundation(_ text: String) -> JSONValue? {
        func convert(_ value: Any) -> JSONValue {
            switch value {
            case is NSNull: return .null
            case let s as String: return .string(s)
            case let a as [Any]: return .array(a.map(convert))
            case let o as [String: Any]: return .object(o.mapValues(convert))
            case let n as NSNumber:
                return String(describing: type(of: n)).contains("Boolean") ? .bool(n.boolValue) : .number(n.doubleValue)
            default: return .null
            }
        }
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed) else {
            return nil
        }
        return convert(value)
    }

    @Test(arguments: [
        #"{"a": [1, -2, 3.5, 1e3, -0.25E-2, 0, 123456789012345678], "b": {"c": null, "d": true, "e": false}}"#,
        #"  [ "x\"y\\z\/\b\f\n\r\t", "\u00e9\u4e2d\ud83d\ude00", "plain é 中" ]  "#,
        "[]", "{}", "0", "-0", "\"\"", "[[[[]]]]", "12345678901234567890123",
    ])
    func validDocumentsReadAsFoundationReadsThem(_ text: String) throws {
        let ours = try JSONReader.parse(Array(text.utf8))
        #expect(ours == Self.foundation(text))
    }

    @Test(arguments: [
        "", "[", "]", "{\"a\" 1}", "{\"a\": 1,}", "[1,]", "01", "1.", ".5", "1e", "+1", "tru", "nul",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "[1] 2", "{1: 2}", "\"a\u{01}b\"", "NaN", "1e999",
        "{\"a\": 1, \"a\": 2}",
    ])
    func invalidDocumentsAreRefused(_ text: String) {
        #expect(throws: NablaError.self) { try JSONReader.parse(Array(text.utf8)) }
    }

    @Test func deepNestingIsRefusedWithoutRecursingFurther() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: NablaError.self) { try JSONReader.parse(Array(deep.utf8)) }
    }
}
