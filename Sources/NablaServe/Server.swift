import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Nabla
import NablaIO

/// How the server runs.
public struct ServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (printed when the server is ready).
    public var port: Int
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// Whether one JSON line per request goes to standard error.
    public var logRequests: Bool
    /// How long a connection may stay idle (also bounds a client that sends its body slowly).
    public var idleTimeoutSeconds: Int
    /// The most request-body bytes held at once over all requests.
    ///
    /// Beyond it a request is answered 503 before its body is read. A body of unknown length
    /// counts as `maxBodyBytes`.
    public var maxBytesInFlight: Int = 256 << 20

    public init(
        host: String = "127.0.0.1", port: Int = 8000, maxBodyBytes: Int = 32 << 20, logRequests: Bool = true,
        idleTimeoutSeconds: Int = 60
    ) {
        (self.host, self.port, self.maxBodyBytes, self.logRequests, self.idleTimeoutSeconds) =
            (host, port, maxBodyBytes, logRequests, idleTimeoutSeconds)
    }
}

/// An HTTP server for models: the Open Inference Protocol v2 REST API (KServe, Triton) with the
/// binary tensor data and classification extensions, an image endpoint, Prometheus metrics and a
/// page to try the models in a browser.
public final class InferenceServer: Sendable {
    public let models: [ServedModel]
    public let configuration: ServerConfiguration
    private let byName: [String: ServedModel]
    private let bytesInFlight = BytesInFlight()

    public init(models: [ServedModel], configuration: ServerConfiguration) throws {
        var byName: [String: ServedModel] = [:]
        for model in models {
            guard byName.updateValue(model, forKey: model.name) == nil else {
                throw NablaError(.invalidArgument, "two models are named '\(model.name)'; name them NAME=PATH")
            }
        }
        (self.models, self.configuration, self.byName) = (models, configuration, byName)
    }

    /// Serves until SIGTERM or SIGINT.
    ///
    /// Then it stops accepting connections, finishes the requests in flight and returns. `onReady` is called with the bound port once the server accepts requests.
    public func run(onReady: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let router = Router()
        router.add(middleware: RequestLog(enabled: configuration.logRequests))
        addRoutes(router)
        var logger = Logger(label: "nabla-serve")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "nabla"),
            onServerRunning: { channel in onReady(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService()
        for model in models { model.stop() }
    }

    private func model(_ context: some RequestContext) throws -> ServedModel {
        let name = context.parameters.get("name") ?? ""
        guard let model = byName[name] else { throw ServeError(.notFound, "unknown model '\(name)'") }
        if let version = context.parameters.get("version"), version != model.version {
            throw ServeError(
                .notFound, "model '\(name)' has no version '\(version)' (it serves version \(model.version))")
        }
        return model
    }

    private func addRoutes(_ router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Response.page(Page.html) }
        router.get("/v2/health/live") { _, _ in Response.json(#"{"live":true}"#) }
        router.get("/v2/health/ready") { _, _ in Response.json(#"{"ready":true}"#) }
        router.get("/v2") { _, _ in self.serverMetadata() }
        router.get("/v2/models") { _, _ in self.modelIndex() }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: ModelMetrics.page(self.models.map(\.metrics)))))
        }
        for prefix in ["/v2/models/:name", "/v2/models/:name/versions/:version"] {
            router.get(RouterPath(prefix)) { _, context in try self.metadata(self.model(context)) }
            router.get(RouterPath(prefix + "/ready")) { _, context in
                _ = try self.model(context)
                return Response.json(#"{"ready":true}"#)
            }
            router.post(RouterPath(prefix + "/infer")) { request, context in
                let model = try self.model(context)
                return try await self.holdingBody(of: request) { try await self.infer(request, model) }
            }
            router.post(RouterPath(prefix + "/classify")) { request, context in
                let model = try self.model(context)
                return try await self.holdingBody(of: request) { try await self.classify(request, model) }
            }
        }
    }

    private func serverMetadata() -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.field("name", "nabla")
        json.field("version", ServerInfo.version)
        json.field("extensions", ["binary_tensor_data", "classification", "model_images", "statistics_prometheus"])
        json.endObject()
        return .json(json.text)
    }

    private func modelIndex() -> Response {
        var json = JSONWriter()
        json.beginArray()
        for model in models {
            json.beginObject()
            json.field("name", model.name)
            json.field("version", model.version)
            json.field("state", "READY")
            json.field("images", model.images?.preprocessing != nil)
            json.field("input_shape", model.inputShape)
            json.endObject()
        }
        json.endArray()
        return .json(json.text)
    }

