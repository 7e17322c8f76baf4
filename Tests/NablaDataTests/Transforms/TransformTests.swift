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

@Suite struct ComposeTests {
    /// A fused pipeline gives what the transforms give one at a time.
    ///
    /// Rescale, flips, a padded crop and normalisation fuse into one pass; zoom and rotation each
    /// start a new one.
    @Test func fusedPipelineMatchesTransformsOneByOne() {
        let images = Tensor.uniform([6, 7, 5, 3], high: 255, generator: RandomGenerator(seed: 5)).asType(.uint8)
        let batch = Batch(images: images, labels: Tensor.zeros([6], dtype: .int64))
        let steps: [any Transform] = [
            Rescale(), Augment.horizontalFlip(), Augment.verticalFlip(),
            Augment.randomCrop(height: 6, width: 4, padding: 2),
            Normalize(mean: [0.1, 0.2, 0.3], standardDeviation: [0.5, 0.25, 2]),
            Augment.randomZoom(factor: 0.3), Augment.randomRotation(maxDegrees: 20), Rescale(scale: 2),
        ]
        let fused = Compose(steps)(batch, generator: RandomGenerator(seed: 9)).images
        let generator = RandomGenerator(seed: 9)
        let oneByOne = steps.reduce(batch) { $1($0, generator: generator) }.images
        #expect(fused.shape == [6, 6, 4, 3])
        expectClose(fused.toArray(), oneByOne.toArray(), atol: 1e-4)
        // The padding reads zero before normalisation: (0 − mean) / std in each channel.
        let pad = Compose([
            Augment.randomCrop(height: 9, width: 7, padding: 2), Normalize(mean: [1], standardDeviation: [4]),
        ])
        let plain = pad(
            Batch(images: Tensor.ones([1, 5, 3, 1]), labels: Tensor.zeros([1], dtype: .int64)),
            generator: RandomGenerator(seed: 1)
        ).images.toArray()
        #expect(plain.filter { $0 == -0.25 }.count == 63 - 15)
        #expect(plain.filter { $0 == 0 }.count == 15)
    }

    @Test func valueMapsKeepAnyBatchShape() {
        let rows = Tensor([UInt8(0), 51, 102, 255], shape: [2, 2])
        let out = Compose([Rescale(), Normalize(mean: [0.2, 0.4], standardDeviation: [0.2, 0.2])])(
            Batch(images: rows, labels: Tensor.zeros([2], dtype: .int64)), generator: RandomGenerator(seed: 1)
        ).images
        #expect(out.shape == [2, 2])
        expectClose(out.toArray(), [-1, -1, 1, 3], atol: 1e-6)
    }
}
