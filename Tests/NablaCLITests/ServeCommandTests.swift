import Foundation
import NablaTestSupport
import Testing

/// A `nabla serve` process on a free loopback port, stopped with SIGTERM.
final class ServerProcess {
    let process: ChildProcess
    let port: Int
    let folder: String

    /// Starts `nabla serve ARGUMENTS --port 0` and waits for its "ready: URL" line.
    init(_ arguments: [String]) throws {
        folder = TrainedRun.folder()
        let out = folder + "/stdout", err = folder + "/stderr"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        // Files, not pipes: a log nobody reads must never block the server.
        process = try ChildProcess(
            try nablaBinary(), ["serve"] + arguments + ["--port", "0"], standardOutput: out, standardError: err)
        let deadline = Date().addingTimeInterval(120)
        var port: Int?
        while port == nil, process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ready: http://127.0.0.1:") }) {
                port = Int(line.dropFirst("ready: http://127.0.0.1:".count).dropLast())
            }
        }
        guard let port else {
            process.terminate()
            let log = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            throw CLITestError(message: "the server did not become ready: \(log)")
        }
        self.port = port
    }

    /// The value of a metric of the served model, read from `GET /metrics`.
    func metric(_ name: String) throws -> Int? {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/metrics"))
        let page = try String(contentsOf: url, encoding: .utf8)
        return page.split(separator: "\n").first { $0.hasPrefix(name + "{") }.flatMap {
            Int($0.split(separator: " ")[1])
        }
    }

    var stderr: String { (try? String(contentsOfFile: folder + "/stderr", encoding: .utf8)) ?? "" }

    /// Sends SIGTERM (SIGKILL after a minute) and returns the exit status.
    func stop() -> Int32 { process.terminate(grace: 60) ?? -1 }
}

/// Runs one of the client scripts beside this file.
func runClient(_ name: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let script = #filePath.replacingOccurrences(of: "ServeCommandTests.swift", with: "Clients/\(name)")
    return try runProgram("/usr/bin/env", ["python3", script] + arguments)
}

