import Foundation
import Nabla
import NablaCUDA
import Testing

/// Choosing a device without a GPU: the driver is looked for at run time, `cuda` is a clear
/// error, and `auto` trains on the CPU and says why.
@Suite(.enabled(if: !FileManager.default.fileExists(atPath: "/dev/nvidiactl"))) struct DeviceTests {
    @Test func aMissingDriverIsFoundMissing() {
        let probe = CUDADriver.probe(environment: ["NABLA_CUDA_DRIVER": "libcuda-nowhere.so.1"])
        guard case .unavailable(let reason) = probe else {
            Issue.record("a driver that does not exist was found: \(probe)")
            return
        }
        #expect(reason.contains("libcuda-nowhere.so.1"), "\(reason)")
        // A library that is not the driver is refused by what it lacks.
        let other = CUDADriver.probe(environment: ["NABLA_CUDA_DRIVER": "libz.so.1"])
        #expect(other == .unavailable(reason: "libz.so.1 lacks the CUDA driver API"))
    }

    @Test func choosingADevice() throws {
        let none = CUDADriver.Probe.unavailable(reason: "libcuda.so.1: cannot open shared object file")
        #expect(try CUDADriver.choose(.cpu, probe: none).device == .cpu)
        let auto = try CUDADriver.choose(.auto, probe: none)
        #expect(auto.device == .cpu && auto.note.contains("auto: no GPU: libcuda.so.1"))
        #expect(throws: NablaError.self) { try CUDADriver.choose(.cuda, probe: none) }
        // A GPU without this build's CUDA kernels: auto stays on the CPU and says so; cuda refuses.
        let gpu = CUDADriver.Probe.available(
            driverVersion: 12040, gpus: [.init(index: 0, name: "NVIDIA H100", memoryBytes: 80 << 30)])
        let fallback = try CUDADriver.choose(.auto, probe: gpu)
        #expect(fallback.device == .cpu && fallback.note.contains("found 0: NVIDIA H100"))
        #expect(throws: NablaError.self) { try CUDADriver.choose(.cuda, probe: gpu) }
    }

    @Test func theCommandLineSaysWhatItChose() throws {
        let table = TrainedRun.folder() + "/iris.csv"
        try OwnDataTests.writeIris(to: table)
        let cuda = try runNabla(["train", "--dataset", table, "--model", "tabular-mlp", "--device", "cuda"])
        #expect(cuda.status != 0)
        #expect(cuda.stderr.contains("--device cuda: no usable GPU") && cuda.stderr.contains("--device auto or cpu"))
        let auto = try runNabla([
            "train", "--dataset", table, "--model", "tabular-mlp", "--epochs", "1", "--validation-split", "0.2",
        ])
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(auto.stdout.contains("device: cpu (auto: no GPU: "))
    }
}
