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

    @Test func savedCrashInputsNoLongerTrap() throws {
        guard
            let folder = Bundle.module.url(forResource: "Corpus", withExtension: nil)?.appendingPathComponent("Crashes")
        else { return }
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.contains("-") {
            let target = String(file.prefix { $0 != "-" })
            FuzzTargets.run(target, try Data(contentsOf: folder.appendingPathComponent(file)))
        }
    }
}
