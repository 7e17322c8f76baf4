import Foundation
import Nabla
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Atomic writes replace regular files only: a FIFO or a character device at the path (made in a
/// temporary folder, never the real `/dev`) is refused and left as it was.
@Suite struct AtomicFileTests {
    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "nabla-atomic-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func kind(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    @Test func aRegularFileIsReplaced() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try AtomicFile.write(Data("one".utf8), to: folder + "/f")
        try AtomicFile.write(Data("two".utf8), to: folder + "/f")
        #expect(FileManager.default.contents(atPath: folder + "/f") == Data("two".utf8))
    }

    @Test func aFIFOAndACharacterDeviceAreRefusedAndKept() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fifo = folder + "/fifo"
        try #require(mkfifo(fifo, 0o600) == 0, "mkfifo: \(String(cString: strerror(errno)))")
        // A character device with /dev/null's numbers, made here (root can; CI runs as root); a
        // link to one is refused alike, and is what a user without the right can make.
        let device = folder + "/device"
        // dev_t of (1, 3) in Linux's encoding: major << 8 | minor for small numbers.
        if mknod(device, S_IFCHR | 0o600, dev_t(1 << 8 | 3)) != 0 {
            try FileManager.default.createSymbolicLink(atPath: device, withDestinationPath: "/dev/null")
        }
        let folderTarget = folder + "/sub"
        try FileManager.default.createDirectory(atPath: folderTarget, withIntermediateDirectories: true)
        for path in [fifo, device, folderTarget] {
            let before = Self.kind(path)
            #expect {
                try AtomicFile.write(Data("x".utf8), to: path)
            } throws: { "\($0)".contains("not a regular file") }
            #expect(Self.kind(path) == before, "\(path) was replaced")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
