import Foundation
import Nabla
import NablaData
import Testing

@Suite struct CIFARBinaryReaderTests {
    /// Two CIFAR-10 records in the real layout: label, then R, G, B planes of 32×32.
    static func records(labels: [UInt8], labelBytes: Int = 1) -> Data {
        var data = Data()
        for (i, label) in labels.enumerated() {
            if labelBytes == 2 { data.append(3) }  // coarse label
            data.append(label)
            for c in 0..<3 { data.append(contentsOf: (0..<1024).map { UInt8(($0 + c * 7 + i) % 256) }) }
        }
        return data
    }

    @Test func decodesPlanesIntoNHWC() throws {
        let (images, labels) = try CIFARBinaryReader.decode(
            Self.records(labels: [6, 9]), variant: .cifar10, path: "data_batch_1.bin")
        #expect(images.shape == [2, 32, 32, 3])
        #expect(labels.toArray(Int64.self) == [6, 9])
        // Pixel 5 of image 1: R = 5+1, G = 5+7+1, B = 5+14+1.
        #expect(images[1].reshaped([1024, 3])[5].toArray(UInt8.self) == [6, 13, 20])
        let (_, fine) = try CIFARBinaryReader.decode(
            Self.records(labels: [42], labelBytes: 2), variant: .cifar100(fine: true), path: "train.bin")
        #expect(fine.toArray(Int64.self) == [42])
        let (_, coarse) = try CIFARBinaryReader.decode(
            Self.records(labels: [42], labelBytes: 2), variant: .cifar100(fine: false), path: "train.bin")
        #expect(coarse.toArray(Int64.self) == [3])
    }

    @Test func truncatedFileAndBadLabelAreErrors() {
        let data = Self.records(labels: [1, 2])
        #expect { try CIFARBinaryReader.decode(data.prefix(5000), variant: .cifar10, path: "cut.bin") } throws: {
            "\($0)".contains("cut.bin") && "\($0)".contains("whole number")
        }
        #expect {
            try CIFARBinaryReader.decode(Self.records(labels: [1, 12]), variant: .cifar10, path: "x.bin")
        } throws: {
            "\($0)".contains("record 1 has label 12")
        }
    }
}

@Suite struct KaggleCSVTests {
    @Test func readsTrainingAndTestLayoutsAndWritesSubmissions() throws {
        let train = "label,pixel0,pixel1,pixel2,pixel3\n3,0,255,7,8\n1,1,2,3,4\n"
        let (images, labels) = try KaggleCSV.decode(train, path: "train.csv")
        #expect(images.shape == [2, 2, 2, 1])
        #expect(images.toArray(UInt8.self) == [0, 255, 7, 8, 1, 2, 3, 4])
        #expect(labels?.toArray(Int64.self) == [3, 1])
        let (testImages, none) = try KaggleCSV.decode("pixel0,pixel1,pixel2,pixel3\n9,9,9,9\n", path: "test.csv")
        #expect(testImages.shape == [1, 2, 2, 1] && none == nil)
        let path = NSTemporaryDirectory() + "submission-\(UUID().uuidString).csv"
        try KaggleCSV.writeSubmission(predictions: Tensor([0.1, 0.9, 0.8, 0.2] as [Float], shape: [2, 2]), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "ImageId,Label\n1,1\n2,0\n")
    }

    @Test func brokenLinesNameTheLine() {
        #expect { try KaggleCSV.decode("label,pixel0\n3,0\n2\n", path: "t.csv") } throws: {
            "\($0)".contains("line 3 has 1 columns")
        }
        #expect { try KaggleCSV.decode("label,pixel0\n3,300\n", path: "t.csv") } throws: { "\($0)".contains("'300'") }
        #expect { try KaggleCSV.decode("label,pixel0,pixel1\n", path: "t.csv") } throws: { "\($0)".contains("square") }
    }
}
