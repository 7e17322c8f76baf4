/// Where a tensor's memory lives and which backend computes on it.
///
/// `Device.cpu` is always there. Other backends (a GPU, a test backend) register themselves with
/// ``Backends/register(_:)`` under a device of their own. Operations run on the device of their
/// inputs; inputs on two different devices are a programming error.
public struct Device: Hashable, Sendable, CustomStringConvertible {
    /// The kind of device: `cpu`, `cuda`, or another name a backend chooses.
    public let kind: String
    /// The device's number among those of its kind.
    public let index: Int

    /// Creates a device descriptor; a backend for it must be registered before tensors are made on it.
    public init(kind: String, index: Int = 0) {
        self.kind = kind
        self.index = index
    }

    /// The host CPU.
    public static let cpu = Device(kind: "cpu")

    /// The NVIDIA GPU numbered `index`.
    public static func cuda(_ index: Int = 0) -> Device { Device(kind: "cuda", index: index) }

    public var description: String { kind == "cpu" ? "cpu" : "\(kind):\(index)" }

    /// The default device, which creation functions (`zeros`, `uniform`, `Tensor([…])`) use when given none.
    ///
    /// The innermost ``withDefault(_:_:)``'s, else the CPU.
    @TaskLocal public static var current = Device.cpu

    /// Runs `body` with ``current`` set to `device`, like PyTorch's `with torch.device(...)`.
    public static func withDefault<Result>(_ device: Device, _ body: () throws -> Result) rethrows -> Result {
        try $current.withValue(device, operation: body)
    }
}
