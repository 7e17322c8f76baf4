import Nabla
import NablaTestSupport
import Testing

@Suite struct TensorTests {
    @Test func roundTripsSwiftArraysForEveryDType() {
        #expect(Tensor([1, 2, 3] as [Float]).toArray(Float.self) == [1, 2, 3])
        #expect(Tensor([Int32(-4), 7], shape: [2]).toArray(Int32.self) == [-4, 7])
        #expect(Tensor([Int64.max, 0]).toArray(Int64.self) == [Int64.max, 0])
        #expect(Tensor([UInt8(255), 0]).toArray(UInt8.self) == [255, 0])
        #expect(Tensor([true, false]).toArray(Bool.self) == [true, false])
    }

    @Test func convertsBetweenDTypes() {
        let x = Tensor([-1.7, 0.5, 2.9, 300] as [Float])
        #expect(x.asType(.int32).toArray(Int32.self) == [-1, 0, 2, 300])
        #expect(x.asType(.int64).toArray(Int64.self) == [-1, 0, 2, 300])
        #expect(Tensor([UInt8(0), 128, 255]).asType(.float32).toArray() == [0, 128, 255])
        #expect((x .> 0).asType(.float32).toArray() == [0, 1, 1, 1])
    }

    @Test func viewsShareStorageWithoutCopying() {
        let x = Tensor((0..<12).map(Float.init), shape: [3, 4])
        let t = x.transposed()
        #expect(t.shape == [4, 3] && t.strides == [1, 4] && !t.isContiguous)
        #expect(t.contiguous().toArray() == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        let s = x.slice(axis: 1, start: 1, end: 4, step: 2)
        #expect(s.shape == [3, 2] && s.toArray() == [1, 3, 5, 7, 9, 11])
        let e = Tensor([1, 2] as [Float], shape: [2, 1]).expanded(to: [2, 3])
        #expect(e.strides == [1, 0] && e.toArray() == [1, 1, 1, 2, 2, 2])
        #expect(x.reshaped([2, -1]).shape == [2, 6])
        #expect(x.permuted([1, 0]).toArray() == t.contiguous().toArray())
        #expect(x[2].toArray() == [8, 9, 10, 11])
        // The optimizer's in-place write shows through every view.
        x.assign(Tensor.zeros([3, 4]))
        #expect(t.toArray().allSatisfy { $0 == 0 })
    }

    @Test func concatStackSplitPad() {
        let a = Tensor([1, 2, 3, 4] as [Float], shape: [2, 2]), b = Tensor([5, 6] as [Float], shape: [2, 1])
        #expect(concat([a, b], axis: 1).toArray() == [1, 2, 5, 3, 4, 6])
        #expect(stack([a, a], axis: 0).shape == [2, 2, 2])
        let parts = split(Tensor((0..<6).map(Float.init)), sizes: [1, 5])
        #expect(parts[1].toArray() == [1, 2, 3, 4, 5])
        #expect(Tensor([1] as [Float], shape: [1, 1]).padded([(1, 0), (0, 1)], value: 9).toArray() == [9, 9, 1, 9])
    }

    @Test func gatherAndOneHot() {
        let x = Tensor((0..<6).map(Float.init), shape: [3, 2])
        #expect(x.gathered(Tensor([Int64(2), 0, -1])).toArray() == [4, 5, 0, 1, 4, 5])
        #expect(x.gathered(Tensor([Int32(1)]), axis: 1).toArray() == [1, 3, 5])
        #expect(oneHot(Tensor([Int32(2), 0]), classes: 3).toArray() == [0, 0, 1, 1, 0, 0])
    }

    @Test func reductionsOverAnyAxes() {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        #expect(x.sum().item() == 276)
        #expect(x.sum(axes: [0, 2]).toArray() == [60, 92, 124])
        #expect(x.mean(axes: [-1], keepDims: true).shape == [2, 3, 1])
        #expect(x.max(axes: [1]).toArray() == [8, 9, 10, 11, 20, 21, 22, 23])
        #expect(x.min().item() == 0)
        #expect(x.argmax(axis: 1).toArray(Int64.self) == [2, 2, 2, 2, 2, 2, 2, 2])
        #expect(Tensor([3, 1, 3] as [Float]).argmax().toArray(Int64.self) == [0])
        #expect(Tensor([1, 2, 3, 4] as [Float]).variance().item() == 1.25)
        // Transposed input reduces correctly too.
        #expect(x.permuted([2, 1, 0]).sum(axes: [2]).toArray() == x.sum(axes: [0]).transposed().contiguous().toArray())
    }

    @Test func elementwiseValues() {
        let x = Tensor([-2, -0.5, 0, 1.5] as [Float])
        expectClose(x.relu().toArray(), [0, 0, 0, 1.5])
        expectClose(x.leakyRelu(alpha: 0.1).toArray(), [-0.2, -0.05, 0, 1.5])
        expectClose(x.elu().toArray(), [-0.86466472, -0.39346934, 0, 1.5])
        expectClose(x.sigmoid().toArray(), [0.11920292, 0.37754067, 0.5, 0.81757448])
        expectClose(x.gelu().toArray(), [-0.04550026, -0.15426877, 0, 1.39978657])
        expectClose(x.swish().toArray(), [-0.23840584, -0.18877033, 0, 1.22636172])
        expectClose(x.clamp(min: -1, max: 1).toArray(), [-1, -0.5, 0, 1])
        expectClose(x.maximum(Tensor(0.25)).toArray(), [0.25, 0.25, 0.25, 1.5])
        expectClose(Tensor.where(x .< 0, x.abs(), Tensor(7)).toArray(), [2, 0.5, 7, 7])
        expectClose((2 / (x + 3)).toArray(), [2, 0.8, 2.0 / 3, 2.0 / 4.5])
    }

    @Test func describesSmallTensors() {
        let d = Tensor([1, 2, 3, 4] as [Float], shape: [2, 2]).description
        #expect(d == "[[1.0, 2.0],\n [3.0, 4.0]], shape [2, 2], float32")
        #expect(Tensor((0..<10).map(Float.init)).description.contains("…"))
    }
}
