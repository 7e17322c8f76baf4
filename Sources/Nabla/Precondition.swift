// Checks for programming errors that stay on, with their message, in every build configuration.
//
// NOTE: Swift's `precondition` drops its message in -O builds (the process just traps), and
// release builds are the ones people train with. These helpers call `fatalError`, which always
// prints, so "matmul: inner dimensions differ, [32, 784] × [128, 10]" reaches the user.

/// Stops the program with `message` when `condition` is false (a programming error at the call site).
@inline(__always)
package func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID,
    line: UInt = #line
) {
    if _slowPath(!condition()) { misuse(message(), file: file, line: line) }
}

/// Stops the program with `message`: an argument no caller may pass.
@inline(never)
package func misuse(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message, file: file, line: line)
}
