/// Whether operations record how their results were computed, for ``Tensor/backward()``.
public enum GradientMode {
    /// Whether recording is on: true unless inside ``withoutGradients(_:)``.
    ///
    /// The setting is per thread (and per task).
    @TaskLocal public static var isEnabled = true

    /// Returns whether an op on these inputs must record itself: a backward step, or a trace entry.
    @inline(__always)
    static func shouldRecord(_ a: Tensor) -> Bool { (a.node != nil && isEnabled) || Tracer.current != nil }

    @inline(__always)
    static func shouldRecord(_ a: Tensor, _ b: Tensor) -> Bool {
        ((a.node != nil || b.node != nil) && isEnabled) || Tracer.current != nil
    }

    @inline(__always)
    static func shouldRecord(_ inputs: [Tensor]) -> Bool {
        (inputs.contains { $0.node != nil } && isEnabled) || Tracer.current != nil
    }
}

/// Runs `body` in inference mode: no operation inside records anything for autodiff.
///
/// Results computed inside never require gradients, and no graph memory is kept.
public func withoutGradients<Result>(_ body: () throws -> Result) rethrows -> Result {
    try GradientMode.$isEnabled.withValue(false, operation: body)
}
