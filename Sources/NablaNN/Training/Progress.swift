import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Shows training progress the way Keras does, and plain lines where Keras fills log files.
///
/// On a terminal: a bar per epoch, redrawn in place at most ten times a second, with the ETA and
/// running loss and metrics, then the epoch's line with its time and validation metrics. When
/// standard output is a file or a pipe (`isatty` false): one plain line per epoch, no control
/// characters.
public final class ProgressDisplay: @unchecked Sendable {
    /// How much to show.
    public enum Mode: Sendable {
        /// A bar on a terminal, epoch lines otherwise.
        case automatic
        /// Always the bar (with carriage returns).
        case bar
        /// One line per epoch.
        case epochLines
        /// Nothing.
        case silent
    }

    let mode: Mode
    let epochs: Int
    /// Batches per epoch; 0 when unknown (a stream), then the bar counts batches without an end.
    let steps: Int
    private var lastStep = 0
    private var epochStart = Date()
    private var lastDraw = Date.distantPast
    private let output: (String) -> Void

    /// Creates a display for `epochs` epochs of `steps` batches, writing to `output` (standard output by default).
    public init(mode: Mode, epochs: Int, steps: Int, output: @escaping (String) -> Void = ProgressDisplay.write) {
        self.mode = mode == .automatic ? (isatty(STDOUT_FILENO) == 1 ? .bar : .epochLines) : mode
        self.epochs = epochs
        self.steps = steps
        self.output = output
    }

    /// Writes to standard output.
    public static func write(_ text: String) {
        // Through stdio like print(), so lines keep their order with the caller's output.
        print(text, terminator: "")
        fflush(nil)
    }

    /// Formats metric values as Keras does: `loss: 0.4321 - accuracy: 0.8432`, loss first.
    static func format(_ logs: [String: Double]) -> String {
        let order: (String) -> (Int, String) = { key in
            let base = key.hasPrefix("val_") ? String(key.dropFirst(4)) : key
            return (key.hasPrefix("val_") ? 1 : 0, base == "loss" ? "" : base)
        }
        return logs.keys.filter { $0 != "batch_loss" && $0 != "learning_rate" }
            .sorted { order($0) < order($1) }
            .map { "\($0): \(String(format: "%.4f", logs[$0] ?? 0))" }
            .joined(separator: " - ")
    }

    static func duration(_ seconds: Double) -> String {
        seconds >= 3600
            ? String(format: "%d:%02d:%02d", Int(seconds) / 3600, Int(seconds) % 3600 / 60, Int(seconds) % 60)
            : seconds >= 60
                ? String(format: "%d:%02d", Int(seconds) / 60, Int(seconds) % 60) : String(format: "%.0fs", seconds)
    }

    /// Starts an epoch (0-based).
    public func beginEpoch(_ epoch: Int) {
        epochStart = Date()
        lastDraw = .distantPast
        if mode == .bar { output("Epoch \(epoch + 1)/\(epochs)\n") }
    }

    /// Returns whether ``update(step:logs:)`` would draw after `step` (1-based) batches, so the
    /// running logs need to be read only then.
    public func wantsUpdate(step: Int) -> Bool {
        lastStep = step
        return mode == .bar && (step == steps || Date().timeIntervalSince(lastDraw) >= 0.1)
    }

    /// Shows progress after `step` (1-based) batches with the running `logs`.
    public func update(step: Int, logs: [String: Double]) {
        lastStep = step
        guard mode == .bar else { return }
        let now = Date()
        guard step == steps || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        guard steps > 0 else {
            output("\r\(step) - \(Self.duration(now.timeIntervalSince(epochStart))) - \(Self.format(logs))\u{1B}[K")
            return
        }
        let width = 30
        let done = steps > 0 ? width * step / steps : width
        let bar =
            String(repeating: "=", count: Swift.max(done - 1, 0)) + (done < width ? ">" : "=")
            + String(repeating: ".", count: width - done)
        let elapsed = now.timeIntervalSince(epochStart)
        let eta = step > 0 ? elapsed / Double(step) * Double(steps - step) : 0
        let digits = String(steps).count
        let counter = String(repeating: " ", count: digits - String(step).count) + "\(step)/\(steps)"
        output("\r\(counter) [\(bar)] - ETA: \(Self.duration(eta)) - \(Self.format(logs))\u{1B}[K")
    }

    /// Ends an epoch with its final `logs`.
    public func endEpoch(_ epoch: Int, logs: [String: Double]) {
        let elapsed = Date().timeIntervalSince(epochStart)
        switch mode {
        case .bar:
            let steps = self.steps > 0 ? self.steps : lastStep
            let perStep = steps > 0 ? elapsed / Double(steps) * 1000 : 0
            output(
                "\r\(steps)/\(steps) [\(String(repeating: "=", count: 30))] - \(Self.duration(elapsed)) \(String(format: "%.0f", perStep))ms/step - \(Self.format(logs))\u{1B}[K\n"
            )
        case .epochLines:
            output("Epoch \(epoch + 1)/\(epochs) - \(String(format: "%.1f", elapsed))s - \(Self.format(logs))\n")
        default: break
        }
    }
}
