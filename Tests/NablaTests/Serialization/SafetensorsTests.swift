import Foundation
import Nabla
import Testing

/// Hostile safetensors bytes fail with an error naming the problem, before anything is allocated.
@Suite struct SafetensorsTests {
    /// Returns a safetensors file with `header` as its JSON header and `dataBytes` zero bytes of data.
    static func file(header: String, dataBytes: Int) -> Data {
        var json = Data(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(Data(count: dataBytes))
        return data
    }

    @Test func roundTripKeepsValues() throws {
        let t = Tensor([Float(1), 2, 3, 4, 5, 6], shape: [2, 3])
        let decoded = try Safetensors.decode(try Safetensors.encode([("w", t)], metadata: ["k": "v"]))
        #expect(decoded.tensors["w"]?.toArray() == t.toArray())
        #expect(decoded.metadata == ["k": "v"])
    }

    /// Two tensors under one name would leave one header entry for two tensors' bytes: refused.
    @Test func aNameGivenTwiceIsRefused() {
        let t = Tensor([Float(1), 2], shape: [2])
        #expect(throws: NablaError.self) { _ = try Safetensors.encode([("w", t), ("w", t)]) }
        #expect(throws: NablaError.self) { _ = try Safetensors.encode([("__metadata__", t)]) }
    }

    @Test func byteCountThatOverflowsIsAnError() {
        // 2^31 · 2^31 elements of 4 bytes is 2^64 bytes: the product overflows.
        let header = #"{"w":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,8]}}"#
        #expect {
            _ = try Safetensors.decode(Self.file(header: header, dataBytes: 8), path: "big.safetensors")
        } throws: { "\($0)".contains("'w'") && "\($0)".contains("needs more than") }
    }

    @Test func overlappingEntriesAreRefusedBeforeAnyCopy() {
        // 500 entries of 4 MiB each, all over the same bytes.
        let entries = (0..<500).map { #""t\#($0)":{"dtype":"F32","shape":[1048576],"data_offsets":[0,4194304]}"# }
        let header = "{" + entries.joined(separator: ",") + "}"
        let before = CachingAllocator.shared.statistics.bytesInUse
        #expect {
            _ = try Safetensors.decode(Self.file(header: header, dataBytes: 4 << 20), path: "overlap.safetensors")
        } throws: { "\($0)".contains("overlap") }
        // Not one of the 500 tensors (2 GB) was made; other tests may hold a little meanwhile.
        #expect(CachingAllocator.shared.statistics.bytesInUse - before < 1 << 30)
    }
}

/// What the reference reader (Python's `safetensors`) refuses, Nabla refuses too.
@Suite struct SafetensorsStrictnessTests {
    @Test func duplicateNamesAreRefused() {
        let header =
            #"{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"w":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}"#
        #expect { _ = try Safetensors.decode(SafetensorsTests.file(header: header, dataBytes: 8)) } throws: {
            "\($0)".contains("names tensor 'w' twice")
        }
    }

    @Test func gapsInTheDataSectionAreRefused() {
        let header =
            #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}"#
        #expect { _ = try Safetensors.decode(SafetensorsTests.file(header: header, dataBytes: 12)) } throws: {
            "\($0)".contains("bytes 4..<8 of the data section belong to no tensor")
        }
    }

    @Test func boolBytesOtherThanZeroAndOneAreRefused() {
        var data = SafetensorsTests.file(
            header: #"{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}"#, dataBytes: 2)
        data[data.count - 1] = 7
        #expect { _ = try Safetensors.decode(data) } throws: { "\($0)".contains("holds byte 7") }
    }
}
