import Foundation

/// Filters transformed and packed for a kernel, kept for inference, which runs a layer with the
/// same weights again and again.
///
/// An entry serves only weights of the same shape and equal, byte for byte, to those it was made
/// from: they are compared on every use (far cheaper than the transform), so weights changed in
/// place are never served stale. At most eight entries; the least recently used goes first.
final class FilterCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(shape: [Int], weights: [Float], packed: Tensor)] = []

    /// The packed form of the `shape.reduce(1, *)` floats at `weights`, made by `make` on a miss.
    func packed(_ weights: UnsafePointer<Float>, shape: [Int], make: () -> Tensor) -> Tensor {
        let count = shape.reduce(1, *)
        lock.lock()
        defer { lock.unlock() }
        let hit = entries.firstIndex { entry in
            entry.shape == shape
                && entry.weights.withUnsafeBufferPointer { kept in
                    kept.baseAddress.map { memcmp($0, weights, count * MemoryLayout<Float>.size) == 0 } ?? (count == 0)
                }
        }
        if let hit {
            let entry = entries.remove(at: hit)
            entries.append(entry)
            return entry.packed
        }
        let packed = make()
        entries.append((shape, Array(UnsafeBufferPointer(start: weights, count: count)), packed))
        if entries.count > 8 { entries.removeFirst() }
        return packed
    }
}
