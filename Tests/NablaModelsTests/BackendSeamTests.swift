import Nabla
import NablaModels
import NablaNN
import NablaTestSupport
import Testing

/// The seams other backends and ONNX export build on: a whole mnist_cnn training step dispatches
/// through the backend protocol, and a forward pass traces as a list of op records.
@Suite struct BackendSeamTests {
    /// Runs one Adam training step of mnist_cnn with everything made on `device`; returns the
    /// parameters afterwards by name.
    static func trainingStep(on device: Device) throws -> [String: [Float]] {
        try Device.withDefault(device) {
            let model = Random.withSeed(7) { mnistCNN() }
            let optimizer = Adam()
            let x = Tensor.uniform([4, 28, 28, 1], high: 255, generator: RandomGenerator(seed: 1))
            let y = Tensor([Int64(0), 3, 7, 9], shape: [4])
            model.isTraining = true
            try Random.withSeed(8) {
                SparseCategoricalCrossEntropy()(model(x), y).backward()
                try optimizer.step(model)
            }
            var out: [String: [Float]] = [:]
            for (name, parameter) in model.parameters() {
                #expect(parameter.value.device == device, "\(name) is on \(parameter.value.device)")
                out[name] = parameter.value.toArray()
            }
            return out
        }
    }

    @Test func oneMNISTCNNTrainingStepDispatchesOnlyThroughTheBackendProtocol() throws {
        let recording = RecordingBackend(index: 1)
        let onCPU = try Self.trainingStep(on: .cpu)
        // The recording device's memory is closed to the CPU kernels: any op that went around the
        // protocol would stop the process here instead of computing.
        let onRecording = try Self.trainingStep(on: recording.device)
        #expect(onRecording == onCPU)
        let calls = Set(recording.calls)
        for primitive in [
            "random", "conv2d", "conv2dBackward", "maxPool2d", "maxPool2dBackward",
            "dropout", "batchedMatmul", "unary.relu", "unaryBackward.relu", "reduce.sum", "adamStep", "read",
        ] {
            #expect(calls.contains(primitive), "no \(primitive) call among \(calls.sorted())")
        }
    }

    @Test func mnistCNNForwardPassTracesAsOpRecords() throws {
        let model = Random.withSeed(7) { mnistCNN() }
        let x = Tensor.uniform([2, 28, 28, 1], high: 255, generator: RandomGenerator(seed: 1))
        let parameters = model.parameters().map { (name: $0.name, value: $0.parameter.value) }
        let (outputs, recorded) = withoutGradients {
            trace(inputs: [x], parameters: parameters) { [model($0[0])] }
        }
        #expect(outputs[0].shape == [2, 10])
        let kinds: [OpKind] = [
            .mul, .conv2d, .add, .relu, .conv2d, .add, .relu, .maxPool2d, .reshape, .matmul, .add, .relu, .matmul,
            .add, .softmax,
        ]
        try #require(recorded.entries.map(\.record.kind) == kinds, "\(recorded.entries)")
        let conv = recorded.entries[1]
        #expect(conv.inputs == [.entry(0), .parameter("conv2d.weight")])
        #expect(conv.record.attributes["strides"] == .ints([1, 1]))
        #expect(conv.record.attributes["pads"] == .ints([0, 0, 0, 0]))
        #expect(conv.outputShape == [2, 26, 26, 32])
        #expect(recorded.entries[2].inputs == [.entry(1), .parameter("conv2d.bias")])
        #expect(recorded.entries[0].inputs == [.input(0), .constant(0)])
        #expect(recorded.entries[7].record.attributes["kernel"] == .ints([2, 2]))
        #expect(recorded.entries[8].outputShape == [2, 9216])
        #expect(recorded.entries[12].inputs == [.entry(11), .parameter("dense_1.weight")])
        #expect(recorded.outputs == [.entry(14)])
        #expect(recorded.constants.map(\.shape) == [[]])
    }
}
