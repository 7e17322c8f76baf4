import CZlib
import Foundation
import Nabla

/// Nabla's packed record format: shards of examples with an index and a CRC-32 per record, read
/// through a memory map with random access.
///
/// Layout of one shard (all integers little-endian):
/// - header, 32 bytes: magic `NBLRECv1`, record count (u64), data offset (u64), reserved (u64);
/// - index, 48 bytes per record: offset from the data start (u64), length (u64), label (i64),
///   CRC-32 of the payload (u32), kind (u32: 0 raw uint8 pixels, 1 encoded JPEG/PNG), height,
///   width, channels (u32 each, for raw pixels), reserved (u32);
/// - data: the payloads, back to back.
/// The index comes first so a truncated shard still reads every record that lies before the cut.
public enum RecordFile {
    static let magic = Data("NBLRECv1".utf8)
    static let headerSize = 32
    static let entrySize = 48

    /// What a record's payload holds.
    public enum Kind: UInt32, Sendable {
        /// Decoded pixels, `[height, width, channels]` uint8.
        case rawPixels = 0
        /// A JPEG or PNG file's bytes.
        case encodedImage = 1
    }

    /// One example to pack.
    public struct Record: Sendable {
        public var payload: Data
        public var label: Int64
        public var kind: Kind
        public var shape: [Int]

        /// A record of decoded pixels (`image` is `[H, W, C]` uint8).
        public init(pixels image: Tensor, label: Int64) {
            require(
                image.rank == 3 && image.dtype == .uint8,
                "RecordFile.Record: expected uint8 [H, W, C], got \(image.dtype) \(image.shape)")
            payload = image.withUnsafeBytes { Data($0) }
            self.label = label
            kind = .rawPixels
            shape = image.shape
        }

        /// A record holding an encoded image file as it is.
        public init(encoded data: Data, label: Int64) {
            payload = data
            self.label = label
            kind = .encodedImage
            shape = [0, 0, 0]
        }
    }

    /// Writes `records` as one shard at `path`, atomically.
    public static func write(_ records: [Record], to path: String) throws {
        var data = Data()
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
        }
        data.append(magic)
        append(UInt64(records.count))
        append(UInt64(headerSize + entrySize * records.count))
        append(UInt64(0))
        var offset: UInt64 = 0
        for record in records {
            append(offset)
            append(UInt64(record.payload.count))
            append(record.label)
            append(
                UInt32(
                    record.payload.withUnsafeBytes {
                        crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt($0.count))
                    }))
            append(record.kind.rawValue)
            for d in record.shape.prefix(3) { append(UInt32(d)) }
            append(UInt32(0))  // reserved, keeps entries 8-byte aligned
            offset += UInt64(record.payload.count)
        }
        for record in records { data.append(record.payload) }
        try AtomicFile.write(data, to: path)
    }

    /// Packs a dataset into shards of at most `recordsPerShard` examples named
    /// `<prefix>-00000.nblrec`, …; returns the shard paths.
    public static func pack(_ dataset: any Dataset, prefix: String, recordsPerShard: Int = 10_000) throws -> [String] {
        require(recordsPerShard > 0, "RecordFile.pack: recordsPerShard must be positive")
        var paths: [String] = []
        for (shard, start) in stride(from: 0, to: dataset.count, by: recordsPerShard).enumerated() {
            let batch = try dataset.batch(at: Array(start..<Swift.min(dataset.count, start + recordsPerShard)))
            let images = batch.images.asType(.uint8), labels = batch.labels.toArray(Int64.self)
            let records = (0..<labels.count).map { Record(pixels: images[$0], label: labels[$0]) }
            let number = String(shard)
            let path = "\(prefix)-\(String(repeating: "0", count: Swift.max(0, 5 - number.count)))\(number).nblrec"
            try write(records, to: path)
            paths.append(path)
        }
        return paths
    }
}

/// A dataset read from packed record shards, memory-mapped.
public struct RecordDataset: Dataset {
    struct Entry {
        let shard: Int
        let offset: Int
        let length: Int
        let label: Int64
        let crc: UInt32
        let kind: UInt32
        let shape: [Int]
    }

    let shards: [(path: String, data: Data, dataStart: Int)]
    let entries: [Entry]
    /// The decoded shape of encoded records (they are resized to it), `[H, W, C]`.
    let decodeShape: [Int]?

