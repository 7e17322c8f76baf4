import Foundation
import Nabla
import NablaNN
import Testing

@testable import NablaIO

/// Hostile ONNX files: every one is refused with an error that says what is wrong, never a crash
/// or an allocation the file's size does not justify.
struct HostileONNXTests {
    /// An ONNX model of `nodes` (op, inputs, outputs, int attributes) over one input `x` [N, 4].
    static func model(
        ir: Int = 8, opset: Int = 17, nodes: [(String, [String], [String])], output: String = "y",
        initializers: [(String, [Int], [Float])] = [], graphField: ((inout ProtobufWriter) -> Void)? = nil
    ) -> Data {
        var w = ProtobufWriter()
        w.int(1, ir)
        w.message(8) {
            $0.string(1, "")
            $0.int(2, opset)
        }
        w.message(7) { g in
            for (op, inputs, outputs) in nodes {
                g.message(1) { n in
                    for i in inputs { n.string(1, i) }
                    for o in outputs { n.string(2, o) }
                    n.string(3, "node_\(op)_\(outputs.first ?? "")")
                    n.string(4, op)
                }
            }
            for (name, dims, values) in initializers {
                g.message(5) { t in
                    for d in dims { t.int(1, d) }
                    t.int(2, 1)
                    t.string(8, name)
                    t.bytes(9, values.withUnsafeBytes { Data($0) })
                }
            }
            g.message(11) { ONNXExport.valueInfo(&$0, name: "x", dtype: .float32, shape: [4]) }
            g.message(12) { ONNXExport.valueInfo(&$0, name: output, dtype: .float32, shape: [4]) }
            graphField?(&g)
        }
        return w.data
    }

    func refused(_ data: Data, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try ONNXImport.model(data)
            Issue.record("accepted; expected an error containing '\(expected)'", sourceLocation: sourceLocation)
        } catch let error as NablaError {
            #expect(error.message.contains(expected), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("threw \(error), not a NablaError", sourceLocation: sourceLocation)
        }
    }

    @Test func aValidSmallModelImports() throws {
        let m = try ONNXImport.model(Self.model(nodes: [("Relu", ["x"], ["y"])]))
        let y = m(Tensor([Float(-1), 2, -3, 4], shape: [1, 4]))
        #expect(y.toArray(Float.self) == [0, 2, 0, 4])
    }

    @Test func everyTruncationIsAnError() throws {
        let cnn = Sequential(inputShape: [6, 6, 1]) {
            Conv2D(filters: 2, kernelSize: 3, padding: .same, activation: .relu)
            Flatten()
            Dense(units: 3)
        }
        let data = try ONNXExport.export(cnn)
        #expect(throws: Never.self) { try ONNXImport.model(data) }
        for cut in stride(from: 0, to: data.count, by: max(1, data.count / 300)) {
            #expect(throws: NablaError.self) { try ONNXImport.model(data.prefix(cut)) }
        }
    }

    @Test func wireFormatLiesAreRefused() {
        refused(Data([0x3A, 0x05]), "claims 5 bytes")  // graph field 7, length 5, nothing after
        refused(Data([0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), "claims")  // a 4 GiB length
        refused(Data([0x38, 0x01]), "'graph' is not length-delimited")  // graph as a varint
        refused(Data([0x0F]), "wire type 7")
        refused(Data([0x08] + [UInt8](repeating: 0xFF, count: 11)), "varint")
    }

    @Test func giantShapesAreRefusedBeforeAllocating() {
        refused(
            Self.model(nodes: [("Add", ["x", "w"], ["y"])], initializers: [("w", [1 << 31, 1 << 31], [1])]),
            "holds more values")
        refused(Self.model(nodes: [("Add", ["x", "w"], ["y"])], initializers: [("w", [3, -2], [1])]), "out of range")
        refused(
            Self.model(nodes: [("Add", ["x", "w"], ["y"])], initializers: [("w", [1000], [1, 2])]), "needs 1000 values")
        // ConstantOfShape asked for 2^40 values.
        let huge = Self.model(
            nodes: [("ConstantOfShape", ["s"], ["c"]), ("Add", ["x", "c"], ["y"])],
            graphField: { g in
                g.message(5) { t in
                    t.int(1, 2)
                    t.int(2, 7)
                    t.string(8, "s")
                    t.packedInts(7, [1 << 20, 1 << 20])
                }
            })
        refused(huge, "too large")
    }

    @Test func graphStructureIsChecked() {
        refused(Self.model(nodes: [("Relu", ["b"], ["a"]), ("Relu", ["a"], ["b"]), ("Relu", ["x"], ["y"])]), "cycle")
        refused(Self.model(nodes: [("Relu", ["x"], ["y"]), ("Relu", ["x"], ["y"])]), "produced twice")
        refused(Self.model(nodes: [("Relu", ["nowhere"], ["y"])]), "which nothing defines")
        refused(Self.model(nodes: [("Relu", ["x"], ["z"])]), "is never computed")
        refused(Self.model(ir: 99, nodes: [("Relu", ["x"], ["y"])]), "IR version 99")
        refused(Self.model(opset: 40, nodes: [("Relu", ["x"], ["y"])]), "opset 40")
        refused(
            Self.model(nodes: [("Add", ["x", "w"], ["y"])], initializers: [("w", [3], [1, 2, 3])]), "do not broadcast")
    }

    @Test func everyUnsupportedOperatorIsListedOnce() {
        let data = Self.model(nodes: [
            ("Cos", ["x"], ["a"]), ("Cos", ["a"], ["b"]), ("Loop", ["b"], ["c"]), ("Relu", ["c"], ["y"]),
        ])
        refused(data, "Cos (2×), Loop (1×)")
    }

    /// A model whose weight `w` [4] lies in an external file at `location`.
    static func externalModel(location: String) -> Data {
        Self.model(
            nodes: [("Add", ["x", "w"], ["y"])],
            graphField: { g in
                g.message(5) { t in
                    t.int(1, 4)
                    t.int(2, 1)
                    t.string(8, "w")
                    t.message(13) {
                        $0.string(1, "location")
                        $0.string(2, location)
                    }
                    t.int(14, 1)
                }
            })
    }

    @Test func externalDataStaysInTheModelFolder() throws {
        let data = Self.externalModel(location: "../../etc/passwd")
        do {
            _ = try ONNXImport.model(data, folder: NSTemporaryDirectory())
            Issue.record("accepted")
        } catch let error as NablaError {
            #expect(error.message.contains("inside the model's folder"))
        }
    }

    /// A relative location that is a symbolic link out of the folder (to `/etc/passwd`) is
    /// refused: its bytes must never become weights or outputs.
    @Test func externalDataThroughASymbolicLinkOutOfTheFolderIsRefused() throws {
        let folder = NSTemporaryDirectory() + "nabla-link-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createSymbolicLink(atPath: folder + "/weights.bin", withDestinationPath: "/etc/passwd")
        let data = Self.externalModel(location: "weights.bin")
        #expect {
            _ = try ONNXImport.model(data, folder: folder)
        } throws: { "\($0)".contains("leads out of the model's folder") }
    }
}
