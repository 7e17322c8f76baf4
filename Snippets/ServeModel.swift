// Serving: what `nabla serve` does for each request, in process — an image file decoded, resized
// and scaled as the model file says, one prediction, the top classes — and how long it takes.
// The server adds HTTP (the Open Inference Protocol and a drawing page) and dynamic batching:
//   nabla serve fashion=model.nabla --port 8000
//   curl --data-binary @shoe.png http://127.0.0.1:8000/v2/models/fashion/classify?top_k=3
// Run in release: swift run -c release ServeModel [model.nabla]
import Foundation
import Nabla
import NablaData
import NablaIO
import NablaModels
import NablaNN

#if DEBUG
    print("warning: this is a debug build; timings mean little (swift run -c release …)")
#endif
let test = try MNIST.load(.fashion, split: .test)
let model: Model
if let path = CommandLine.arguments.dropFirst().first {
    model = try Model.load(path)
} else {  // no file given: a model trained briefly here, as a stand-in
    Random.seed(42)
    model = mnistCNN()
    model.classNames = test.classNames
    model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy())
    try model.fit(
        x: test.images.slice(axis: 0, end: 2000), y: test.labels.slice(axis: 0, end: 2000), batchSize: 128, epochs: 1,
        verbose: .silent, seed: 42)
}
let classes = model.classNames ?? test.classNames

// A request's body: here a test image written as PNG, as a client would send it.
let png = try ImageCodec.encodePNG(test.images[9000])
let input = ImageInput(
    shape: model.inputShape ?? [28, 28, 1], spec: model.inputSpec, preprocessing: model.preprocessing)
func classify(_ body: Data) throws -> [(String, Float)] {
    let image = try input.prepared(try input.image(body, path: "request").unsqueezed(axis: 0))
    let probabilities = try model.predict(image).toArray(Float.self)
    return probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }.prefix(3).map {
        (classes[$0], probabilities[$0])
    }
}
_ = try classify(png)  // the first call sizes the buffers; the server does it before it is ready

var times: [Double] = []
for _ in 0..<200 {
    let start = DispatchTime.now().uptimeNanoseconds
    _ = try classify(png)
    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
}
times.sort()
print("true class:", classes[Int(test.labels.toArray(Int64.self)[9000])])
for (name, p) in try classify(png) { print("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0))", p) }
print(String(format: "decode + predict per request: median %.2f ms, 95th percentile %.2f ms", times[100], times[190]))
