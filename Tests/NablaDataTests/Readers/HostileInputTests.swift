import CZlib
import Foundation
import Nabla
import NablaData
import Testing

/// The defect classes of the security review, one regression test (or more) each: every hostile
/// file gives a clear error naming it, before any large allocation, and nothing traps.
@Suite struct HostileInputTests {
    static func scratch(_ name: String) -> String {
        let folder = NSTemporaryDirectory() + "nabla-hostile-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return "\(folder)/\(name)"
    }

    static func write(_ data: Data, _ name: String) -> String {
        let path = scratch(name)
        _ = FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    static func little<T: FixedWidthInteger>(_ value: T) -> Data {
        withUnsafeBytes(of: value.littleEndian) { Data($0) }
    }

    static func crc(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { UInt32(crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt($0.count))) }
    }

    /// A one-record shard whose index entry is written by hand.
    static func shard(label: Int64, length: UInt64 = 4, shape: [UInt32] = [1, 2, 2], classes: UInt32 = 10) -> Data {
        var entry = little(UInt64(0)) + little(length) + little(label)
        entry += little(crc(Data(count: 4))) + little(UInt32(0))
        for d in shape { entry += little(d) }
        entry += little(UInt32(0))
        var data = Data("NBLRECv2".utf8) + little(UInt64(1)) + little(UInt64(32 + entry.count))
        data += little(classes) + little(crc(entry))
        return data + entry + Data(count: 4)
    }

    // MARK: 1. Unchecked arithmetic on sizes

    @Test func recordShapeWhoseProductOverflowsIsAnError() {
        let path = Self.write(Self.shard(label: 1, shape: [1 << 31, 1 << 31, 1 << 31]), "big.nblrec")
        #expect { try RecordDataset(paths: [path]) } throws: { "\($0)".contains("record 0 holds 4 bytes") }
    }

    @Test func recordOffsetAndLengthNearIntMaxAreErrors() {
        let path = Self.write(Self.shard(label: 1, length: UInt64(Int.max / 2)), "long.nblrec")
        #expect { try RecordDataset(paths: [path]) } throws: { "\($0)".contains("impossible offset or length") }
    }

    // MARK: 2. Allocation before validation

