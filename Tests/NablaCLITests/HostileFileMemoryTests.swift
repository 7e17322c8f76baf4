import Foundation
import NablaTestSupport
import Testing

/// Hostile files through the real command line, with the process's peak memory measured by
/// `/usr/bin/time` (Debian's `time` package; CI installs it): each is refused with a clear error
/// long before it can make Nabla allocate what it declares.
@Suite(.requires(.gnuTime))
struct HostileFileMemoryTests {
    /// The most a refused file may raise the process's peak resident memory to (a debug build's
    /// baseline is far below; what the files below declare is gigabytes).
    static let peakLimitKB = 200 * 1024

    /// Runs `nabla` under `/usr/bin/time`; returns its status, standard error and peak RSS in KB.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String, Int) {
        let result = try runProgram(
            "/usr/bin/time", ["-f", "peak %M", try nablaBinary()] + arguments, environment: environment)
        let peak = result.stderr.split(separator: "\n").last { $0.hasPrefix("peak ") }.flatMap { Int($0.dropFirst(5)) }
        return (result.status, result.stderr, peak ?? .max)
    }

    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "nabla-bombs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func csvHeaderThatLiesAboutItsColumns() throws {
        // 10,000 pixel columns declared over 500,000 one-character lines: 5 GB if believed.
        let path = "\(try Self.folder())/lying.csv"
        let header = "label," + (0..<10_000).map { "p\($0)" }.joined(separator: ",") + "\n"
        try (header + String(repeating: "1\n", count: 500_000)).write(toFile: path, atomically: true, encoding: .utf8)
        let (status, stderr, peak) = try Self.run(["data", "inspect", path])
        #expect(status == 1 && stderr.contains("line 2 has 1 columns, the header has 10001"), "\(stderr)")
        #expect(peak < Self.peakLimitKB, "peak RSS \(peak) KB")
    }

    @Test func pngThatDeclaresAGigapixel() throws {
        let folder = try Self.folder()
        try FileManager.default.createDirectory(atPath: "\(folder)/a", withIntermediateDirectories: true)
        // The bytes of a PNG whose header declares 30,000 × 30,000 grey pixels (made with Python's zlib).
        let hex =
            "89504e470d0a1a0a0000000d4948445200007530000075300800000000434ca766000000"
            + "0949444154789c630000000100015eff7df90000000049454e44ae426082"
        var bytes = Data()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        _ = FileManager.default.createFile(atPath: "\(folder)/a/bomb.png", contents: bytes)
        let (status, stderr, peak) = try Self.run(["data", "inspect", folder])
        #expect(status == 1 && stderr.contains("NABLA_MAX_IMAGE_PIXELS"), "\(stderr)")
        #expect(peak < Self.peakLimitKB, "peak RSS \(peak) KB")
    }

    @Test func gzipIDXThatDeclaresMoreThanItHolds() throws {
        // A header declaring 1,000,000 images of 28×28 (784 MB) over 4 KB of data, gzipped.
        let root = try Self.folder()
        let folder = "\(root)/fashion-mnist"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var images = Data([0, 0, 8, 3])
        for d in [1_000_000, 28, 28] { images += Data([24, 16, 8, 0].map { UInt8((d >> $0) & 0xFF) }) }
        images += Data(count: 4096)
        let labels = Data([0, 0, 8, 1, 0, 0, 0, 1, 0])
        for (name, data) in [("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)] {
            for split in ["", "t10k"] {
                let file = "\(folder)/\(split.isEmpty ? name : name.replacingOccurrences(of: "train", with: split))"
                _ = FileManager.default.createFile(atPath: file, contents: data)
                _ = try runProgram("/bin/gzip", ["-f", file])
            }
        }
        let (status, stderr, peak) = try Self.run(
            ["data", "inspect", "fashion-mnist"], environment: ["NABLA_DATA": root])
        #expect(status == 1 && stderr.contains("more than the"), "\(stderr)")
        #expect(peak < Self.peakLimitKB, "peak RSS \(peak) KB")
    }
}
