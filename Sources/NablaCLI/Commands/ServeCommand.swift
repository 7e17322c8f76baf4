import ArgumentParser
import Foundation

/// `nabla serve`: runs the `nabla-serve` binary that sits beside `nabla`, with the same arguments.
///
/// The server is its own binary so that `nabla` builds without SwiftNIO and Hummingbird. It
/// replaces this process (`execv`), so signals such as SIGTERM reach the server itself.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over HTTP (Open Inference Protocol v2), with a page to try them: nabla serve --help.")

    @Argument(parsing: .captureForPassthrough, help: "The server's arguments (see nabla serve --help).")
    var arguments: [String] = []

    func run() throws {
        let own =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let server = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("nabla-serve").path
        guard FileManager.default.isExecutableFile(atPath: server) else {
            throw CLIError(
                message:
                    "nabla serve runs \(server), which is not there: build it with swift build -c release --product nabla-serve"
            )
        }
        let argv = ([server] + arguments).map { strdup($0) } + [nil]
        execv(server, argv)
        throw CLIError(message: "cannot run \(server): \(String(cString: strerror(errno)))")
    }
}
