import Foundation
import Nabla
import NablaData
import NablaTestSupport
import Testing

/// A real HTTP server on loopback (Python's http.server) serving a folder.
final class LocalServer {
    let process: ChildProcess
    let port: Int
    let root: String
    let url: URL

    init(serving root: String) throws {
        self.root = root
        // A random port may be taken (by a server another test left behind): then Python cannot
        // bind and exits, and what answers on the port is someone else's. Try ports until our own
        // process is the one answering.
        for _ in 0..<20 {
            let candidate = Int.random(in: 20_000...40_000)
            var components = URLComponents()
            (components.scheme, components.host, components.port, components.path) = (
                "http", "127.0.0.1", candidate, "/"
            )
            guard let address = components.url else { throw NablaError(.invalidArgument, "cannot form a loopback URL") }
            if (try? Data(contentsOf: address)) != nil { continue }  // already in use
            let server = try ChildProcess(
                "python3", ["-m", "http.server", String(candidate), "--bind", "127.0.0.1", "--directory", root])
            // Wait until it accepts connections.
            for _ in 0..<100 where server.isRunning {
                if (try? Data(contentsOf: address)) != nil { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            guard server.isRunning else { continue }
            (process, port, url) = (server, candidate, address)
            return
        }
        throw NablaError(.io, "no free loopback port for the test server")
    }

    /// Stops the server and waits for it (the child process also ends with this object).
    func stop() { process.terminate() }
}

@Suite(.serialized) struct DownloadTests {
    static func folder() -> String {
        let path = NSTemporaryDirectory() + "nabla-dl-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// SHA-256 by Python's hashlib: an independent reference.
    static func pythonSHA256(_ path: String) throws -> String {
        try PythonCheck.run(
            "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", path
        )
        .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func sha256MatchesPython() throws {
        let path = Self.folder() + "/blob"
        for size in [0, 55, 56, 64, 1000, 70_001] {
            let data = Data((0..<size).map { UInt8(($0 * 13 + 5) % 256) })
            try data.write(to: URL(fileURLWithPath: path))
            #expect(SHA256.hex(data) == (try Self.pythonSHA256(path)), "size \(size)")
        }
    }

    @Test func downloadsOverHTTPVerifiesAndWritesAtomically() throws {
        let served = Self.folder()
        let payload = Data((0..<5000).map { UInt8($0 % 256) })
        try payload.write(to: URL(fileURLWithPath: "\(served)/file.bin"))
        let server = try LocalServer(serving: served)
        defer { server.stop() }
        let target = Self.folder() + "/sub/file.bin"
        let good = try Self.pythonSHA256("\(served)/file.bin")
        #expect {
            try DatasetDownload.fetch(
                server.url.appendingPathComponent("file.bin"), to: target, sha256: String(repeating: "0", count: 64))
        } throws: { "\($0)".contains("checksum mismatch") }
        #expect(!FileManager.default.fileExists(atPath: target))
        try DatasetDownload.fetch(server.url.appendingPathComponent("file.bin"), to: target, sha256: good)
        #expect(FileManager.default.contents(atPath: target) == payload)
        #expect {
            try DatasetDownload.fetch(server.url.appendingPathComponent("missing.bin"), to: target + "2", sha256: good)
        } throws: { "\($0)".contains("404") }
    }

    @Test(.requires(.fashionMNIST))
    func fashionMNISTDownloadsFromAMirrorWithItsChecksums() throws {
        let server = try LocalServer(serving: "/usr/share/datasets/fashion-mnist")
        defer { server.stop() }
        let target = Self.folder() + "/fashion-mnist"
        let folder = try MNIST.download(.fashion, from: server.url, into: target)
        let test = try MNIST.load(.fashion, split: .test, folder: folder)
        #expect(test.count == 10_000)
    }

    /// MNIST digits are checked against their published checksums: files with the right names but
    /// other bytes are refused, and nothing is left under the target name.
    @Test func digitsFromAMirrorWithOtherBytesAreRefused() throws {
        let served = Self.folder()
        for name in [
            "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ] {
            try IDXFixture.gzip(IDXFixture.idx(shape: [1], bytes: [7])).write(
                to: URL(fileURLWithPath: "\(served)/\(name)"))
        }
        let server = try LocalServer(serving: served)
        defer { server.stop() }
        let target = Self.folder() + "/mnist"
        #expect {
            try MNIST.download(.digits, from: server.url, into: target)
        } throws: { "\($0)".contains("t10k-images-idx3-ubyte.gz") && "\($0)".contains("8d422c7b") }
        #expect(!FileManager.default.fileExists(atPath: target + "/t10k-images-idx3-ubyte.gz"))
        #expect(MNIST.Variant.digits.source.host == "ossci-datasets.s3.amazonaws.com")
    }
}
