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
    static let magic = Data("NBLRECv2".utf8)
    /// The largest class count a shard may declare.
    static let maxClasses = 1 << 24
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

    /// Writes `records` as one shard at `path`, atomically, for a dataset of `classes` classes
    /// (by default one more than the largest label).
    ///
    /// Layout: the header (magic `NBLRECv2`, record count, data start, class count, CRC-32 of the
    /// index), the index (offset, length, label, CRC-32, kind and shape per record), the payloads.
    /// - Throws: `NablaError`: `.invalidArgument` for a label outside `0..<classes`; `.io` when
    ///   the file cannot be written.
    public static func write(_ records: [Record], classes: Int? = nil, to path: String) throws {
        let classes = classes ?? Int(records.map(\.label).max() ?? 0) + 1
        guard (1...maxClasses).contains(classes) else {
            throw NablaError(
                .invalidArgument, "a record shard holds 1…\(maxClasses) classes, not \(classes)", path: path)
        }
        if let bad = records.firstIndex(where: { $0.label < 0 || $0.label >= Int64(classes) }) {
            throw NablaError(
                .invalidArgument, "record \(bad) has label \(records[bad].label), outside 0..<\(classes)", path: path)
        }
        var index = Data()
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { index.append(contentsOf: $0) }
        }
        var offset: UInt64 = 0
        for record in records {
            append(offset)
            append(UInt64(record.payload.count))
            append(record.label)
            append(crc(record.payload))
            append(record.kind.rawValue)
            for d in record.shape.prefix(3) { append(UInt32(d)) }
            append(UInt32(0))  // reserved, keeps entries 8-byte aligned
            offset += UInt64(record.payload.count)
        }
        var data = magic
        withUnsafeBytes(of: UInt64(records.count).littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(headerSize + index.count).littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(classes).littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: crc(index).littleEndian) { data.append(contentsOf: $0) }
        data.append(index)
        for record in records { data.append(record.payload) }
        try AtomicFile.write(data, to: path)
    }

    /// The CRC-32 of `bytes` (zlib's).
    static func crc(_ bytes: Data) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt($0.count))) }
    }

    /// Packs a dataset of `classes` classes into shards of at most `recordsPerShard` examples
    /// named `<prefix>-00000.nblrec`, …; returns the shard paths.
    ///
    /// `classes` defaults to the class names of an in-memory dataset or an image folder.
    /// - Throws: `NablaError`: `.invalidArgument` for an empty dataset, no class count, a label
    ///   outside the classes or a non-positive `recordsPerShard`; what reading the dataset throws.
    public static func pack(
        _ dataset: any Dataset, classes: Int? = nil, prefix: String, recordsPerShard: Int = 10_000
    ) throws -> [String] {
        guard recordsPerShard > 0 else {
            throw NablaError(.invalidArgument, "records per shard must be positive, got \(recordsPerShard)")
        }
        guard dataset.count > 0 else { throw NablaError(.invalidArgument, "the dataset holds no examples") }
        let known = (dataset as? InMemoryDataset)?.classNames.count ?? (dataset as? ImageFolder)?.classNames.count
        guard let classes = classes ?? known else {
            throw NablaError(.invalidArgument, "give the number of classes to pack this dataset")
        }
        var paths: [String] = []
        for (shard, start) in stride(from: 0, to: dataset.count, by: recordsPerShard).enumerated() {
            let batch = try dataset.batch(at: Array(start..<Swift.min(dataset.count, start + recordsPerShard)))
            let images = batch.images.asType(.uint8), labels = batch.labels.toArray(Int64.self)
            let records = (0..<labels.count).map { Record(pixels: images[$0], label: labels[$0]) }
            let number = String(shard)
            let path = "\(prefix)-\(String(repeating: "0", count: Swift.max(0, 5 - number.count)))\(number).nblrec"
            try write(records, classes: classes, to: path)
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
    /// The number of classes the shards declare; every label lies in `0..<classCount`.
    public let classCount: Int

    /// Opens the shards at `paths`; encoded records are decoded and resized to `decodeShape` when read.
    ///
    /// The whole index is checked before anything else: its checksum, every offset and length
    /// (checked arithmetic), every label against the class count, the shapes of raw records.
    /// - Throws: `NablaError` naming the file: `.notFound`; `.unsupportedVersion` for a shard of
    ///   an older format; `.corruptFile` for a wrong magic number, an index that does not fit the
    ///   file or fails its checksum, a bad record entry, or shards that disagree on the classes.
    ///   Records cut off by truncation stay in the index and raise an error naming the file and
    ///   record when read.
    public init(paths: [String], decodeShape: [Int]? = nil) throws {
        var shards: [(String, Data, Int)] = [], entries: [Entry] = []
        var classCount: Int?
        for (s, path) in paths.enumerated() {
            let data = try InputFile.contents(path)
            func corrupt(_ message: String) -> NablaError { NablaError(.corruptFile, message, path: path) }
            guard data.count >= RecordFile.headerSize, data.prefix(6) == RecordFile.magic.prefix(6) else {
                throw corrupt("not a Nabla record file (wrong magic number)")
            }
            guard data.prefix(8) == RecordFile.magic else {
                throw NablaError(
                    .unsupportedVersion,
                    "record shard format \(String(decoding: data.prefix(8), as: UTF8.self)) is not NBLRECv2; pack the dataset again",
                    path: path)
            }
            func u64(_ at: Int) -> UInt64 {
                data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
            }
            func u32(_ at: Int) -> UInt32 {
                data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
            }
            let count = u64(8), dataStart = u64(16), classes = Int(u32(24))
            guard count < UInt64(Int.max / RecordFile.entrySize),
                UInt64(RecordFile.headerSize) + count * UInt64(RecordFile.entrySize) == dataStart,
                dataStart <= UInt64(data.count)
            else {
                throw corrupt(
                    "record index (\(count) records) does not fit the file (\(data.count) bytes): truncated or damaged")
            }
            guard RecordFile.crc(data.subdata(in: RecordFile.headerSize..<Int(dataStart))) == u32(28) else {
                throw corrupt("the record index fails its checksum (damaged)")
            }
            guard (1...RecordFile.maxClasses).contains(classes) else {
                throw corrupt("the shard declares \(classes) classes (1…\(RecordFile.maxClasses) allowed)")
            }
            guard classCount == nil || classCount == classes else {
                throw corrupt("the shard declares \(classes) classes, the shards before it \(classCount ?? 0)")
            }
            classCount = classes
            for r in 0..<Int(count) {
                let at = RecordFile.headerSize + r * RecordFile.entrySize
                let (offset, length) = (u64(at), u64(at + 8))
                guard offset <= UInt64(Int.max / 4), length <= UInt64(Int.max / 4) else {
                    throw corrupt("record \(r) has an impossible offset or length")
                }
                let label = Int64(bitPattern: u64(at + 16))
                guard label >= 0 && label < Int64(classes) else {
                    throw corrupt("record \(r) has label \(label), outside the shard's 0..<\(classes) classes")
                }
                let kind = u32(at + 28)
                let shape = [Int(u32(at + 32)), Int(u32(at + 36)), Int(u32(at + 40))]
                if kind == RecordFile.Kind.rawPixels.rawValue {
                    guard DType.uint8.byteCount(of: shape) == Int(length) else {
                        throw corrupt("record \(r) holds \(length) bytes, its shape \(shape) does not match")
                    }
                } else if kind != RecordFile.Kind.encodedImage.rawValue {
                    throw corrupt("record \(r) has unknown kind \(kind)")
                }
                entries.append(
                    Entry(
                        shard: s, offset: Int(offset), length: Int(length), label: label, crc: u32(at + 24),
                        kind: kind, shape: shape))
            }
            shards.append((path, data, Int(dataStart)))
        }
        self.shards = shards
        self.entries = entries
        self.decodeShape = decodeShape
        self.classCount = classCount ?? 0
    }

    public var count: Int { entries.count }

    /// Returns record `index`'s payload bytes after checking that they are present and intact.
    ///
    /// - Throws: `NablaError` (`.corruptFile`) naming the file and the record.
    public func payload(_ index: Int) throws -> Data {
        let e = entries[index]
        let shard = shards[e.shard]
        let available = shard.data.count - shard.dataStart
        guard e.offset <= available && e.length <= available - e.offset else {
            throw NablaError(.corruptFile, "record \(index) is cut off (the file is truncated)", path: shard.path)
        }
        let start = shard.dataStart + e.offset
        let bytes = shard.data.subdata(in: start..<(start + e.length))
        guard RecordFile.crc(bytes) == e.crc else {
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
        // The index checked that the shape's product is the payload's length.
        return Tensor(unsafeUninitializedShape: e.shape, dtype: .uint8) { out in
            _ = bytes.copyBytes(to: out.bindMemory(to: UInt8.self))
        }
    }

    public func batch(at indices: [Int]) throws -> Batch {
        let images = try indices.map(image)
        if let first = images.first, let other = images.firstIndex(where: { $0.shape != first.shape }) {
            throw NablaError(
                .corruptFile,
                "records \(indices[0]) and \(indices[other]) have shapes \(first.shape) and \(images[other].shape); give a decode shape to resize them",
                path: shards[entries[indices[other]].shard].path)
        }
        return Batch(images: stack(images), labels: Tensor(indices.map { entries[$0].label }))
    }
}