    private func metadata(_ model: ServedModel) -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.field("name", model.name)
        json.field("versions", [model.version])
        json.field("platform", model.platform)
        for (key, name, type, shape) in [
            ("inputs", model.inputName, model.inputDatatype, model.inputShape),
            ("outputs", model.outputName, "FP32", model.outputShape),
        ] {
            json.key(key)
            json.beginArray()
            json.beginObject()
            json.field("name", name)
            json.field("datatype", type)
            json.field("shape", [-1] + shape)
            json.endObject()
            json.endArray()
        }
        if let names = model.classNames { json.field("class_names", names) }
        json.key("parameters")
        json.beginObject()
        json.field("max_batch_size", model.policy.maxBatchSize)
        json.field("max_queue_delay_microseconds", model.policy.maxQueueDelayMicroseconds)
        json.endObject()
        json.endObject()
        return .json(json.text)
    }

    /// `POST …/infer`: JSON, or a JSON header and binary tensors.
    private func infer(_ request: Request, _ model: ServedModel) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        var request = request
        var ok = false, rows = 0
        var times = (queue: UInt64(0), compute: UInt64(0))
        defer {
            model.metrics.recordRequest(
                ok: ok, examples: rows, totalNanoseconds: DispatchTime.now().uptimeNanoseconds - start,
                queueNanoseconds: times.queue, computeNanoseconds: times.compute)
        }
        let body = try await collect(&request)
        var headerLength: Int?
        if let field = request.headers[HTTPField.Name.inferenceHeaderLength] {
            guard let n = Int(field) else {
                throw ServeError(.badRequest, "Inference-Header-Content-Length '\(field.prefix(32))' is not a number")
            }
            headerLength = n
        } else if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
            throw ServeError(
                .unsupportedMediaType,
                "Content-Type '\(type.prefix(64))' is neither application/json nor the binary tensor extension (Inference-Header-Content-Length)"
            )
        }
        let parsed = try InferenceProtocol.parse(body, headerLength: headerLength, for: model.signature)
        rows = parsed.rows
        let result = try await model.infer(rows: parsed.rows, input: parsed.input)
        times = (result.queueNanoseconds, result.computeNanoseconds)
        let (bytes, header) = InferenceProtocol.response(for: parsed, output: result.output, model: model.signature)
        ok = true
        var headers: HTTPFields = [.contentType: header == nil ? "application/json" : "application/octet-stream"]
        if let header { headers[HTTPField.Name.inferenceHeaderLength] = String(header) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `POST …/classify?top_k=N`: a PNG or JPEG body, answered with the top classes and their
    /// probabilities, the image prepared as the model file says.
    private func classify(_ request: Request, _ model: ServedModel) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        var request = request
        var ok = false
        var times = (queue: UInt64(0), compute: UInt64(0))
        defer {
            model.metrics.recordRequest(
                ok: ok, examples: 1, totalNanoseconds: DispatchTime.now().uptimeNanoseconds - start,
                queueNanoseconds: times.queue, computeNanoseconds: times.compute)
        }
        guard let images = model.images, images.preprocessing != nil else {
            throw ServeError(.badRequest, "model '\(model.name)' does not take images")
        }
        let topText = request.uri.queryParameters.get("top_k") ?? "5"
        guard let top = Int(topText), top >= 1 else {
            throw ServeError(.badRequest, "top_k must be a positive integer, got '\(topText.prefix(32))'")
        }
        let body = try await collect(&request)
        let input: Tensor
        do {
            input = try images.prepared(images.image(Data(body), path: "request body").unsqueezed(axis: 0))
        } catch let error as NablaError {
            throw ServeError(.badRequest, "the body is not an image the model can take: \(error.message)")
        }
        let result = try await model.infer(rows: 1, input: input.asType(.float32).toArray(Float.self))
        times = (result.queueNanoseconds, result.computeNanoseconds)
        let (probabilities, classes) = model.probabilities(result.output, rows: 1)
        let labels = model.labels
        let order = (0..<classes).sorted {
            probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1)
        }
        var json = JSONWriter()
        json.beginObject()
        json.field("model_name", model.name)
        json.key("predictions")
        json.beginArray()
        for i in order.prefix(top) {
            json.beginObject()
            json.field("index", i)
            json.field("label", i < labels.count ? labels[i] : String(i))
            json.field("probability", Double(probabilities[i]))
            json.endObject()
        }
        json.endArray()
        json.field("compute_us", Int(result.computeNanoseconds / 1000))
        json.endObject()
        ok = true
        return .json(json.text)
    }

    /// Runs `body` with the request's bytes counted against the bytes in flight; 503 when they
    /// would pass the limit.
    private func holdingBody(
        of request: Request, _ body: () async throws -> Response
    ) async throws -> Response {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        let bytes = Swift.min(Swift.max(declared ?? configuration.maxBodyBytes, 0), configuration.maxBodyBytes)
        guard bytesInFlight.reserve(bytes, limit: configuration.maxBytesInFlight) else {
            throw ServeError(
                .unavailable,
                "request bodies of \(configuration.maxBytesInFlight) bytes are already being handled (--max-bytes-in-flight): retry later"
            )
        }
        defer { bytesInFlight.release(bytes) }
        return try await body()
    }

    /// The request body, refused (413) beyond the size limit.
    private func collect(_ request: inout Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > configuration.maxBodyBytes {
            throw ServeError(.tooLarge, "the body is \(length) bytes; the limit is \(configuration.maxBodyBytes)")
        }
        do {
            let buffer = try await request.collectBody(upTo: configuration.maxBodyBytes)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ServeError(.tooLarge, "the body is larger than the limit of \(configuration.maxBodyBytes) bytes")
        }
    }
}

