import Foundation
import NablaTestSupport
import Testing

/// The server's bounds: examples in flight per model (503 with Retry-After beyond), and the
/// deadline of a request that waits behind a long computation (504 while it waits, not once it
/// reaches the model).
@Suite(.serialized, .requires(.fashionMNIST)) struct ServeBoundsTests {
    /// Posts `rows` zero images to model `fashion` on port argv[1], in threads, each after its delay;
    /// prints one line per request, in the order they were answered: name, status, Retry-After.
    static let client = """
        import json, sys, threading, time, urllib.request, urllib.error
        port, plan = sys.argv[1], json.loads(sys.argv[2])
        done, lock = [], threading.Lock()
        def busy():
            # The model holds a request: Triton's pending-request gauge.
            page = urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=60).read().decode()
            return any(l.startswith('nv_inference_pending_request_count{') and not l.endswith(' 0')
                       for l in page.splitlines())
        def post(name, rows, delay):
            if delay < 0:
                deadline = time.time() + 120
                while not busy() and time.time() < deadline: time.sleep(0.01)
            else:
                time.sleep(delay)
            body = json.dumps({'inputs': [{'name': 'input', 'shape': [rows, 28, 28, 1], 'datatype': 'UINT8',
                                           'data': [0] * (rows * 784)}]}).encode()
            request = urllib.request.Request(f'http://127.0.0.1:{port}/v2/models/fashion/infer', body,
                                             {'Content-Type': 'application/json'})
            try:
                with urllib.request.urlopen(request, timeout=300) as r: status, retry = r.status, None
            except urllib.error.HTTPError as e: status, retry = e.code, e.headers.get('Retry-After')
            with lock: done.append(f'{name} {status} {retry}')
        threads = [threading.Thread(target=post, args=(n, r, d)) for n, r, d in plan]
        for t in threads: t.start()
        for t in threads: t.join()
        print('\\n'.join(done))
        """

    @Test func examplesBeyondTheLimitInFlightAre503WithRetryAfter() throws {
        let server = try ServerProcess(["fashion=\(try TrainedRun.file("model.nabla"))", "--max-rows-in-flight", "8"])
        let out = try PythonCheck.run(Self.client, "\(server.port)", #"[["nine", 9, 0], ["two", 2, 0.5]]"#)
        #expect(out.split(separator: "\n").sorted() == ["nine 503 1", "two 200 None"], "\(out)")
        #expect(server.stop() == 0, "\(server.stderr)")
    }

    @Test func aRequestWaitingPastItsDeadlineIsAnswered504WhileItWaits() throws {
        let server = try ServerProcess([
            "fashion=\(try TrainedRun.file("model.nabla"))", "--timeout-ms", "300", "--max-batch-size", "1",
            "--max-body-bytes", "100000000", "--max-rows-in-flight", "30000",
        ])
        // The short request is sent once the long one is with the model (delay -1); its deadline
        // passes while it waits, so its 504 comes back first.
        let out = try PythonCheck.run(Self.client, "\(server.port)", #"[["long", 20000, 0], ["short", 1, -1]]"#)
        #expect(out.split(separator: "\n") == ["short 504 None", "long 200 None"], "\(out)")
        #expect(server.stop() == 0, "\(server.stderr)")
    }
}
