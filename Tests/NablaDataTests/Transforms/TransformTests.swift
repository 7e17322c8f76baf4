import Foundation
import Nabla
import NablaData
import NablaTestSupport
import Testing

@Suite struct TransformTests {
    let image = Tensor((0..<12).map(Float.init), shape: [1, 3, 4, 1])
    let generator = RandomGenerator(seed: 1)

    func apply(_ t: any Transform, _ x: Tensor) -> Tensor {
        t(Batch(images: x, labels: Tensor([Int64(0)])), generator: generator).images
    }

    @Test func flipsAreExactAndCertainAtProbabilityOne() {
        #expect(
            apply(Augment.horizontalFlip(probability: 1), image).toArray() == [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8])
        #expect(apply(Augment.verticalFlip(probability: 1), image).toArray() == [8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3])
        #expect(apply(Augment.horizontalFlip(probability: 0), image).toArray() == image.toArray())
    }

    @Test func cropsResizeAndRotate() {
        #expect(apply(Augment.centerCrop(height: 1, width: 2), image).toArray() == [5, 6])
        let crop = apply(Augment.randomCrop(height: 3, width: 4, padding: 2), image)
        #expect(crop.shape == [1, 3, 4, 1])
        // Upscaling by 2 with half-pixel centres: each output pixel averages its nearest sources.
        let up = apply(Augment.resize(height: 6, width: 8), image)
        #expect(up.shape == [1, 6, 8, 1])
        expectClose([up.toArray()[0], up.toArray()[1]], [0, 0.25])
        let still = apply(Augment.randomRotation(maxDegrees: 0), image)
        expectClose(still.toArray(), image.toArray(), atol: 1e-5)
    }

    @Test func normalizationAndStatistics() {
        let images = Tensor([0, 10, 2, 30, 4, 50, 6, 70] as [Float], shape: [2, 2, 1, 2])
        let stats = DatasetStatistics(images: images, chunk: 1)
        expectClose(stats.mean, [3, 40])
        expectClose(stats.standardDeviation, [Float(5.0.squareRoot()), Float(500.0.squareRoot())])
        expectClose(stats.meanImage.toArray(), [2, 30, 4, 50])
        let normalized = apply(Normalize(mean: stats.mean, standardDeviation: stats.standardDeviation), images)
        expectClose(normalized.mean(axes: [0, 1, 2]).toArray(), [0, 0], atol: 1e-6)
        let centred = apply(SubtractMeanImage(stats.meanImage), images)
        expectClose(centred.toArray(), [-2, -20, -2, -20, 2, 20, 2, 20])
        #expect(apply(Rescale(), Tensor([UInt8(255), 0], shape: [1, 1, 2, 1])).toArray() == [1, 0])
    }

    @Test func histogramEqualizationSpreadsValues() {
        // Four grey levels crowded at the dark end become spread over 0…255.
        let dark = Tensor([10, 10, 11, 12] as [Float], shape: [1, 2, 2, 1])
        #expect(apply(HistogramEqualization(), dark).toArray() == [0, 0, 128, 255])
    }

    @Test func layoutsRoundTrip() {
        let x = randomTensor([2, 3, 4, 5])
        let chw = Layout.toCHW(x)
        #expect(chw.shape == [2, 5, 3, 4])
        #expect(Layout.toHWC(chw).toArray() == x.toArray())
    }

    @Test func erasingAndJitterAreDeterministicPerGenerator() {
        let x = Tensor.ones([4, 8, 8, 1])
        let erased = RandomErasing(size: 4, probability: 1)(
            Batch(images: x, labels: Tensor([Int64(0), 0, 0, 0])), generator: RandomGenerator(seed: 2)
        ).images
        #expect(erased.toArray().contains(0))
        let again = RandomErasing(size: 4, probability: 1)(
            Batch(images: x, labels: Tensor([Int64(0), 0, 0, 0])), generator: RandomGenerator(seed: 2)
        ).images
        #expect(erased.toArray() == again.toArray())
        let jitter = ColorJitter(brightness: 0.5, contrast: 0.5)
        let y = jitter(
            Batch(images: randomTensor([2, 4, 4, 3]), labels: Tensor([Int64(0), 0])),
            generator: RandomGenerator(seed: 3)
        ).images
        #expect(y.shape == [2, 4, 4, 3])
    }
}
