import Foundation
import Nabla
import NablaTestSupport
import Testing

#if compiler(>=6.2) && (os(Linux) || os(macOS))
    /// Misuse stops the process with a message naming the op and the shapes, never a wrong answer.
    @Suite struct PreconditionTests {
        /// Checks that a trapped child process wrote `expected` to its standard error.
        func expectMessage(
            _ result: ExitTest.Result?, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation
        ) {
            let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
            #expect(stderr.contains(expected), "stderr was: \(stderr)", sourceLocation: sourceLocation)
        }

        @Test func matmulInnerDimensions() async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = matmul(Tensor.zeros([32, 784]), Tensor.zeros([128, 10]))
            }
            expectMessage(result, "matmul: inner dimensions differ, [32, 784] × [128, 10]")
        }

        @Test func operandsOnTwoDevices() async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                let other = RecordingBackend(index: 99)
                _ = Tensor.zeros([2]) + Tensor.zeros([2], device: other.device)
            }
            expectMessage(result, "add: inputs are on different devices, cpu and recording:99")
        }

        @Test func shapesThatDoNotBroadcast() async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor.zeros([3, 4]) + Tensor.zeros([5])
            }
            expectMessage(result, "add: shapes [3, 4] and [5] do not broadcast")
        }

        @Test func axisOutOfRange() async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor.zeros([2, 2]).sum(axes: [3])
            }
            expectMessage(result, "sum: axis 3 is out of range for rank 2")
        }

        @Test func wrongDType() async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor([Int32(1), 2]).exp()
            }
            expectMessage(result, "exp: expected float32, got int32 [2]")
        }

        @Test func convolutionChannelMismatch() async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = conv2d(Tensor.zeros([1, 8, 8, 1]), Tensor.zeros([3, 3, 3, 8]))
            }
            expectMessage(
                result, "conv2d: filter [3, 3, 3, 8] expects 3 input channels per group, input [1, 8, 8, 1] has 1")
        }

        @Test func labelOutOfRange() async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = softmaxCrossEntropy(logits: Tensor.zeros([2, 10]), labels: Tensor([Int64(3), 10]))
            }
            expectMessage(result, "softmaxCrossEntropy: label 10 of example 1 is outside 0..<10")
        }

        @Test func gatherIndexOutOfBounds() async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor.zeros([3]).gathered(Tensor([Int32(0), 3]))
            }
            expectMessage(result, "gather: index at position 1 is out of range for axis 0 of [3]")
        }

        @Test func reshapeToWrongCount() async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor.zeros([2, 3]).reshaped([4, 2])
            }
            expectMessage(result, "reshape: cannot reshape [2, 3] (6 elements) to [4, 2]")
        }
    }
#endif