extension HTTPField.Name {
    /// The binary tensor data extension's header: the length of the JSON part of the body.
    static let inferenceHeaderLength = HTTPField.Name("Inference-Header-Content-Length") ?? .contentLength
}

/// The server's version, reported by `GET /v2`.
public enum ServerInfo {
    public static let version = "0.1.0"
}

extension Response {
    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func page(_ html: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// Turns every error into a JSON `{"error": …}` answer with its status, and writes one JSON line
/// per request to standard error: time, method, path, status, sizes and duration.
struct RequestLog<Context: RequestContext>: RouterMiddleware {
    let enabled: Bool

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let start = DispatchTime.now().uptimeNanoseconds
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.errorResponse(error)
        }
        if enabled {
            let micros = (DispatchTime.now().uptimeNanoseconds - start) / 1000
            var line = JSONWriter()
            line.beginObject()
            line.field("time", Date().timeIntervalSince1970)
            line.field("method", request.method.rawValue)
            line.field("path", String(request.uri.path.prefix(256)))
            line.field("status", response.status.code)
            line.field("duration_us", Int(micros))
            if let length = request.headers[.contentLength] { line.field("bytes_in", Int(length) ?? -1) }
            if let length = response.body.contentLength { line.field("bytes_out", length) }
            line.endObject()
            LogWriter.shared.write(line.text)
        }
        return response
    }

    static func errorResponse(_ error: any Error) -> Response {
        let (status, message): (Int, String)
        switch error {
        case let error as ServeError: (status, message) = (error.kind.status, error.message)
        case let error as HTTPError:
            (status, message) = (error.status.code, error.body ?? "\(error.status.reasonPhrase)")
        // What a request can get wrong is a 4xx; a model that fails otherwise is the server's 500.
        case let error as NablaError:
            let requestFault = [NablaError.Code.invalidArgument, .corruptFile, .resourceLimit].contains(error.code)
            (status, message) = (requestFault ? 400 : 500, error.message)
        default: (status, message) = (500, "internal error: \(error)")
        }
        var json = JSONWriter()
        json.beginObject()
        json.field("error", message)
        json.endObject()
        var response = Response.json(json.text, status: HTTPResponse.Status(code: status))
        // A server that is full says when to come back.
        if status == 503 { response.headers[.retryAfter] = "1" }
        return response
    }
}

/// The request-body bytes being handled, over all connections.
final class BytesInFlight: @unchecked Sendable {
    private let lock = NSLock()
    private var held = 0

    /// Adds `bytes` unless that passes `limit`; returns whether it did.
    func reserve(_ bytes: Int, limit: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard held + bytes <= limit else { return false }
        held += bytes
        return true
    }

    func release(_ bytes: Int) {
        lock.lock()
        held -= bytes
        lock.unlock()
    }
}

/// Writes log lines to standard error, one `write` each, so concurrent lines never interleave.
final class LogWriter: @unchecked Sendable {
    static let shared = LogWriter()
    private let lock = NSLock()

    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(10)
        lock.lock()
        bytes.withUnsafeBytes { _ = Foundation.write(2, $0.baseAddress, $0.count) }
        lock.unlock()
    }
}
