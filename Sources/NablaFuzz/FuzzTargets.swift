import Foundation
import Nabla
import NablaData
import NablaIO
import NablaNN

// Fuzz targets for every reader of outside input. Each takes arbitrary bytes, reads them the way
// Nabla reads a file, and must either succeed or throw a `NablaError`: a trap, a hang or an
// allocation beyond the limits is a defect. `scripts/fuzz` links them to libFuzzer (with
// AddressSanitizer); `NablaFuzzTests` replays the seed corpora and every saved crash input on
// each `swift test`.

/// The fuzz targets by name.
public enum FuzzTargets {
    /// The names `scripts/fuzz` and the replay test know.
    public static let names = [
        "safetensors", "modelfile", "idx", "idxstream", "csv", "csvstream", "cifar", "image", "imagefolder",
        "records", "table", "onnx", "npy", "oip", "evaluation",
    ]

    /// Reads `data` as target `name` reads input; errors the reader throws are the expected
    /// outcome, anything else stops the process.
    ///
    /// - Precondition: `name` is one of ``names``.
    public static func run(_ name: String, _ data: Data) {
        do {
            try read(name, data)
        } catch is NablaError {
            // The reader refused the input with an error: what it should do.
        } catch {
            preconditionFailure("\(name): a reader threw \(type(of: error)), not a NablaError: \(error)")
        }
    }

    /// Reads `data` as target `name` reads input.
    ///
    /// - Throws: what the reader throws.
    public static func read(_ name: String, _ data: Data) throws {
        switch name {
        case "safetensors": _ = try Safetensors.decode(data, path: "fuzz.safetensors")
        case "modelfile": try modelFile(data)
        case "idx": _ = try IDXReader.decode(data, path: "fuzz.idx")
        case "idxstream": try idxStream(data)
        case "csv": _ = try KaggleCSV.decode(String(decoding: data, as: UTF8.self), path: "fuzz.csv")
        case "csvstream": try drain(CSVStreamingDataset(path: try scratchFile(data, "csv")).makeStream())
        case "cifar": _ = try CIFARBinaryReader.decode(data, variant: .cifar10, path: "fuzz.bin")
        case "image":
            _ = try ImageCodec.decode(data, channels: data.first.map { Int($0 % 2) * 2 + 1 } ?? 3, path: "fuzz")
        case "imagefolder": try imageFolder(data)
        case "records": try records(data)
        case "table": _ = try TabularCSV.decode(data, path: "fuzz.csv")
        case "onnx": try onnx(data)
        case "npy": _ = try NPY.decode(data)
        case "oip": try inferenceRequest(data)
        case "evaluation": try evaluation(data)
        default: preconditionFailure("no fuzz target named \(name); known: \(names)")
        }
    }

    /// A per-process scratch folder for targets that read files.
    static let scratch: String = {
        let base = ProcessInfo.processInfo.environment["NABLA_FUZZ_SCRATCH"] ?? NSTemporaryDirectory()
        let folder = "\(base)/nabla-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }()

    private static func scratchFile(_ data: Data, _ name: String) throws -> String {
        let path = "\(scratch)/\(name)"
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw NablaError(.io, "cannot write the fuzz input", path: path)
        }
        return path
    }

    private static func drain(_ stream: any ExampleStream) throws {
        while try stream.next(maxCount: 64) != nil {}
    }

    /// The input split at its first 0xFF byte pair into an images file and a labels file.
    private static func idxStream(_ data: Data) throws {
        let bytes = [UInt8](data)
        let cut = zip(bytes.indices, bytes.dropFirst()).first { bytes[$0.0] == 0xFF && $0.1 == 0xFF }?.0 ?? bytes.count
        let images = try scratchFile(Data(bytes[..<cut]), "images.idx")
        let labels = try scratchFile(Data(bytes[Swift.min(cut + 2, bytes.count)...]), "labels.idx")
        try drain(
            IDXStreamingDataset(images: images, labels: labels, classNames: (0..<10).map(String.init)).makeStream())
    }

