/// The reference-counted buffer behind one or more tensor views.
///
/// Its memory comes from ``CachingAllocator`` and goes back there when the last view is gone.
final class Storage: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int
    private let sizeClass: Int

    /// Allocates uninitialised storage of `byteCount` bytes.
    init(byteCount: Int) {
        let block = CachingAllocator.shared.allocate(max(byteCount, 1))
        base = block.pointer
        sizeClass = block.sizeClass
        self.byteCount = byteCount
    }

    /// Allocates zero-filled storage of `byteCount` bytes.
    convenience init(zeroedByteCount byteCount: Int) {
        self.init(byteCount: byteCount)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    }

    deinit { CachingAllocator.shared.release(base, sizeClass: sizeClass) }
}
