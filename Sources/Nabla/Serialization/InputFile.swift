import Foundation

/// Opening files that come from outside: regular files only, and errors that say what and where.
public enum InputFile {
    /// Returns the size of the regular file at `path` (or a link to one); FIFOs, devices and
    /// sockets are refused, since they would block a reader or never end.
    ///
    /// - Throws: ``NablaError``: `.notFound` for a missing file, `.invalidArgument` for a special file.
    @discardableResult
    public static func checkRegular(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw NablaError(.notFound, "no such file", path: path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw NablaError(
                .invalidArgument, "not a regular file (a FIFO, device or socket cannot be read as input)", path: path)
        }
        return Int(info.st_size)
    }

    /// Returns the bytes of the regular file at `path`, memory-mapped.
    ///
    /// - Throws: ``NablaError``: `.notFound`, `.invalidArgument` for a special file, `.io` with the
    ///   system's reason when it cannot be read.
    public static func contents(_ path: String) throws -> Data {
        try checkRegular(path)
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            throw NablaError(.io, "cannot read the file: \(reason)", path: path)
        }
    }

    /// Returns whether the file at `path` starts with the gzip magic number.
    ///
    /// - Throws: ``NablaError`` (`.io`) when it cannot be opened.
    public static func startsWithGzipMagic(_ path: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw NablaError(.io, "cannot open the file", path: path)
        }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 2)) ?? Data()
        return magic == Data([0x1F, 0x8B])
    }
}