    /// The input as a whole model file (rebuilt from its architecture, then run on one example),
    /// else as the weights of a small model built in code.
    private static func modelFile(_ data: Data) throws {
        let path = try scratchFile(data, "model.nabla")
        if let model = try? Model.load(path) {
            if let shape = model.inputShape,
                shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) <= 1 << 16
            {
                _ = try model.predict(Tensor.zeros([1] + shape))
            }
            return
        }
        let model = Sequential(inputShape: [4]) { Dense(units: 3) }
        try model.loadWeights(from: path)
    }

    /// The input as an ONNX file: checked, folded and, when it has one input, imported as a model
    /// (which runs it once on a batch of one); else run on zeros of its declared input shapes.
    private static func onnx(_ data: Data) throws {
        do {
            _ = try ONNXImport.model(data)
        } catch let error as NablaError where error.message.contains("inputs") {
            let f = try ONNXImport.function(data)
            _ = try withoutGradients { try f(f.inputShapes.map { Tensor.zeros($0) }) }
        }
    }

    /// The input as a run folder's `evaluation.json`: decoded, checked, and drawn into a report
    /// page (which must then hold no text the file gave unescaped).
    private static func evaluation(_ data: Data) throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let parsed: ReportEvaluation
        do { parsed = try decoder.decode(ReportEvaluation.self, from: data) } catch {
            throw NablaError(.corruptFile, "evaluation: not valid JSON for it: \(error)")
        }
        let checked = try parsed.validated()
        let page = TrainingReport.html([ReportRun(name: "fuzz", history: [], settings: "{}", evaluation: checked)])
        precondition(!page.contains("<script>alert"), "evaluation: text from the file reached the page unescaped")
    }

    /// The input as the only image of a one-class folder, read at 16×16.
    private static func imageFolder(_ data: Data) throws {
        let root = "\(scratch)/folder"
        try? FileManager.default.createDirectory(atPath: "\(root)/a", withIntermediateDirectories: true)
        let ext = data.first == 0x89 ? "png" : "jpg"
        try? FileManager.default.removeItem(atPath: "\(root)/a/x.png")
        try? FileManager.default.removeItem(atPath: "\(root)/a/x.jpg")
        _ = try scratchFile(data, "folder/a/x.\(ext)")
        let folder = try ImageFolder(root: root, size: (16, 16), channels: 3)
        _ = try folder.batch(at: [0])
    }

    /// The input as one record shard, every record read.
    private static func records(_ data: Data) throws {
        let records = try RecordDataset(paths: [try scratchFile(data, "shard.nrec")])
        for i in 0..<records.count {
            _ = records.label(i)
            _ = try records.payload(i)
            _ = try records.image(i)
        }
    }

    /// The model the `oip` target's requests are for: images `[2, 2, 1]`, three labelled scores.
    package static let oipModel = InferenceSignature(
        modelName: "m", inputShape: [2, 2, 1], outputShape: [3], classNames: ["a", "b\"c", "d"])

    /// An inference request as the server reads it.
    ///
    /// A body that starts with `B` and two bytes of little-endian header length is a JSON header
    /// and binary tensors; any other is JSON. The answer to a request that parses is written too. Only a bad request (400) may be refused.
    private static func inferenceRequest(_ data: Data) throws {
        let bytes = [UInt8](data)
        let binary = bytes.count >= 3 && bytes[0] == UInt8(ascii: "B")
        let body = binary ? Array(bytes[3...]) : bytes
        let header = binary ? Int(bytes[1]) | Int(bytes[2]) << 8 : nil
        do {
            let request = try InferenceProtocol.parse(body, headerLength: header, for: oipModel)
            let output = (0..<(request.rows * 3)).map { Float($0) / 7 }
            _ = InferenceProtocol.response(for: request, output: output, model: oipModel)
        } catch let error as ServeError {
            guard error.kind == .badRequest else { preconditionFailure("oip: \(error.kind): \(error.message)") }
            throw NablaError(.invalidArgument, error.message)
        }
    }
}

/// Writes target `target`'s seeds into `folder` (the driver calls it once, before fuzzing).
@_cdecl("nabla_fuzz_write_seeds")
public func nablaFuzzWriteSeeds(_ target: UnsafePointer<CChar>, _ folder: UnsafePointer<CChar>) -> CInt {
    let (name, path) = (String(cString: target), String(cString: folder))
    guard let seeds = try? FuzzTargets.seeds(name) else { return 1 }
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    for (i, seed) in seeds.enumerated() {
        guard FileManager.default.createFile(atPath: "\(path)/seed-\(i)", contents: seed) else { return 1 }
    }
    return 0
}

/// The C entry point the libFuzzer driver (`Fuzz/driver.c`) calls.
@_cdecl("nabla_fuzz_one_input")
public func nablaFuzzOneInput(_ target: UnsafePointer<CChar>, _ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    FuzzTargets.run(String(cString: target), data)
    return 0

}
