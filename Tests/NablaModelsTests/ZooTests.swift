import Nabla
import NablaModels
import NablaNN
import Testing

@Suite struct ZooTests {
    @Test func mnistCNNHasTheKerasArchitecture() {
        let model = mnistCNN()
        #expect(model.parameterCounts.trainable == 1_199_882)
        #expect(
            model.layers.map { String(describing: type(of: $0)) } == [
                "Rescaling", "Conv2D", "Conv2D", "MaxPool2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense",
            ])
        #expect(model.outputShape == [10])
    }

    @Test(arguments: Zoo.names)
    func everyZooModelMapsImagesToClassProbabilities(name: String) throws {
        let model = try #require(Zoo.model(named: name))
        let probabilities = withoutGradients { model(Tensor.zeros([2, 28, 28, 1], dtype: .uint8)) }
        #expect(probabilities.shape == [2, 10])
        let sums = probabilities.sum(axes: [1]).toArray()
        #expect(sums.allSatisfy { abs($0 - 1) < 1e-5 })
    }

    @Test func unknownNamesGiveNil() { #expect(Zoo.model(named: "resnet-1000") == nil) }
}
