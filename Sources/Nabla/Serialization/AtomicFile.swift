import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes files so that a crash never leaves a half-written one: the bytes go to a temporary
/// file in the same folder, are flushed to disk, and the temporary file is renamed over the target.
public enum AtomicFile {
    /// Replaces the file at `path` with `data`, atomically.
    ///
    /// - Throws: ``NablaError`` naming the path: `.invalidArgument` when something other than a
    ///   regular file (or a symbolic link to one) is there, a device, FIFO, socket or folder, which
    ///   the rename would replace; `.io` when the folder is missing or not writable, or the disk
    ///   is full. The previous file, if any, is then left as it was.
    public static func write(_ data: Data, to path: String) throws {
        var info = stat()
        if stat(path, &info) == 0 && info.st_mode & S_IFMT != S_IFREG {
            throw NablaError(
                .invalidArgument,
                "not a regular file (a device, FIFO, socket or folder): refusing to replace it with a file",
                path: path)
        }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = "\(folder)/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw NablaError(.io, "cannot create a file in \(folder): \(String(cString: strerror(errno)))", path: path)
        }
        var failure: String?
        data.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let n = Glibc_write(fd, base + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw NablaError(.io, "could not write the file: \(failure); the previous version is unchanged", path: path)
        }
        // Make the rename itself durable.
        let dirfd = open(folder.isEmpty ? "." : folder, O_RDONLY)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.write(fd, buffer, count)
    #else
        return Darwin.write(fd, buffer, count)
    #endif
}
