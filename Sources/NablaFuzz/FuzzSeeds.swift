import Foundation
import Nabla
import NablaData
import NablaIO
import NablaNN

extension FuzzTargets {
    /// Valid inputs for target `name`, written by Nabla's own writers: the seed corpus a fuzz run
    /// starts from (`scripts/fuzz` writes them out; the replay test reads them back).
    public static func seeds(_ name: String) throws -> [Data] {
        let pixels = Tensor((0..<(8 * 8 * 3)).map { UInt8($0 % 251) }, shape: [8, 8, 3])
        let grey = Tensor((0..<(4 * 4)).map { UInt8($0 * 13 % 256) }, shape: [4, 4, 1])
        switch name {
        case "safetensors":
            return [
                try Safetensors.encode([("w", Tensor([Float(1), 2, 3, 4], shape: [2, 2]))], metadata: ["k": "v"]),
                try Safetensors.encode([("a", Tensor([Int64(7)], shape: [1])), ("b", grey)]),
            ]
        case "modelfile":
            let dense = Sequential(inputShape: [4]) { Dense(units: 3) }
            let images = Sequential(inputShape: [6, 6, 1]) {
                Rescaling(scale: 1.0 / 255)
                Residual(Sequential { Conv2D(filters: 1, kernelSize: 3, padding: .same) }, activation: .relu)
                BatchNormalization()
                MaxPool2D()
                Flatten()
                Dense(units: 2, activation: .softmax)
            }
            images.classNames = ["a", "b"]
            return try [dense, images].enumerated().map { index, model in
                let path = "\(scratch)/seed\(index).nabla"
                try model.save(to: path)
                return try Data(contentsOf: URL(fileURLWithPath: path))
            }
        case "idx": return [idx(grey.reshaped([1, 4, 4]).toArray(UInt8.self), type: 0x08, shape: [1, 4, 4])]
        case "idxstream":
            let images = idx((0..<32).map { UInt8($0) }, type: 0x08, shape: [2, 4, 4])
            return [images + Data([0xFF, 0xFF]) + idx([3, 7], type: 0x08, shape: [2])]
        case "csv", "csvstream":
            let text = "label,pixel0,pixel1,pixel2,pixel3\n3,0,40,80,120\n7,255,1,2,3\n0,9,9,9,9\n"
            return [Data(text.utf8)]
        case "cifar":
            let values: [UInt8] = (0..<3072).map { UInt8($0 % 256) }
            return [Data([3] + values)]
        case "image", "imagefolder":
            return [
                try ImageCodec.encodePNG(pixels), try ImageCodec.encodeJPEG(pixels), try ImageCodec.encodePNG(grey),
            ]
        case "table":
            let text = "sepal_length,sepal_width,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n6.3,3.3,virginica\n"
            return [Data(text.utf8), Data("a,b,label\n1,2,0\n3,4,1\n".utf8)]
        case "records":
            let path = "\(scratch)/seed.nrec"
            try RecordFile.write(
                [.init(pixels: pixels, label: 1), .init(encoded: try ImageCodec.encodePNG(grey), label: 0)], to: path)
            return [try Data(contentsOf: URL(fileURLWithPath: path))]
        case "onnx":
            // Exported models: NHWC wrapped around convolutions and poolings, a flatten, a product.
            let cnn = Sequential(inputShape: [6, 6, 1]) {
                Conv2D(filters: 2, kernelSize: 3, padding: .same, activation: .relu)
                BatchNormalization()
                MaxPool2D()
                Flatten()
                Dense(units: 3, activation: .softmax)
            }
            let mlp = Sequential(inputShape: [4]) { Dense(units: 3, activation: .tanh) }
            return try [cnn, mlp].map { try ONNXExport.export($0) }
        case "evaluation":
            let png = try ImageCodec.encodePNG(grey).base64EncodedString()
            let evaluation = ReportEvaluation(
                data: "test", classNames: ["a", "b"], confusion: [[3, 1], [0, 4]],
                worst: [.init(index: 2, truth: 0, predicted: 1, probability: 0.75, png: png)])
            return [try JSONEncoder.report.encode(evaluation)]
        case "npy": return [NPY.encode(Tensor([Float(1), 2, 3, 4, 5, 6], shape: [2, 3])), NPY.encode(grey)]
        case "oip":
            let json = """
                {"id": "7", "inputs": [{"name": "input", "shape": [2, 2, 2, 1], "datatype": "FP32", \
                "data": [[1, 2, 3, 4], [5.5, 6, 7, 8]]}], "outputs": [{"name": "output", \
                "parameters": {"classification": 2}}]}
                """
            let header = Data(
                #"{"inputs": [{"name": "input", "shape": [1, 2, 2, 1], "datatype": "UINT8", "parameters": {"binary_data_size": 4}}], "parameters": {"binary_data_output": true}}"#
                    .utf8)
            let binary = Data([UInt8(ascii: "B"), UInt8(header.count & 255), UInt8(header.count >> 8)]) + header
            return [Data(json.utf8), binary + Data([1, 2, 3, 255])]
        default: return []
        }
    }

    /// An IDX file: magic, type, rank, big-endian dimensions, then `values` (uint8 only here).
    private static func idx(_ values: [UInt8], type: UInt8, shape: [Int]) -> Data {
        var data = Data([0, 0, type, UInt8(shape.count)])
        for d in shape { data.append(contentsOf: [24, 16, 8, 0].map { UInt8((d >> $0) & 0xFF) }) }
        data.append(contentsOf: values)
        return data
    }
}
