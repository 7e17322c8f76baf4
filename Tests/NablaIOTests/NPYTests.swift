import Foundation
import Nabla
import NablaIO
import Testing

/// `.npy` files round-trip, and hostile ones are refused before anything is allocated.
struct NPYTests {
    @Test func roundTrips() throws {
        let t = Tensor([Float(1), -2, 3.5, 4, 5, 6], shape: [2, 3])
        let back = try NPY.decode(NPY.encode(t))
        #expect(back.shape == [2, 3] && back.toArray(Float.self) == t.toArray(Float.self))
    }

    /// A version 1.0 file with `header` (padded as numpy pads it) and `body`.
    func file(_ header: String, _ body: [UInt8] = []) -> Data {
        var h = header
        while (10 + h.utf8.count + 1) % 64 != 0 { h += " " }
        h += "\n"
        return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.utf8.count & 0xFF), UInt8(h.utf8.count >> 8)])
            + Data(h.utf8) + Data(body)
    }

    func refused(_ data: Data, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try NPY.decode(data)
            Issue.record("accepted", sourceLocation: sourceLocation)
        } catch let error as NablaError {
            #expect(error.message.contains(expected), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("threw \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func hostileFilesAreRefused() {
        refused(Data("not numpy".utf8), "no \\x93NUMPY magic")
        refused(Data([0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0xFF]), "header claims 65535 bytes")
        refused(file("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"), "too large")
        refused(file("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", [0, 0, 0, 0]), "needs 16")
        refused(file("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", [0, 0, 0, 0]), "Fortran")
        refused(file("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0]), "is not read")
        refused(file("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }"), "holds '-3'")
        refused(file("{'descr': '<f4', 'fortran_order': False, }"), "lacks 'shape'")
    }
}