/// `nabla serve` spoken to by real clients.
///
/// The official Triton client, plain HTTP with hostile requests, concurrent load, and SIGTERM
/// with a request in flight. The model is the shared
/// training run's MLP (uint8 Fashion-MNIST images); the expected outputs come from `nabla predict`.
@Suite(.serialized, .requires(.fashionMNIST, .tritonClient)) struct ServeCommandTests {
    /// Real test images (the first 64 of Fashion-MNIST's test set) and the model's outputs for them.
    static func data() throws -> (model: String, x: String, expected: String, labels: String) {
        let model = try TrainedRun.file("model.nabla")
        let dir = TrainedRun.folder()
        let (x, expected, labels) = (dir + "/x.npy", dir + "/expected.npy", dir + "/labels.json")
        let script = """
            import gzip, sys, numpy as np
            raw = gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read()
            np.save(sys.argv[1], np.frombuffer(raw, np.uint8, offset=16)[:64 * 784].reshape(64, 28, 28, 1))
            print('ok')
            """
        try #require(try PythonCheck.run(script, x) == "ok\n")
        let run = try runNabla(["predict", model, "--input", x, "--save-output", expected])
        try #require(run.status == 0, "\(run.stderr)")
        let names = [
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ]
        try JSONSerialization.data(withJSONObject: names).write(to: URL(fileURLWithPath: labels))
        return (model, x, expected, labels)
    }

    @Test func theTritonClientGetsTheModelsOutputs() throws {
        let data = try Self.data()
        let server = try ServerProcess(["fashion=\(data.model)"])
        let result = try runClient("oip_client.py", ["\(server.port)", "fashion", data.x, data.expected, data.labels])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("\"checks\""), "\(result.stdout)")
        #expect(server.stop() == 0)
        // One JSON line per request on standard error.
        let lines = server.stderr.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.count >= 20)
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }

    @Test func everyBadRequestGetsA4xxAndTheServerKeepsServing() throws {
        let data = try Self.data()
        let server = try ServerProcess(["fashion=\(data.model)", "--max-body-bytes", "2000000"])
        let result = try runClient("bad_requests.py", ["\(server.port)", "fashion"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 33, "\(result.stdout)")
        #expect(result.stdout.contains("\"status\": 413"), "oversized body: \(result.stdout)")
        #expect(server.stop() == 0)
        #expect(!server.stderr.contains("Fatal error"))
    }

    /// 32 clients at once, each response's values checked; the requests were gathered into
    /// fewer runs of the model than requests, and the metrics count every example.
    @Test func concurrentClientsGetTheirOwnValuesInBatches() throws {
        let data = try Self.data()
        let server = try ServerProcess(["fashion=\(data.model)", "--max-batch-size", "32", "--no-request-log"])
        let result = try runClient("load.py", ["\(server.port)", "fashion", data.x, data.expected, "32", "8"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let summary = try #require(
            JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        #expect(try server.metric("nv_inference_request_success") == 256)
        #expect(try server.metric("nv_inference_count") == summary["examples"] as? Int)
        let runs = try #require(try server.metric("nv_inference_exec_count"))
        #expect(runs < 256, "no request was batched with another: \(runs) runs")
        #expect(server.stop() == 0)
    }

    /// A PNG of a real test image through the image endpoint gives the same top class as its
    /// pixels through the protocol, with probabilities.
    @Test func imagesAreClassifiedAsTheModelFileSays() throws {
        let data = try Self.data()
        let server = try ServerProcess(["fashion=\(data.model)"])
        let script = """
            import json, sys, zlib, struct, urllib.request, numpy as np
            img = np.load(sys.argv[1])[0, :, :, 0]
            def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
            raw = b''.join(b'\\0' + row.tobytes() for row in img)
            png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 28, 28, 8, 0, 0, 0, 0))
                   + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
            url = 'http://127.0.0.1:' + sys.argv[3] + '/v2/models/fashion/classify?top_k=3'
            answer = json.load(urllib.request.urlopen(urllib.request.Request(url, data=png, method='POST')))
            p = answer['predictions']
            top = int(np.argmax(np.load(sys.argv[2])[0]))
            print(len(p) == 3 and p[0]['index'] == top and 0 < sum(q['probability'] for q in p) <= 1.0001
                  and all(a['probability'] >= b['probability'] for a, b in zip(p, p[1:])))
            """
        #expect(try PythonCheck.run(script, data.x, data.expected, "\(server.port)") == "True\n")
        #expect(server.stop() == 0)
    }

    /// SIGTERM while a request runs: the request is answered, then the server exits 0.
    @Test func sigtermFinishesTheRequestInFlight() throws {
        let data = try Self.data()
        let server = try ServerProcess(["fashion=\(data.model)"])
        let script = """
            import sys, threading, time, numpy as np, tritonclient.http as http
            c = http.InferenceServerClient('127.0.0.1:' + sys.argv[1], network_timeout=120)
            x = np.zeros((6000, 28, 28, 1), np.uint8)
            t = http.InferInput('input', list(x.shape), 'UINT8'); t.set_data_from_numpy(x)
            print('sending', flush=True)
            print(c.infer('fashion', [t]).as_numpy('output').shape)
            """
        let printedFile = server.folder + "/client-stdout"
        let client = try ChildProcess("python3", ["-c", script, "\(server.port)"], standardOutput: printedFile)
        // Wait until the request is with the model (Triton's pending-request gauge), then stop.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try server.metric("nv_inference_pending_request_count") != 1 {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(server.stop() == 0, "\(server.stderr)")
        let clientStatus = client.wait(timeout: 120)
        let printed = (try? String(contentsOfFile: printedFile, encoding: .utf8)) ?? ""
        #expect(clientStatus == 0 && printed.contains("(6000, 10)"), "\(printed)")
        #expect(server.stderr.contains("stopped: every request in flight was answered"))
    }
}

/// The page at `/` in a real headless browser: drawn on with synthetic mouse events, it shows a prediction.
@Suite(.requires(.fashionMNIST, .chromium, .playwright)) struct ServePageTests {
    @Test func drawingOnThePageShowsAPrediction() throws {
        let server = try ServerProcess(["fashion=\(try TrainedRun.file("model.nabla"))"])
        let screenshot = server.folder + "/page.png"
        let result = try runClient("page_check.py", ["\(server.port)", screenshot])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let page = try #require(
            JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        let labels = [
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ]
        #expect(labels.contains(page["top"] as? String ?? ""), "\(page)")
        #expect((page["rows"] as? [String])?.count == 5)
        #expect((page["errors"] as? [String])?.isEmpty == true, "\(page)")
        let size = try FileManager.default.attributesOfItem(atPath: screenshot)[.size] as? Int ?? 0
        #expect(size > 10_000)
        // The page went through the public endpoints only: its requests are in the server's log.
        #expect(server.stop() == 0)
        #expect(server.stderr.contains("\"path\":\"/v2/models/fashion/classify\""))
        #expect(server.stderr.contains("\"path\":\"/v2/models\""))
    }
}
