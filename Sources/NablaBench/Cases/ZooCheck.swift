import Foundation
import NablaModels

/// Not a timing: every zoo model checked at its default input size.
///
/// That is 224×224 for VGG-16, the ResNets and MobileNetV2: one training step, its parameter count and a bit-for-bit save and reload
/// (``Zoo/Entry/checkOneStep(inputShape:)``); `scripts/zoo-check` runs it in release. Exits 1 on
/// a failure.
enum ZooCheck {
    static func run() {
        var failed = false
        for entry in Zoo.entries {
            do {
                let check = try entry.checkOneStep()
                failed = failed || !check.failures.isEmpty
                for failure in check.failures { print("FAILED \(failure)") }
                print(
                    "\(entry.name) at \(entry.defaultInput): \(check.parameters.trainable + check.parameters.nonTrainable) parameters, one step, save and reload in \(String(format: "%.1f", check.seconds)) s"
                )
            } catch {
                failed = true
                print("FAILED \(entry.name): \(error)")
            }
        }
        if failed { exit(1) }
    }
}
