import Foundation
import Nabla
import NablaData
import Testing

/// What `nabla data inspect` builds from a dataset stays small whatever the dataset declares: a
/// contact sheet of at most 100 rows of thumbnails of at most 64 pixels a side.
@Suite struct DatasetSourceTests {
    @Test func aContactSheetOfLargeImagesAndManyClassesStaysSmall() throws {
        let folder = NSTemporaryDirectory() + "nabla-sheet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Three 1500×1000 images in a shard that declares 2^24 classes.
        let image = Tensor((0..<(1500 * 1000)).map { UInt8($0 % 251) }, shape: [1500, 1000, 1])
        let records = (0..<3).map { RecordFile.Record(pixels: image, label: Int64($0)) }
        let shard = folder + "/big.nblrec"
        try RecordFile.write(records, classes: 1 << 24, to: shard)
        let opened = try DatasetSource.open(shard)
        #expect(opened.classNames.count == 1 << 24)
        let png = try DatasetSource.contactSheet(opened)
        // The PNG header's width and height (big-endian, bytes 16..<24).
        let bytes = [UInt8](png.prefix(24))
        let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) },
            height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        // Thumbnails of 64×42 (the longest side scaled to 64), 8 a row, 100 rows.
        #expect(width == 8 * (42 + 2) && height == 100 * (64 + 2), "\(width)×\(height)")
    }
}
