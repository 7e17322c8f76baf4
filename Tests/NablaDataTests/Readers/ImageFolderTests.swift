import Foundation
import Nabla
import NablaData
import Testing

/// Image folders written by the test with the system's libjpeg-turbo and libpng.
enum ImageFixture {
    static func pattern(_ h: Int, _ w: Int, seed: Int) -> Tensor {
        Tensor((0..<(h * w * 3)).map { UInt8(($0 * 7 + seed * 31) % 256) }, shape: [h, w, 3])
    }

    /// cats/0.png … cats/2.png, dogs/0.jpg … dogs/2.jpg, plus a stray text file.
    static func folder() throws -> String {
        let root = NSTemporaryDirectory() + "nabla-images-\(UUID().uuidString)"
        for name in ["cats", "dogs"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
        }
        for i in 0..<3 {
            try ImageCodec.encodePNG(pattern(6, 5, seed: i)).write(to: URL(fileURLWithPath: "\(root)/cats/\(i).png"))
            try ImageCodec.encodeJPEG(pattern(10, 8, seed: i), quality: 95).write(
                to: URL(fileURLWithPath: "\(root)/dogs/\(i).jpg"))
        }
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: "\(root)/cats/notes.txt"))
        return root
    }
}

@Suite struct ImageFolderTests {
    @Test func pngRoundTripsExactlyAndJPEGClosely() throws {
        let image = ImageFixture.pattern(6, 5, seed: 1)
        #expect(
            try ImageCodec.decode(ImageCodec.encodePNG(image), path: "x.png").toArray(UInt8.self)
                == image.toArray(UInt8.self))
        let levels: [UInt8] = (0..<(16 * 16 * 3)).map { (i: Int) -> UInt8 in UInt8(100 + (i / 48) % 16) }
        let smooth = Tensor(levels, shape: [16, 16, 3])
        let decoded = try ImageCodec.decode(ImageCodec.encodeJPEG(smooth, quality: 95), path: "x.jpg")
        let error = (decoded.asType(.float32) - smooth.asType(.float32)).abs().max().item()
        #expect(error <= 8)
        let grey = try ImageCodec.decode(ImageCodec.encodePNG(image), channels: 1, path: "x.png")
        #expect(grey.shape == [6, 5, 1])
    }

    @Test func listsClassesAndDecodesResizedBatches() throws {
        let folder = try ImageFolder(root: ImageFixture.folder(), size: (8, 8))
        #expect(folder.classNames == ["cats", "dogs"])
        #expect(folder.count == 6)
        #expect(folder.labels == [0, 0, 0, 1, 1, 1])
        let batch = try folder.batch(at: [0, 5])
        #expect(batch.images.shape == [2, 8, 8, 3] && batch.images.dtype == .uint8)
        #expect(batch.labels.toArray(Int64.self) == [0, 1])
    }

    @Test func unreadableImageIsNamedOrSkippedWithAWarning() throws {
        let root = try ImageFixture.folder()
        let bad = "\(root)/dogs/broken.jpg"
        let jpeg = try ImageCodec.encodeJPEG(ImageFixture.pattern(10, 8, seed: 9))
        try jpeg.prefix(20).write(to: URL(fileURLWithPath: bad))
        let strict = try ImageFolder(root: root, size: (8, 8))
        let index = try #require(strict.files.firstIndex(of: bad))
        #expect { try strict.batch(at: [index]) } throws: { error in
            (error as? NablaError)?.code == .corruptFile && "\(error)".contains("broken.jpg")
        }
        let lenient = try ImageFolder(root: root, size: (8, 8), skipUnreadable: true)
        #expect(lenient.count == 6)
        #expect(lenient.skipped.map(\.path) == [bad])
    }

    @Test func hostileBytesNeverCrash() {
        let inputs: [Data] = [
            Data(), Data([0xFF, 0xD8, 0xFF]), Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0]),
            Data((0..<2000).map { UInt8($0 % 256) }),
            Data([0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0xFF, count: 500)),
        ]
        for data in inputs {
            #expect(throws: NablaError.self) { try ImageCodec.decode(data, path: "hostile") }
        }
    }

    @Test func missingFolderIsNotFound() {
        #expect { try ImageFolder(root: "/nonexistent/photos", size: (8, 8)) } throws: {
            ($0 as? NablaError)?.code == .notFound
        }
    }
}
