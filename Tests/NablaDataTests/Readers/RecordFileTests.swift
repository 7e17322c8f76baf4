import Foundation
import Nabla
import NablaData
import Testing

@Suite struct RecordFileTests {
    static func packed() throws -> (folder: ImageFolder, shards: [String]) {
        let folder = try ImageFolder(root: ImageFixture.folder(), size: (8, 8))
        let prefix = NSTemporaryDirectory() + "nabla-rec-\(UUID().uuidString)"
        return (folder, try RecordFile.pack(folder, prefix: prefix, recordsPerShard: 4))
    }

    @Test func packedImageFolderReadsBackByteIdentical() throws {
        let (folder, shards) = try Self.packed()
        #expect(shards.count == 2)
        let records = try RecordDataset(paths: shards)
        #expect(records.count == 6)
        let original = try folder.batch(at: Array(0..<6)), readBack = try records.batch(at: Array(0..<6))
        #expect(readBack.images.toArray(UInt8.self) == original.images.toArray(UInt8.self))
        #expect(readBack.labels.toArray(Int64.self) == original.labels.toArray(Int64.self))
    }

    @Test func encodedRecordsKeepTheFileBytes() throws {
        let png = try ImageCodec.encodePNG(ImageFixture.pattern(4, 4, seed: 3))
        let path = NSTemporaryDirectory() + "nabla-enc-\(UUID().uuidString).nblrec"
        try RecordFile.write([RecordFile.Record(encoded: png, label: 2)], to: path)
        let records = try RecordDataset(paths: [path])
        #expect(try records.payload(0) == png)
        #expect(try records.image(0).shape == [4, 4, 3])
    }

    @Test func corruptedRecordIsNamedAndTheRestStayReadable() throws {
        let (_, shards) = try Self.packed()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: shards[0]))
        bytes[bytes.count - 10] ^= 0xFF  // inside the last record of the shard (record 3)
        try bytes.write(to: URL(fileURLWithPath: shards[0]))
        let records = try RecordDataset(paths: shards)
        #expect { try records.image(3) } throws: {
            "\($0)".contains("record 3 fails its checksum") && "\($0)".contains(shards[0])
        }
        for i in [0, 1, 2, 4, 5] { _ = try records.image(i) }
    }

    @Test func truncatedShardNamesTheCutRecords() throws {
        let (_, shards) = try Self.packed()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: shards[0]))
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: shards[0]))
        let records = try RecordDataset(paths: shards)
        #expect { try records.image(3) } throws: { "\($0)".contains("record 3 is cut off") }
        _ = try records.image(0)
        try bytes.prefix(40).write(to: URL(fileURLWithPath: shards[0]))
        #expect { try RecordDataset(paths: shards) } throws: { "\($0)".contains("does not fit the file") }
    }

    @Test func wrongMagicIsAnError() throws {
        let path = NSTemporaryDirectory() + "nabla-bad-\(UUID().uuidString).nblrec"
        try Data(repeating: 7, count: 64).write(to: URL(fileURLWithPath: path))
        #expect { try RecordDataset(paths: [path]) } throws: { "\($0)".contains("wrong magic number") }
    }
}
