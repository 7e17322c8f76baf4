import CNablaCUDA
import Foundation
import Nabla

/// The NVIDIA driver as found at run time.
///
/// `libcuda.so.1` (or `NABLA_CUDA_DRIVER`) is opened with `dlopen`, initialised, and its GPUs
/// listed. Nothing CUDA is needed to build or to run on a machine without a GPU.
///
/// This is the first layer of the CUDA backend: finding the driver and the devices, and choosing
/// a device for `--device cuda|cpu|auto`. The kernels, cuBLAS and the allocator build on it.
public enum CUDADriver {
    /// One GPU.
    public struct GPU: Sendable, Equatable {
        public var index: Int
        public var name: String
        public var memoryBytes: Int

        public init(index: Int, name: String, memoryBytes: Int) {
            (self.index, self.name, self.memoryBytes) = (index, name, memoryBytes)
        }
    }

    /// What the probe found: the driver's CUDA version and the GPUs, or why there are none.
    public enum Probe: Sendable, Equatable {
        case available(driverVersion: Int, gpus: [GPU])
        case unavailable(reason: String)
    }

    /// Opens and initialises the driver once, and lists its GPUs.
    public static func probe(environment: [String: String] = ProcessInfo.processInfo.environment) -> Probe {
        let libraries = environment["NABLA_CUDA_DRIVER"] ?? "libcuda.so.1"
        var error = [CChar](repeating: 0, count: 512)
        guard nbl_cuda_probe(libraries, &error, error.count) == 0 else {
            return .unavailable(reason: String(cBuffer: error))
        }
        var (count, version): (Int32, Int32) = (0, 0)
        guard nbl_cuda_device_count(&count) == 0, nbl_cuda_driver_version(&version) == 0 else {
            return .unavailable(reason: "the CUDA driver could not count its devices")
        }
        guard count > 0 else { return .unavailable(reason: "the CUDA driver reports no GPU") }
        let gpus = (0..<count).map { index -> GPU in
            var name = [CChar](repeating: 0, count: 256)
            var bytes = 0
            _ = nbl_cuda_device_name(index, &name, name.count)
            _ = nbl_cuda_device_memory(index, &bytes)
            return GPU(index: Int(index), name: String(cBuffer: name), memoryBytes: bytes)
        }
        return .available(driverVersion: Int(version), gpus: gpus)
    }

    /// A requested device: `cpu`, `cuda` or `cuda:N` (a GPU, an error without one), or `auto`
    /// (a GPU when there is one, else the CPU).
    public enum Request: String, Sendable, CaseIterable {
        case cpu, cuda, auto
    }

    /// The device to train on for `request`, and a line that says what was chosen and why.
    ///
    /// - Throws: `NablaError` (`.notFound`) for `cuda` on a machine without a usable GPU,
    ///   naming the reason; or while the CUDA backend's kernels are not part of this build.
    public static func choose(_ request: Request, probe: Probe = probe()) throws -> (device: Device, note: String) {
        switch (request, probe) {
        case (.cpu, _):
            return (.cpu, "device: cpu")
        case (.auto, .unavailable(let reason)):
            return (.cpu, "device: cpu (auto: no GPU: \(reason))")
        case (.cuda, .unavailable(let reason)):
            throw NablaError(
                .notFound,
                "--device cuda: no usable GPU: \(reason) (install the NVIDIA driver, or use --device auto or cpu)")
        case (.cuda, .available(_, let gpus)), (.auto, .available(_, let gpus)):
            let names = gpus.map { "\($0.index): \($0.name)" }.joined(separator: ", ")
            guard Backends.isRegistered(.cuda(0)) else {
                if request == .auto {
                    return (.cpu, "device: cpu (auto: found \(names), but this build has no CUDA kernels yet)")
                }
                throw NablaError(
                    .notFound, "--device cuda: found \(names), but this build has no CUDA kernels yet; use --device cpu"
                )
            }
            return (.cuda(0), "device: cuda:0 (\(names))")
        }
    }
}