    /// 200,000 header columns over 200,000 one-value lines claim 4·10¹⁰ values in 1.6 MB.
    @Test func tableHeaderOfManyColumnsOverShortLinesFailsOnTheFirstLine() {
        let header = (0..<200_000).map { "c\($0)" }.joined(separator: ",")
        let text = header + String(repeating: "\n1", count: 200_000)
        #expect { _ = try TabularCSV.decode(Data(text.utf8), path: "wide.csv") } throws: {
            "\($0)".contains("line 2 has 1 columns, the header 200000")
        }
    }

    @Test func csvHeaderOfManyColumnsOverShortLinesFailsOnTheFirstLine() {
        let header = "label," + (0..<10_000).map { "p\($0)" }.joined(separator: ",")
        let text = header + "\n" + String(repeating: "1\n", count: 200_000)
        #expect { try KaggleCSV.decode(text, path: "lying.csv") } throws: {
            "\($0)".contains("line 2 has 1 columns, the header has 10001")
        }
    }

    @Test func idxStreamHeaderLargerThanTheFileIsRefusedBeforeReading() throws {
        var images = Data([0, 0, 8, 3])
        for d in [60_000, 60_000, 60_000] { images += Data([24, 16, 8, 0].map { UInt8((d >> $0) & 0xFF) }) }
        let imagePath = Self.write(images + Data(count: 16), "images.idx")
        let labelPath = Self.write(Data([0, 0, 8, 1, 0, 0, 0, 1, 3]), "labels.idx")
        let dataset = IDXStreamingDataset(images: imagePath, labels: labelPath, classNames: ["a", "b", "c", "d"])
        #expect { try dataset.makeStream() } throws: { "\($0)".contains("truncated") }
        #expect { try IDXReader.read(imagePath) } throws: { "\($0)".contains("truncated") }
    }

    // MARK: 3. Image bombs and damaged images

    @Test func pngDeclaringAGigapixelIsRefusedBeforeDecoding() {
        func chunk(_ type: String, _ payload: Data) -> Data {
            let body = Data(type.utf8) + payload
            return withUnsafeBytes(of: UInt32(payload.count).bigEndian) { Data($0) } + body
                + withUnsafeBytes(of: Self.crc(body).bigEndian) { Data($0) }
        }
        var header = Data()
        for side in [30_000, 30_000] { header += Data([24, 16, 8, 0].map { UInt8((side >> $0) & 0xFF) }) }
        header += Data([8, 0, 0, 0, 0])
        // 70 bytes that declare 900 million grey pixels.
        let bytes =
            Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + chunk("IHDR", header)
            + chunk("IDAT", Data([0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])) + chunk("IEND", Data())
        #expect { try ImageCodec.decode(bytes, path: "bomb.png") } throws: {
            ($0 as? NablaError)?.code == .resourceLimit && "\($0)".contains("NABLA_MAX_IMAGE_PIXELS")
        }
    }

    @Test func jpegWithItsScanCutOffIsAnError() throws {
        let image = Tensor.uniform([64, 64, 3], high: 255, generator: RandomGenerator(seed: 5)).asType(.uint8)
        let jpeg = try ImageCodec.encodeJPEG(image)
        #expect(try ImageCodec.decode(jpeg, path: "whole.jpg").shape == [64, 64, 3])
        #expect { try ImageCodec.decode(jpeg.prefix(jpeg.count * 6 / 10), path: "cut.jpg") } throws: {
            "\($0)".contains("cut.jpg") && "\($0)".contains("JPEG")
        }
    }

    // MARK: 4. Labels trusted

    @Test(arguments: [Int64(-1), 1 << 40, Int64.max])
    func recordLabelsOutsideTheClassesAreErrors(label: Int64) {
        let path = Self.write(Self.shard(label: label), "labels.nblrec")
        #expect { try RecordDataset(paths: [path]) } throws: { "\($0)".contains("record 0 has label \(label)") }
    }

    @Test func damagedRecordIndexFailsItsChecksum() {
        var data = Self.shard(label: 1)
        data[32 + 16] = 2  // the label, without updating the index checksum
        let path = Self.write(data, "index.nblrec")
        #expect { try RecordDataset(paths: [path]) } throws: { "\($0)".contains("index fails its checksum") }
    }

    @Test func writingALabelOutsideTheClassesIsRefused() {
        let record = RecordFile.Record(pixels: Tensor.zeros([1, 1, 1], dtype: .uint8), label: 12)
        #expect { try RecordFile.write([record], classes: 10, to: Self.scratch("w.nblrec")) } throws: {
            "\($0)".contains("label 12, outside 0..<10")
        }
    }

    // MARK: 5. Empty and inconsistent datasets

    @Test func emptyCSVDatasetIsRefused() {
        let path = Self.write(Data("label,p0,p1,p2,p3\n".utf8), "empty.csv")
        #expect { try DatasetSource.open(path) } throws: { "\($0)".contains("holds no examples") }
    }

    @Test func recordsOfDifferentShapesAreAnErrorNotATrap() throws {
        let path = Self.scratch("mixed.nblrec")
        try RecordFile.write(
            [
                .init(pixels: Tensor.zeros([2, 2, 1], dtype: .uint8), label: 0),
                .init(pixels: Tensor.zeros([3, 3, 1], dtype: .uint8), label: 1),
            ], to: path)
        let records = try RecordDataset(paths: [path])
        #expect { try records.batch(at: [0, 1]) } throws: { "\($0)".contains("have shapes [2, 2, 1] and [3, 3, 1]") }
    }

    // MARK: 7. Special files

    @Test func fifoIsRefusedWithoutBlocking() throws {
        let path = Self.scratch("pipe.csv")
        #expect(mkfifo(path, 0o600) == 0)
        #expect { try KaggleCSV.read(path) } throws: { "\($0)".contains("not a regular file") }
        #expect { try CSVStreamingDataset(path: path).makeStream() } throws: { "\($0)".contains("not a regular file") }
        #expect { try IDXReader.read(path) } throws: { "\($0)".contains("not a regular file") }
    }

    @Test func csvLinkedToDevZeroIsRefused() throws {
        let path = Self.scratch("zero.csv")
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/zero")
        #expect { try CSVStreamingDataset(path: path).makeStream() } throws: { "\($0)".contains("not a regular file") }
    }

    @Test func csvLineLongerThanTheLimitIsAnError() throws {
        let line = "label," + String(repeating: "9,", count: ResourceLimits.maxLineBytes / 2 + 1)
        let path = Self.write(Data(line.utf8), "long.csv")
        #expect { try CSVStreamingDataset(path: path).makeStream() } throws: {
            ($0 as? NablaError)?.code == .resourceLimit && "\($0)".contains("NABLA_MAX_LINE_BYTES")
        }
    }

    // MARK: 8. Silent acceptance; 9. messages

    @Test func multiMemberGzipReadsTheSameInMemoryAndStreaming() throws {
        // Two gzip members, as `cat a.gz b.gz` makes: zlib reads them as one file.
        let whole: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3, 4]
        func gzip(_ bytes: [UInt8]) -> Data {
            let path = Self.write(Data(bytes), "part")
            let out = Self.scratch("part.gz")
            let file = gzopen(out, "wb")
            _ = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
            gzclose(file)
            _ = path
            return (try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()
        }
        let path = Self.write(gzip(Array(whole[..<6])) + gzip(Array(whole[6...])), "two.idx.gz")
        #expect(try IDXReader.read(path).toArray(UInt8.self) == [1, 2, 3, 4])
    }

    @Test func floatLabelsAreRefused() {
        #expect {
            try InMemoryDataset(
                images: Tensor.zeros([2, 1, 1, 1]), labels: Tensor([Float.nan, 1]), classNames: ["a", "b"])
        } throws: { "\($0)".contains("labels must be integers, got float32") }
    }

    @Test func crOnlyCSVReadsTheSameInMemoryAndStreaming() throws {
        let text = "label,p0,p1,p2,p3\r3,1,2,3,4\r"
        let path = Self.write(Data(text.utf8), "cr.csv")
        #expect { try KaggleCSV.read(path) } throws: { "\($0)".contains("do not make a square image") }
        #expect { try CSVStreamingDataset(path: path).makeStream() } throws: {
            "\($0)".contains("do not make a square image")
        }
    }

    @Test func csvWithAByteOrderMarkReadsItsHeader() throws {
        let (images, labels) = try KaggleCSV.decode("\u{FEFF}label,p0,p1,p2,p3\n3,1,2,3,4\n", path: "bom.csv")
        #expect(images.shape == [1, 2, 2, 1])
        #expect(labels?.toArray(Int64.self) == [3])
    }

    @Test func controlCharactersInMessagesAreEscaped() {
        let error = NablaError(.corruptFile, "label '\u{1B}[2J' is bad", path: "evil\u{7}.csv")
        #expect("\(error)" == "evil\\u{7}.csv: label '\\u{1b}[2J' is bad")
    }
}
