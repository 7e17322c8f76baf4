import Foundation
import NablaFuzz
import Testing

/// Every fuzz target on its seed corpus and on every input a fuzz run ever crashed on
/// (`Corpus/Crashes/<target>-<anything>`): each must be read or refused with an error, never trap.
@Suite struct FuzzReplayTests {
    @Test(arguments: FuzzTargets.names)
    func seedsAreReadWithoutTrapping(target: String) throws {
        let seeds = try FuzzTargets.seeds(target)
        #expect(!seeds.isEmpty)
        // Valid files: read without an error.
        for seed in seeds { try FuzzTargets.read(target, seed) }
    }

    /// The committed seeds other tools wrote (`Corpus/make_onnx_seeds.py`: graphs that compute
    /// sizes while they run) are valid files: each is read, and run once, without an error.
    @Test func committedSeedsAreRead() throws {
        let corpus = try #require(Bundle.module.url(forResource: "Corpus", withExtension: nil), "no Corpus resource")
        let folder = corpus.appendingPathComponent("Seeds")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(files.count >= 9, "\(files)")
        for file in files {
            let target = String(file.prefix { $0 != "-" })
            try #require(FuzzTargets.names.contains(target), "\(file): no fuzz target named \(target)")
            #expect(throws: Never.self, "\(file)") {
                try FuzzTargets.read(target, try Data(contentsOf: folder.appendingPathComponent(file)))
            }
        }
    }

    @Test func savedCrashInputsNoLongerTrap() throws {
        // The corpus is a resource of this test target: if it vanished, that is a failure, not a pass.
        let corpus = try #require(Bundle.module.url(forResource: "Corpus", withExtension: nil), "no Corpus resource")
        let folder = corpus.appendingPathComponent("Crashes")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains("-") }
        #expect(!files.isEmpty, "no saved crash inputs in \(folder.path)")
        for file in files {
            let target = String(file.prefix { $0 != "-" })
            guard FuzzTargets.names.contains(target) else {
                Issue.record("\(file): no fuzz target named \(target)")
                continue
            }
            FuzzTargets.run(target, try Data(contentsOf: folder.appendingPathComponent(file)))
        }
    }
}
