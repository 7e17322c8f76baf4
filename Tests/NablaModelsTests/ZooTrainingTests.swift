import Foundation
import Nabla
import NablaModels
import NablaNN
import Testing

/// Every zoo model: its parameter count, one training step, and a save / reload that predicts bit
/// for bit.
///
/// Models made for 150×150 or 224×224 images run at 32×32 here (a debug build would take minutes
/// per step at their own size); `scripts/zoo-check` runs every model at its default size, in
/// release (`nabla-bench zoo`).
@Suite struct ZooTrainingTests {
    /// The input a debug test uses: the model's own up to 32×32, else 32×32 in its channels.
    static func testInput(_ entry: Zoo.Entry) -> [Int] {
        let small = entry.defaultInput.count < 3 || entry.defaultInput[0] * entry.defaultInput[1] <= 32 * 32
        return small ? entry.defaultInput : [32, 32, entry.defaultInput[2]]
    }

    @Test(arguments: Zoo.entries.map(\.name))
    func trainsOneStepAndReloadsBitForBit(name: String) throws {
        let entry = try #require(Zoo.entry(named: name))
        let input = Self.testInput(entry)
        let check = try entry.checkOneStep(inputShape: input)
        #expect(check.failures.isEmpty, "\(check.failures)")
        print("\(name) at \(input): \(check.parameters), one step, save and reload in \(check.seconds) s")
    }

    @Test func aModelThatCannotTakeTheInputIsAnError() {
        #expect { try Zoo.entry(named: "vgg16")?.built(inputShape: [28, 28, 1], classes: 10) } throws: {
            "\($0)".contains("block5")
        }
    }
}
