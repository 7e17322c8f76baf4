import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A process a test starts and owns: it is ended when the test is done with it, whatever way
/// the test ends.
///
/// The child starts in a process group of its own, with every signal unblocked and at its default
/// action: the test process's threads block most signals, and a child that inherited that mask
/// (as `Foundation.Process` passes it on) ignored SIGTERM and outlived the tests. ``terminate(grace:)``
/// sends SIGTERM to the group, SIGKILL after the grace period, and waits; `deinit` does the same,
/// so a test that throws or fails early still leaves nothing running. Standard input is
/// `/dev/null`; standard output and error go to files (never pipes, which a child can fill).
public final class ChildProcess: @unchecked Sendable {
    /// The child's process ID, which is also its process group's ID.
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` (a path, or a name looked up on the `PATH`) with `arguments`.
    ///
    /// `environment` is added to (and overrides) this process's environment; `standardOutput` and
    /// `standardError` name the files the child's outputs are written to (`/dev/null` when nil).
    ///
    /// - Throws: `ChildProcessError` when the process cannot be started.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        standardOutput: String? = nil, standardError: String? = nil
    ) throws {
        var attributes = posix_spawnattr_t()
        var actions = posix_spawn_file_actions_t()
        posix_spawnattr_init(&attributes)
        posix_spawn_file_actions_init(&actions)
        defer {
            posix_spawnattr_destroy(&attributes)
            posix_spawn_file_actions_destroy(&actions)
        }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let writing = O_WRONLY | O_CREAT | O_TRUNC
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput ?? "/dev/null", writing, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, standardError ?? "/dev/null", writing, 0o644)

        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var child = pid_t()
        let result = posix_spawnp(&child, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw ChildProcessError(message: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit { terminate(grace: 2) }

    /// The exit status once the child has ended (128 + the signal's number when a signal ended
    /// it; -1 when something else reaped it), else nil.
    public var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if status == nil {
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid {
                status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
            } else if reaped == -1 && errno == ECHILD {
                status = -1
            }
        }
        return status
    }

    /// Whether the child is still running.
    public var isRunning: Bool { exitStatus == nil }

    /// Waits at most `timeout` seconds for the child to end; returns its status, or nil if it still runs.
    @discardableResult
    public func wait(timeout: TimeInterval = .infinity) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { usleep(5_000) }
        return exitStatus
    }

    /// Ends the child's process group: SIGTERM, then SIGKILL after `grace` seconds; waits for
    /// the child and returns its exit status.
    @discardableResult
    public func terminate(grace: TimeInterval = 10) -> Int32? {
        if isRunning {
            kill(-pid, SIGTERM)
            if wait(timeout: grace) == nil {
                kill(-pid, SIGKILL)
                wait(timeout: 30)
            }
        }
        // Whatever the group's other members are (a launcher's children), they go with it.
        kill(-pid, SIGKILL)
        return exitStatus
    }

    /// Runs `executable` to its end; returns its exit status and what it wrote to standard output
    /// and standard error.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:]
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let folder = NSTemporaryDirectory() + "nabla-child-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let child = try ChildProcess(
            executable, arguments, environment: environment, standardOutput: folder + "/stdout",
            standardError: folder + "/stderr")
        let status = child.wait() ?? -1
        child.terminate()
        let read = { (name: String) in
            String(decoding: FileManager.default.contents(atPath: "\(folder)/\(name)") ?? Data(), as: UTF8.self)
        }
        return (status, read("stdout"), read("stderr"))
    }
}

/// A process that could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
