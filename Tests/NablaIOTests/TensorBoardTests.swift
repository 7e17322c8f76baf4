import Foundation
import Nabla
import NablaData
import NablaIO
import NablaNN
import NablaTestSupport
import Testing

/// Event files read back by TensorBoard's own reader (`EventAccumulator`), which stops silently
/// at a bad record: so the count of events, and every tag, step and value, are checked.
@Suite(.requires(.tensorBoard)) struct TensorBoardTests {
    static let reader = """
        import json, sys
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        out = {}
        for run in ['train', 'validation']:
            acc = EventAccumulator(sys.argv[1] + '/' + run, size_guidance={'scalars': 0, 'histograms': 0, 'images': 0, 'tensors': 0})
            acc.Reload()
            tags = acc.Tags()
            out[run] = {
                'scalars': {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags['scalars']},
                'histograms': {t: [[e.step, e.histogram_value.num, e.histogram_value.min, e.histogram_value.max,
                                    e.histogram_value.sum] for e in acc.Histograms(t)] for t in tags['histograms']},
                'images': {t: [[e.step, e.width, e.height, len(e.encoded_image_string)] for e in acc.Images(t)]
                           for t in tags['images']},
                'tensors': {t: [e.tensor_proto.string_val[0].decode() for e in acc.Tensors(t)] for t in tags['tensors']},
            }
        print(json.dumps(out))
        """

    @Test func aTrainingRunReadsBackInTensorBoard() throws {
        try Random.withSeed(4) {
            let model = Sequential(inputShape: [4, 4, 1]) {
                Flatten()
                Dense(units: 8, activation: .relu)
                Dense(units: 3, activation: .softmax)
            }
            model.compile(
                optimizer: Adam(learningRate: 0.01), loss: SparseCategoricalCrossEntropy(), metrics: [.accuracy])
            let x = Tensor.uniform([24, 4, 4, 1], high: 255), y = Tensor((0..<24).map { Int64($0 % 3) })
            let folder = NSTemporaryDirectory() + "nabla-tb-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let callback = TensorBoardCallback(
                logDirectory: folder, updateEvery: 2, sampleImages: x.slice(axis: 0, start: 0, end: 5))
            let history = try model.fit(
                x: x, y: y, batchSize: 4, epochs: 3, validationData: (x, y), callbacks: [callback], verbose: .silent)

            let text = try PythonCheck.run(Self.reader, folder)
            let runs = try #require(
                try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: Any]], "\(text)")
            let train = try #require(runs["train"]), validation = try #require(runs["validation"])
            let scalars = try #require(train["scalars"] as? [String: [[Double]]])
            // 6 batches an epoch, logged every 2nd: steps 2, 4, … 18.
            #expect(scalars["batch_loss"]?.map { Int($0[0]) } == Array(stride(from: 2, through: 18, by: 2)))
            for (tag, metric) in [("epoch_loss", "loss"), ("epoch_accuracy", "accuracy")] {
                let logged = try #require(scalars[tag], "\(scalars.keys)")
                #expect(logged.map { Int($0[0]) } == [0, 1, 2])
                for (event, value) in zip(logged, history[metric]) {
                    #expect(abs(event[1] - value) <= 1e-6 * max(1, abs(value)))
                }
                let val = try #require((validation["scalars"] as? [String: [[Double]]])?[tag])
                for (event, value) in zip(val, history["val_" + metric]) {
                    #expect(abs(event[1] - value) <= 1e-6 * max(1, abs(value)))
                }
                #expect(val.count == 3)
            }
            #expect(scalars["epoch_learning_rate"]?.map { $0[1] } == Array(repeating: Double(Float(0.01)), count: 3))
            let histograms = try #require(train["histograms"] as? [String: [[Double]]])
            let weights = try #require(
                model.parameters().first { $0.name.hasSuffix("kernel") || $0.name.hasSuffix("weight") })
            let logged = try #require(histograms[weights.name + "/histogram"], "\(histograms.keys)")
            #expect(logged.count == 3 && logged.last?[1] == Double(weights.parameter.value.count))
            let values = weights.parameter.value.toArray(Float.self)
            #expect(logged.last?[2] == Double(values.min() ?? 0) && logged.last?[3] == Double(values.max() ?? 0))
            #expect(histograms.keys.contains { $0.hasSuffix("/gradient") })
            let images = try #require((train["images"] as? [String: [[Int]]])?["sample_inputs"])
            #expect(images.count == 1 && images[0][1] == 5 * 4 && images[0][2] == 4)
            let summary = try #require((train["tensors"] as? [String: [String]])?["model_summary"])
            #expect(summary.first?.contains("Dense") == true)
        }
    }

    @Test func crcMatchesTheStandardCheckValue() {
        // CRC-32C of "123456789" is 0xE3069283 (RFC 3720's check value).
        #expect(CRC32CCheck.value == 0xE306_9283)
    }
}

/// The PNG plot: a known line lands on the pixels the axes say, and text and marks are drawn.
@Suite struct RasterPlotTests {
    @Test func aStraightLineLandsWhereTheAxesSay() throws {
        // y = x from 0 to 10 on [0, 10] × [0, 10]: the plot area is x 70…700, y 40…370.
        var plot = RasterPlot(
            title: "test", xLabel: "x", yLabel: "y", x: (0...10).map(Double.init), logX: false,
            series: [.init((0...10).map(Double.init), color: (0, 0, 255))])
        plot.yRange = 0...10
        plot.marks = [(5, "mark")]
        let image = try ImageCodec.decode(try plot.png(), path: "plot.png")
        #expect(image.shape == [420, 720, 3])
        let pixels = image.toArray(UInt8.self)
        func colour(_ x: Int, _ y: Int) -> [UInt8] { Array(pixels[(y * 720 + x) * 3..<(y * 720 + x) * 3 + 3]) }
        // x = 2.5 is pixel 70 + 157.5; y = 2.5 is pixel 370 - 82.5: the line passes within a pixel.
        #expect((-1...1).contains { dx in (-1...1).contains { dy in colour(228 + dx, 288 + dy) == [0, 0, 255] } })
        #expect(colour(385, 200) == [200, 40, 40])  // the mark at x = 5
        #expect(colour(100, 100) == [255, 255, 255])  // empty plot area
        #expect(colour(70, 200) == [40, 40, 40])  // the y axis
    }

    @Test func aLogAxisPlacesPowersOfTen() throws {
        let plot = RasterPlot(
            title: "", xLabel: "", yLabel: "", x: [1e-4, 1e-2, 1], logX: true,
            series: [.init([3, 2, 1], color: (0, 0, 255))])
        let image = plot.render()
        let pixels = image.toArray(UInt8.self)
        // 1e-2 is in the middle of 1e-4…1: x = 385, y in the middle of the plot area (205).
        let i = (205 * 720 + 385) * 3
        #expect(Array(pixels[i..<i + 3]) == [0, 0, 255])
    }
}
