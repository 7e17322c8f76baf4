import Foundation
import Nabla

/// Writes TensorBoard event files (`events.out.tfevents.*`): scalars, histograms, images and text
/// that `tensorboard --logdir` shows, like PyTorch's `SummaryWriter`.
///
/// A file is a sequence of TFRecord records, each an `Event` protocol buffer: a little-endian
/// 64-bit length, the masked CRC-32C of those 8 bytes, the data, the masked CRC-32C of the data.
/// The first event names the format (`brain.Event:2`). Events are appended and flushed as they
/// are written, so TensorBoard can read a run while it trains.
public final class EventFileWriter {
    /// The event file's path.
    public let path: String
    private let handle: FileHandle
    private var pending = Data()

    /// Creates `logDirectory` if needed and a new event file in it.
    ///
    /// - Throws: `NablaError` (`.io`) naming the folder when it cannot be created or written.
    public init(logDirectory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        } catch {
            throw NablaError(.io, "cannot create the folder: \(error.localizedDescription)", path: logDirectory)
        }
        let now = Date().timeIntervalSince1970
        let host = ProcessInfo.processInfo.hostName.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
        path = "\(logDirectory)/events.out.tfevents.\(Int(now)).\(host).\(getpid()).nabla"
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw NablaError(.io, "cannot create the event file", path: path) }
        self.handle = handle
        try write { event in event.string(3, "brain.Event:2") }
    }

    deinit { try? handle.close() }

    /// Adds a scalar (a loss, a metric, the learning rate) at `step`.
    public func scalar(_ tag: String, _ value: Double, step: Int) throws {
        try summary(step: step) { v in
            v.string(1, tag)
            v.float(2, Float(value))
        }
    }

    /// Adds a histogram of `values` at `step`: 30 buckets of equal width between the extremes
    /// (values that are not finite are left out).
    public func histogram(_ tag: String, _ values: [Float], step: Int) throws {
        let finite = values.filter(\.isFinite).map(Double.init)
        guard let low = finite.min(), let high = finite.max() else { return }
        let count = 30
        var limits: [Double] = []
        var buckets = [Double](repeating: 0, count: count)
        if high > low {
            let width = (high - low) / Double(count)
            limits = (1...count).map { low + width * Double($0) }
            limits[count - 1] = high
            for v in finite { buckets[min(count - 1, Int((v - low) / width))] += 1 }
        } else {
            limits = [high]
            buckets = [Double(finite.count)]
        }
        try summary(step: step) { v in
            v.string(1, tag)
            v.message(5) { h in
                h.double(1, low)
                h.double(2, high)
                h.double(3, Double(finite.count))
                h.double(4, finite.reduce(0, +))
                h.double(5, finite.reduce(0) { $0 + $1 * $1 })
                h.packedDoubles(6, limits)
                h.packedDoubles(7, buckets)
            }
        }
    }

    /// Adds an image (PNG or JPEG bytes) of the given size at `step`.
    public func image(_ tag: String, encoded: Data, height: Int, width: Int, channels: Int, step: Int) throws {
        try summary(step: step) { v in
            v.string(1, tag)
            v.message(4) { image in
                image.int(1, height)
                image.int(2, width)
                image.int(3, channels)
                image.bytes(4, encoded)
            }
        }
    }

    /// Adds text (Markdown, as TensorBoard's text plugin shows it) at `step`.
    public func text(_ tag: String, _ text: String, step: Int) throws {
        try summary(step: step) { v in
            v.string(1, tag)
            v.message(9) { metadata in
                metadata.message(1) { plugin in plugin.string(1, "text") }
            }
            v.message(8) { tensor in
                tensor.int(1, 7)  // DT_STRING
                tensor.message(2) { shape in shape.message(2) { dim in dim.int(1, 1) } }
                tensor.string(8, text)
            }
        }
    }

    /// Writes what is buffered to the file.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        do {
            try handle.write(contentsOf: pending)
        } catch {
            throw NablaError(.io, "cannot write the event file: \(error.localizedDescription)", path: path)
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func summary(step: Int, _ value: (inout ProtobufWriter) -> Void) throws {
        try write { event in
            event.int(2, step)
            event.message(5) { summary in summary.message(1, value) }
        }
    }

    /// Frames one event (its wall time first) as a TFRecord and writes it.
    private func write(_ build: (inout ProtobufWriter) -> Void) throws {
        var event = ProtobufWriter()
        event.double(1, Date().timeIntervalSince1970)
        build(&event)
        var length = Data()
        withUnsafeBytes(of: UInt64(event.data.count).littleEndian) { length.append(contentsOf: $0) }
        pending.append(length)
        withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { pending.append(contentsOf: $0) }
        pending.append(event.data)
        withUnsafeBytes(of: CRC32C.masked(event.data).littleEndian) { pending.append(contentsOf: $0) }
        try flush()
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), and TFRecord's masked form of it.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// The checksum rotated right by 15 bits plus a constant, as TFRecord stores it.
    static func masked(_ data: Data) -> UInt32 {
        let crc = checksum(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

/// The CRC-32C of "123456789", for tests to check the table against the standard value.
package enum CRC32CCheck {
    package static var value: UInt32 { CRC32C.checksum(Data("123456789".utf8)) }
}
