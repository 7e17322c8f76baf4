import ArgumentParser
import Foundation
import Nabla
import NablaIO
import NablaServe

/// `nabla serve` (the `nabla-serve` binary): models over HTTP with the Open Inference Protocol,
/// and a page to try them.
@main
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nabla serve",
        abstract:
            "Serve models over HTTP (Open Inference Protocol v2, as KServe and Triton speak it), with a page to try them.",
        discussion: """
            Endpoints: GET /v2/health/live, /v2/health/ready, /v2, /v2/models/NAME[/versions/1], \
            /v2/models/NAME/ready; POST /v2/models/NAME/infer (JSON tensors, the binary tensor data \
            and classification extensions); POST /v2/models/NAME/classify?top_k=5 (a PNG or JPEG \
            body, prepared as the model file says); GET /metrics (Prometheus); GET / (a page to \
            draw a digit or drop a photo).

            Each model runs on its own thread; concurrent requests are gathered into batches of at \
            most --max-batch-size examples, the oldest waiting at most --max-queue-delay-us (0: a \
            batch takes what waits when the model becomes free). Set them per model with \
            --model-batching NAME:MAX_BATCH:DELAY_US. The server prints "ready: URL" once every \
            model is loaded and warmed up, and on SIGTERM or SIGINT finishes the requests in \
            flight before it exits.

            Exit status: 0 after a clean shutdown; 1 an error (one line on standard error: what \
            failed and where); 64 a wrong option or argument.
            """)

    @Argument(help: "Model files (.nabla or .onnx), as PATH or NAME=PATH (the name defaults to the file name).")
    var models: [String]

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0: any free port, printed when ready).")
    var port = 8000

    @Option(name: .customLong("max-batch-size"), help: "The most examples one run of a model takes (1: no batching).")
    var maxBatchSize = 64

    @Option(name: .customLong("max-queue-delay-us"), help: "How long a request may wait for a batch to fill, in µs.")
    var maxQueueDelay = 0

    @Option(
        name: .customLong("model-batching"),
        help: ArgumentHelp("Batching for one model: NAME:MAX_BATCH:DELAY_US (repeatable).", valueName: "spec"))
    var modelBatching: [String] = []

    @Option(
        name: .customLong("idle-spin-us"),
        help: "How long a model's thread polls for the next request before it sleeps, in µs (0: sleep at once).")
    var idleSpin = 1000

    @Option(name: .customLong("timeout-ms"), help: "A request waiting longer than this for its model is answered 504.")
    var timeout = 10_000

    @Option(name: .customLong("max-body-bytes"), help: "The largest request body accepted (413 beyond).")
    var maxBodyBytes = 32 << 20

    @Option(
        name: .customLong("max-rows-in-flight"),
        help:
            "The most examples waiting or running for one model; a request beyond it is answered 503 with Retry-After.")
    var maxRowsInFlight = 65536

    @Option(
        name: .customLong("max-bytes-in-flight"),
        help:
            "The most request-body bytes held at once (a body of unknown length counts as --max-body-bytes); beyond it 503 with Retry-After."
    )
    var maxBytesInFlight = 256 << 20

    @Flag(name: .customLong("no-request-log"), help: "Do not write one JSON line per request to standard error.")
    var noRequestLog = false

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one model file") }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard (1...4096).contains(maxBatchSize) else { throw ValidationError("--max-batch-size must be in 1...4096") }
        guard (0...10_000_000).contains(maxQueueDelay) else {
            throw ValidationError("--max-queue-delay-us must be in 0...10000000")
        }
        guard (0...1_000_000).contains(idleSpin) else { throw ValidationError("--idle-spin-us must be in 0...1000000") }
        guard (1...3_600_000).contains(timeout) else { throw ValidationError("--timeout-ms must be in 1...3600000") }
        guard (1...(1 << 31)).contains(maxBodyBytes) else {
            throw ValidationError("--max-body-bytes must be in 1...2147483648")
        }
        guard (1...(1 << 24)).contains(maxRowsInFlight) else {
            throw ValidationError("--max-rows-in-flight must be in 1...16777216")
        }
        guard (1...(1 << 40)).contains(maxBytesInFlight) else {
            throw ValidationError("--max-bytes-in-flight must be in 1...2^40")
        }
        _ = try policies()
    }

    /// Each named model's batching, from --model-batching.
    func policies() throws -> [String: BatchingPolicy] {
        var result: [String: BatchingPolicy] = [:]
        for spec in modelBatching {
            let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty, let size = Int(parts[1]), (1...4096).contains(size),
                let delay = Int(parts[2]), (0...10_000_000).contains(delay)
            else {
                throw ValidationError(
                    "--model-batching '\(spec)' is not NAME:MAX_BATCH:DELAY_US (MAX_BATCH 1...4096, DELAY_US 0...10000000)"
                )
            }
            result[String(parts[0])] = BatchingPolicy(
                maxBatchSize: size, maxQueueDelayMicroseconds: delay, timeoutMilliseconds: timeout,
                idleSpinMicroseconds: idleSpin, maxRowsInFlight: maxRowsInFlight)
        }
        return result
    }

    func run() async throws {
        ONNXImport.register()
        let policies = try policies()
        let fallback = BatchingPolicy(
            maxBatchSize: maxBatchSize, maxQueueDelayMicroseconds: maxQueueDelay, timeoutMilliseconds: timeout,
            idleSpinMicroseconds: idleSpin, maxRowsInFlight: maxRowsInFlight)
        var served: [ServedModel] = []
        var failed: [String] = []
        for spec in models {
            let (name, path) = Self.nameAndPath(spec)
            let start = Date()
            // One bad model file does not keep the others from being served: it is reported and left out.
            let model: ServedModel
            do { model = try ServedModel(name: name, path: path, policy: policies[name] ?? fallback) } catch {
                FileHandle.standardError.write(Data("error: \(name) is not served: \(error)\n".utf8))
                failed.append(name)
                continue
            }
            let shape = ([-1] + model.inputShape).map(String.init).joined(separator: ", ")
            FileHandle.standardError.write(
                Data(
                    ("loaded \(name) from \(path): input [\(shape)] \(model.inputDatatype), output [-1, \(model.outputShape.map(String.init).joined(separator: ", "))], "
                        + "batches of up to \(model.policy.maxBatchSize) waiting up to \(model.policy.maxQueueDelayMicroseconds) µs, "
                        + "loaded and warmed up in \(String(format: "%.2f", Date().timeIntervalSince(start))) s\n").utf8
                ))
            served.append(model)
        }
        guard !served.isEmpty else {
            throw ServeCLIError(
                description: "no model could be loaded (\(failed.joined(separator: ", "))); nothing to serve")
        }
        var configuration = ServerConfiguration(
            host: host, port: port, maxBodyBytes: maxBodyBytes, logRequests: !noRequestLog)
        configuration.maxBytesInFlight = maxBytesInFlight
        let server = try reportingErrors { try InferenceServer(models: served, configuration: configuration) }
        let address = host
        try await server.run { port in
            // Standard output may be a pipe (a supervisor, a test): one unbuffered write.
            FileHandle.standardOutput.write(Data("ready: http://\(address):\(port)/\n".utf8))
        }
        FileHandle.standardError.write(Data("stopped: every request in flight was answered\n".utf8))
    }

    /// `NAME=PATH`, or `PATH` named by its file name without the extension.
    static func nameAndPath(_ spec: String) -> (String, String) {
        if let eq = spec.firstIndex(of: "="), !spec[..<eq].contains("/") {
            return (String(spec[..<eq]), String(spec[spec.index(after: eq)...]))
        }
        return (((spec as NSString).lastPathComponent as NSString).deletingPathExtension, spec)
    }
}

/// A user-facing failure: one line on standard error and exit status 1.
struct ServeCLIError: Error, CustomStringConvertible {
    let description: String
}

/// Runs `body`, turning a ``NablaError`` into a one-line error.
func reportingErrors<Result>(_ body: () throws -> Result) throws -> Result {
    do { return try body() } catch let error as NablaError { throw ServeCLIError(description: "\(error)") }
}
