import Foundation
import Nabla
import NablaData
import Testing

@Suite struct DataCommandTests {
    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "nabla-cli-data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A Kaggle-layout CSV of 4×4 images in three classes.
    static func csv(in folder: String) throws -> String {
        var text = "label," + (0..<16).map { "pixel\($0)" }.joined(separator: ",") + "\n"
        for i in 0..<9 {
            text += "\(i % 3)," + (0..<16).map { String(($0 * 16 + i) % 256) }.joined(separator: ",") + "\n"
        }
        let path = "\(folder)/train.csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func inspectPrintsCountsAndWritesAContactSheet() throws {
        let folder = try Self.folder()
        let csv = try Self.csv(in: folder)
        let result = try runNabla(["data", "inspect", csv, "--sheet", "\(folder)/sheet.png"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("9 examples of shape [4, 4, 1] uint8"))
        #expect(result.stdout.contains("3 classes:"))
        let png = try #require(FileManager.default.contents(atPath: "\(folder)/sheet.png"))
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    }

    @Test func statsAndPackWriteTheirFiles() throws {
        let folder = try Self.folder()
        let csv = try Self.csv(in: folder)
        let stats = try runNabla(["data", "stats", csv, "--output", "\(folder)/stats.safetensors"])
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.stdout.contains("mean per channel:"))
        let pack = try runNabla(["data", "pack", csv, "--output", "\(folder)/packed", "--records-per-shard", "4"])
        #expect(pack.status == 0, "\(pack.stderr)")
        #expect(pack.stdout.contains("packed 9 examples into 3 shard(s)"))
        let shards = (0..<3).map { "\(folder)/packed-0000\($0).nblrec" }
        let inspect = try runNabla(["data", "inspect", shards.joined(separator: ","), "--sheet", "\(folder)/s.png"])
        #expect(inspect.stdout.contains("9 examples"), "\(inspect.stderr)")
    }

    /// A shard may declare 2^24 classes: inspect lists the first 100 and counts the rest.
    @Test func inspectListsAHundredClassesAndCountsTheRest() throws {
        let folder = try Self.folder()
        let records = (0..<3).map {
            RecordFile.Record(pixels: Tensor([UInt8](repeating: 7, count: 4), shape: [2, 2, 1]), label: Int64($0))
        }
        try RecordFile.write(records, classes: 1 << 24, to: "\(folder)/many.nblrec")
        let result = try runNabla(["data", "inspect", "\(folder)/many.nblrec", "--sheet", "\(folder)/sheet.png"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("16777216 classes:"))
        #expect(
            result.stdout.contains("… and 16777116 more classes, holding 0 examples"), "\(result.stdout.suffix(300))")
        #expect(result.stdout.split(separator: "\n").count < 110)
    }

    @Test func notADatasetIsAOneLineError() throws {
        let result = try runNabla(["data", "inspect", "/etc/hostname"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("not a dataset"))
        #expect(!result.stderr.contains("Backtrace"))
    }

    @Test func optionValuesThatWouldTrapAreValidationErrors() throws {
        let folder = try Self.folder()
        let csv = try Self.csv(in: folder)
        let zero = try runNabla(["data", "pack", csv, "--output", "\(folder)/s", "--records-per-shard", "0"])
        #expect(zero.status != 0 && zero.stderr.contains("--records-per-shard must be positive"), "\(zero.stderr)")
        let huge = try runNabla(["data", "inspect", csv, "--size", "100000x100000"])
        #expect(huge.status != 0 && huge.stderr.contains("--size 100000x100000 is too large"), "\(huge.stderr)")
    }

    @Test func emptyDatasetIsAClearError() throws {
        let folder = try Self.folder()
        let path = "\(folder)/empty.csv"
        try "label,pixel0,pixel1,pixel2,pixel3\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try runNabla(["data", "inspect", path])
        #expect(result.status == 1 && result.stderr.contains("holds no examples"), "\(result.stderr)")
    }
}
