import Foundation

/// A size-bucketed caching allocator for tensor storage, 64-byte aligned.
///
/// Freed blocks go back to a free list for their size class instead of to the system, so a
/// training step that repeats the same shapes reuses the same blocks and asks the system for
/// nothing after warm-up. Size classes are four per power of two (at most 25% slack).
/// The free lists hold at most `NABLA_ALLOCATOR_CACHE_MB` megabytes (default 512): a block that
/// would go over goes back to the system, so batches of many sizes (a last partial batch, an
/// evaluation at another batch size) cannot grow the process without bound.
/// `NABLA_ALLOCATOR_CACHE=0` turns caching off (every block goes straight back to the system).
public final class CachingAllocator: @unchecked Sendable {
    /// The process-wide allocator.
    public static let shared = CachingAllocator()

    /// Counters since the process started.
    public struct Statistics: Sendable, Equatable {
        /// Blocks obtained from the system.
        public var systemAllocations: Int
        /// Requests served from the cache.
        public var cacheHits: Int
        /// Bytes held by live tensors, in whole size classes.
        public var bytesInUse: Int
        /// Bytes held in free lists, ready for reuse.
        public var bytesCached: Int
    }

    private let lock = NSLock()
    private var freeLists: [Int: [UnsafeMutableRawPointer]] = [:]
    private var stats = Statistics(systemAllocations: 0, cacheHits: 0, bytesInUse: 0, bytesCached: 0)
    private let cachingEnabled = ProcessInfo.processInfo.environment["NABLA_ALLOCATOR_CACHE"] != "0"
    private let cacheLimit =
        (ProcessInfo.processInfo.environment["NABLA_ALLOCATOR_CACHE_MB"].flatMap(Int.init) ?? 512) << 20

    /// Returns the size class that a request of `byteCount` bytes is served from.
    static func sizeClass(_ byteCount: Int) -> Int {
        if byteCount <= 64 { return 64 }
        let high = Int.bitWidth - (byteCount - 1).leadingZeroBitCount - 1  // floor(log2(byteCount - 1))
        let step = max(64, (1 << high) / 4)
        return (byteCount + step - 1) / step * step
    }

    /// Returns a block of at least `byteCount` bytes and its size class.
    func allocate(_ byteCount: Int) -> (pointer: UnsafeMutableRawPointer, sizeClass: Int) {
        let size = Self.sizeClass(byteCount)
        lock.lock()
        if cachingEnabled, var list = freeLists[size], let block = list.popLast() {
            freeLists[size] = list
            stats.cacheHits += 1
            stats.bytesCached -= size
            stats.bytesInUse += size
            lock.unlock()
            return (block, size)
        }
        stats.systemAllocations += 1
        stats.bytesInUse += size
        lock.unlock()
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, size) == 0, let block = raw else {
            fatalError("CachingAllocator: out of memory allocating \(size) bytes")
        }
        return (block, size)
    }

    /// Returns a block to its free list.
    func release(_ pointer: UnsafeMutableRawPointer, sizeClass size: Int) {
        lock.lock()
        stats.bytesInUse -= size
        if cachingEnabled && stats.bytesCached + size <= cacheLimit {
            freeLists[size, default: []].append(pointer)
            stats.bytesCached += size
            lock.unlock()
        } else {
            lock.unlock()
            free(pointer)
        }
    }

    /// Returns the counters.
    public var statistics: Statistics {
        lock.lock()
        defer { lock.unlock() }
        return stats
    }

    /// Gives every cached block back to the system.
    public func emptyCache() {
        lock.lock()
        let lists = freeLists
        freeLists = [:]
        stats.bytesCached = 0
        lock.unlock()
        for (_, list) in lists { for block in list { free(block) } }
    }
}