    /// Opens the shards at `paths`; encoded records are decoded and resized to `decodeShape` when read.
    ///
    /// - Throws: ``NablaError`` (`.corruptFile`) naming the file for a wrong magic number or an
    ///   index that does not fit the file. Records cut off by truncation are kept in the index and
    ///   raise an error naming the file and record when read.
    public init(paths: [String], decodeShape: [Int]? = nil) throws {
        var shards: [(String, Data, Int)] = [], entries: [Entry] = []
        for (s, path) in paths.enumerated() {
            guard FileManager.default.fileExists(atPath: path) else {
                throw NablaError(.notFound, "no such record file", path: path)
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
            guard data.count >= RecordFile.headerSize, data.prefix(8) == RecordFile.magic else {
                throw NablaError(.corruptFile, "not a Nabla record file (wrong magic number)", path: path)
            }
            func u64(_ at: Int) -> UInt64 {
                data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
            }
            func u32(_ at: Int) -> UInt32 {
                data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
            }
            let count = u64(8), dataStart = u64(16)
            guard count < UInt64(Int.max / RecordFile.entrySize),
                UInt64(RecordFile.headerSize) + count * UInt64(RecordFile.entrySize) == dataStart,
                dataStart <= UInt64(data.count)
            else {
                throw NablaError(
                    .corruptFile,
                    "record index (\(count) records) does not fit the file (\(data.count) bytes): truncated or damaged",
                    path: path)
            }
            for r in 0..<Int(count) {
                let at = RecordFile.headerSize + r * RecordFile.entrySize
                let (offset, length) = (u64(at), u64(at + 8))
                guard offset <= UInt64(Int.max / 2), length <= UInt64(Int.max / 2) else {
                    throw NablaError(.corruptFile, "record \(r) has an impossible offset or length", path: path)
                }
                let label = Int64(bitPattern: u64(at + 16))
                entries.append(
                    Entry(
                        shard: s, offset: Int(offset), length: Int(length), label: label, crc: u32(at + 24),
                        kind: u32(at + 28),
                        shape: [Int(u32(at + 32)), Int(u32(at + 36)), Int(u32(at + 40))]))
            }
            shards.append((path, data, Int(dataStart)))
        }
        self.shards = shards
        self.entries = entries
        self.decodeShape = decodeShape
    }

    public var count: Int { entries.count }

    /// Returns record `index`'s payload bytes after checking that they are present and intact.
    ///
    /// - Throws: ``NablaError`` (`.corruptFile`) naming the file and the record.
    public func payload(_ index: Int) throws -> Data {
        let e = entries[index]
        let shard = shards[e.shard]
        let start = shard.dataStart + e.offset
        guard start + e.length <= shard.data.count else {
            throw NablaError(.corruptFile, "record \(index) is cut off (the file is truncated)", path: shard.path)
        }
        let bytes = shard.data.subdata(in: start..<(start + e.length))
        let crc = bytes.withUnsafeBytes { UInt32(crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt($0.count))) }
        guard crc == e.crc else {
            throw NablaError(.corruptFile, "record \(index) fails its checksum (damaged)", path: shard.path)
        }
        return bytes
    }

    /// The label of record `index`.
    public func label(_ index: Int) -> Int64 { entries[index].label }

    /// Returns record `index` as an `[H, W, C]` uint8 image.
    public func image(_ index: Int) throws -> Tensor {
        let e = entries[index]
        let bytes = try payload(index)
        if e.kind == RecordFile.Kind.encodedImage.rawValue {
            let image = try ImageCodec.decode(
                bytes, channels: decodeShape?[2] ?? 3, path: "\(shards[e.shard].path) record \(index)")
            guard let shape = decodeShape else { return image }
            return ImageCodec.resized(image, height: shape[0], width: shape[1])
        }
        guard e.shape.reduce(1, *) == bytes.count else {
            throw NablaError(
                .corruptFile,
                "record \(index) holds \(bytes.count) bytes, its shape \(e.shape) needs \(e.shape.reduce(1, *))",
                path: shards[e.shard].path)
        }
        return Tensor(unsafeUninitializedShape: e.shape, dtype: .uint8) { out in
            _ = bytes.copyBytes(to: out.bindMemory(to: UInt8.self))
        }
    }

    public func batch(at indices: [Int]) throws -> Batch {
        Batch(images: stack(try indices.map(image)), labels: Tensor(indices.map { entries[$0].label }))
    }
}
