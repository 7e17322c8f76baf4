/// The error every Nabla module throws for problems that come from outside the program: files,
/// paths, user input, network requests.
///
/// `code` tells the kind of problem and is extensible (new codes do not break a `switch` written
/// against older ones); `message` says what went wrong, where, and how to fix it; `path` names the
/// file or request concerned, and `cause` keeps the underlying error when there is one.
/// Programming errors (shapes that do not match, bad axes) are preconditions, not `NablaError`s.
public struct NablaError: Error, CustomStringConvertible, Sendable {
    /// The kind of a ``NablaError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidArgument, notFound, corruptFile, unsupportedVersion, unsupportedOperator, resourceLimit, io
        }
        private let value: Value

        /// A value that is not valid where it was given.
        public static let invalidArgument = Code(value: .invalidArgument)
        /// A file, dataset or name that does not exist.
        public static let notFound = Code(value: .notFound)
        /// A file whose bytes do not follow its format.
        public static let corruptFile = Code(value: .corruptFile)
        /// A file written by a newer or unknown version of its format.
        public static let unsupportedVersion = Code(value: .unsupportedVersion)
        /// An operator or feature this version cannot handle.
        public static let unsupportedOperator = Code(value: .unsupportedOperator)
        /// A size above a configured or sane limit.
        public static let resourceLimit = Code(value: .resourceLimit)
        /// A failed read, write or other system call.
        public static let io = Code(value: .io)

        public var description: String { "\(value)" }
    }

    /// The kind of problem.
    public var code: Code
    /// What went wrong, where, and how to fix it.
    public var message: String
    /// The file or request concerned, if any.
    public var path: String?
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?

    /// Runs `body`, giving the errors it throws that name no file `path`.
    public static func at<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch var error as NablaError {
            if error.path == nil { error.path = path }
            throw error
        }
    }

    /// Creates an error.
    public init(_ code: Code, _ message: String, path: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.cause = cause
    }

    /// The path, the message and the cause on one line, with control characters escaped: file
    /// names and file content quoted in a message cannot send escape sequences to a terminal.
    public var description: String {
        var text = path.map { "\($0): \(message)" } ?? message
        if let cause { text += " (\(cause))" }
        return Self.escapingControlCharacters(text)
    }

    /// Returns `text` with every control character (C0, DEL, C1) written as `\u{…}`.
    static func escapingControlCharacters(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
