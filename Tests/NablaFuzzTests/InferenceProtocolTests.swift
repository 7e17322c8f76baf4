import Foundation
import NablaFuzz
import NablaIO
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
