/// The reference-counted buffer behind one or more tensor views, owned by the backend of its device.
///
/// Memory comes from `Backend.allocate(byteCount:)` and goes back through
/// `Backend.release(_:)` when the last view is gone. An alias borrows another storage's memory
/// (keeping it alive) and releases nothing.
public final class Storage: @unchecked Sendable {
    /// The address of the first byte, in the address space of the backend's device.
    public let base: UnsafeMutableRawPointer
    /// The usable size in bytes.
    public let byteCount: Int
    /// A number the backend chose at allocation (the CPU's size class), handed back on release.
    public let token: Int
    /// The backend that owns the memory and computes on it.
    public let backend: any Backend
    private let owner: Storage?

    /// Wraps memory that `backend` allocated.
    public init(base: UnsafeMutableRawPointer, byteCount: Int, token: Int, backend: any Backend) {
        self.base = base
        self.byteCount = byteCount
        self.token = token
        self.backend = backend
        owner = nil
    }

    /// Returns a storage over `other`'s memory that `backend` computes on, keeping `other` alive.
    package init(aliasing other: Storage, backend: any Backend) {
        base = other.base
        byteCount = other.byteCount
        token = other.token
        self.backend = backend
        owner = other
    }

    /// The device the memory lives on.
    public var device: Device { backend.device }

    deinit { if owner == nil { backend.release(self) } }
}
