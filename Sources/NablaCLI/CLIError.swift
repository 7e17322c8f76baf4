import Nabla

// How the command line reports failures: every error a user can cause becomes one line on standard
// error and exit status 1, without a stack trace.

/// A user-facing failure: one line on standard error and exit status 1, no stack trace.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Runs `body`, turning a ``NablaError`` into the command line's one-line error.
func reportingErrors<Result>(_ body: () throws -> Result) throws -> Result {
    do { return try body() } catch let error as NablaError { throw CLIError(message: "\(error)") }
}
