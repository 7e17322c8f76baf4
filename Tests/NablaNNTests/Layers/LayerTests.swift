import Foundation
import Nabla
import NablaNN
import NablaTestSupport
import Testing

@Suite struct LayerTests {
    @Test func denseComputesActivationOfAffineMap() {
        let dense = Dense(units: 2, activation: .relu)
        dense.ensureBuilt(inputShape: [3])
        dense.weight?.value.assign(Tensor([1, -1, 2, 0, 0, 1] as [Float], shape: [3, 2]))
        dense.bias?.value.assign(Tensor([0.5, -10] as [Float]))
        let y = dense(Tensor([1, 2, 3] as [Float], shape: [1, 3]))
        expectClose(y.toArray(), [5.5, 0])
        #expect(dense.parameters().map(\.name) == ["weight", "bias"])
    }

    @Test func glorotUniformHasKerasLimits() {
        let w = Random.withSeed(3) { Initializer.glorotUniform([3, 3, 16, 32]) }
        let limit = (6 / Float(3 * 3 * 16 + 3 * 3 * 32)).squareRoot()
        #expect(w.abs().max().item() <= limit)
        #expect(w.abs().max().item() > 0.95 * limit)
        let he = Random.withSeed(3) { Initializer.heNormal([1000, 100]) }
        #expect(abs(he.variance().item() - 2.0 / 1000) < 2e-4)
    }

    @Test func conv2DSamePaddingKeepsSpatialSize() {
        let conv = Conv2D(filters: 5, kernelSize: [3, 5], strides: 2, padding: .same)
        #expect(conv.ensureBuilt(inputShape: [9, 10, 3]) == [5, 5, 5])
        #expect(conv.weight?.value.shape == [3, 5, 3, 5])
        let depthwise = DepthwiseConv2D(kernelSize: 3, padding: .same, depthMultiplier: 2)
        #expect(depthwise.ensureBuilt(inputShape: [6, 6, 4]) == [6, 6, 8])
    }

    @Test func batchNormalizationUpdatesMovingStatisticsOnlyInTraining() {
        let bn = BatchNormalization(momentum: 0.5)
        bn.ensureBuilt(inputShape: [2])
        let x = Tensor([1, 10, 3, 20] as [Float], shape: [2, 2])
        bn.isTraining = true
        let y = bn(x)
        expectClose(y.toArray(), [-0.99950037, -0.99998, 0.99950037, 0.99998], rtol: 1e-4)
        // mean [2, 15]; unbiased variance [2, 50]; momentum 0.5 from [0, 0] and [1, 1].
        expectClose(bn.movingMean?.value.toArray() ?? [], [1, 7.5])
        expectClose(bn.movingVariance?.value.toArray() ?? [], [1.5, 25.5])
        bn.isTraining = false
        _ = bn(x)
        expectClose(bn.movingMean?.value.toArray() ?? [], [1, 7.5])
        #expect(bn.parameterCounts == (trainable: 4, nonTrainable: 4))
    }

    @Test func dropoutIsTheIdentityAtInference() {
        let layer = Dropout(rate: 0.5)
        let x = Tensor.ones([4, 10])
        #expect(layer(x).toArray() == x.toArray())
        layer.isTraining = true
        #expect(layer(x).toArray().contains(0))
    }

    @Test func augmentationLayers() {
        let image = Tensor((0..<12).map(Float.init), shape: [1, 3, 4, 1])
        // Flip: with both directions off it is the identity; horizontal flips reverse rows exactly.
        let flip = RandomFlip(horizontal: true)
        flip.isTraining = true
        let flipped = Random.withSeed(1) { (0..<8).map { _ in flip(image).toArray() } }
        let mirrored: [Float] = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8]
        #expect(flipped.allSatisfy { $0 == image.toArray() || $0 == mirrored })
        #expect(flipped.contains(mirrored) && flipped.contains(image.toArray()))
        // Crop: a centre crop at inference, a shifted window of the padded image in training.
        let crop = RandomCrop(height: 2, width: 2, padding: 1)
        #expect(crop(image).toArray() == [1, 2, 5, 6])
        crop.isTraining = true
        let window = Random.withSeed(2) { crop(image) }
        #expect(window.shape == [1, 2, 2, 1])
        // Zoom 0 and translation 0 change nothing.
        for layer in [RandomZoom(factor: 0), RandomTranslation(heightFactor: 0, widthFactor: 0)] as [Layer] {
            layer.isTraining = true
            expectClose(layer(image).toArray(), image.toArray())
        }
    }

    @Test func sequentialNamesParametersHierarchically() {
        let model = Sequential(inputShape: [4]) {
            Dense(units: 3)
            Dense(units: 2)
        }
        #expect(model.parameters().map(\.name) == ["dense.weight", "dense.bias", "dense_1.weight", "dense_1.bias"])
        #expect(model.outputShape == [2])
        let summary = model.summary()
        #expect(summary.contains("dense_1 (Dense)"))
        #expect(summary.contains("Total params: 23"))
    }

    @Test func residualBlockAsACustomLayer() {
        final class Residual: Layer, @unchecked Sendable {
            let inner = Dense(units: 4, activation: .relu)
            let add = Add()
            override init(name: String? = nil) {
                super.init(name: name)
                addChild(inner)
            }
            override func build(inputShape: [Int]) -> [Int] { inner.ensureBuilt(inputShape: inputShape) }
            override func forward(_ input: Tensor) -> Tensor { add([input, inner.forward(input)]) }
        }
        let block = Residual()
        var x = Tensor.ones([2, 4])
        x.requiresGradient = true
        block(x).sum().backward()
        #expect(block.parameters().map(\.name) == ["dense.weight", "dense.bias"])
        #expect(block.inner.weight?.gradient != nil)
        #expect(Concatenate()([Tensor.ones([2, 3]), Tensor.zeros([2, 1])]).shape == [2, 4])
    }

    /// At inference a Conv2D followed by MaxPool2D runs as one pooled op; the model's output is
    /// the same bits as running each layer's forward in turn, for ReLU and for a linear
    /// convolution, and a pool with padding or other strides keeps the two layers apart.
    @Test func sequentialPoolsConvolutionsInOneOpAtInference() {
        Random.seed(7)
        let model = Sequential(inputShape: [12, 11, 12]) {
            Conv2D(filters: 16, kernelSize: 3, activation: .relu)
            MaxPool2D(poolSize: 2)
            Conv2D(filters: 16, kernelSize: 3, padding: .same)
            MaxPool2D(poolSize: 2, strides: 2)
            Conv2D(filters: 8, kernelSize: 2, padding: .same, activation: .relu)
            MaxPool2D(poolSize: 2, strides: 1)
        }
        model.isTraining = false
        let x = Tensor.uniform([6, 12, 11, 12])
        let whole = withoutGradients { model(x) }
        var stepwise = x
        for layer in model.layers { stepwise = withoutGradients { layer.forward(stepwise) } }
        #expect(whole.shape == stepwise.shape)
        #expect(whole.toArray() == stepwise.toArray())
    }
}
