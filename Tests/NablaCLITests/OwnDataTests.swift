import Foundation
import Nabla
import NablaTestSupport
import Testing

/// Training on your own data from the command line: a Kaggle CSV, a folder of PNG photos, a table.
@Suite(.requires(.fashionMNIST)) struct OwnDataTests {
    /// The Kaggle workflow: train on `train.csv`, predict `test.csv` into a submission, and score
    /// it against the held-out labels: the score equals `nabla evaluate` on the labelled file.
    @Test func kaggleWorkflowEndToEnd() throws {
        let folder = TrainedRun.folder()
        for (split, perClass, labels, name) in [
            ("train", "30", true, "train.csv"), ("test", "20", false, "test.csv"), ("test", "20", true, "labelled.csv"),
        ] {
            let result = try runNabla(
                [
                    "data", "export", "fashion-mnist", "--split", split, "--format", "kaggle-csv", "--per-class",
                    perClass,
                ]
                    + (labels ? [] : ["--no-labels"]) + ["--output", "\(folder)/\(name)"])
            #expect(result.status == 0, "\(result.stderr)")
        }
        let train = try runNabla([
            "train", "--dataset", "\(folder)/train.csv", "--model", "mlp", "--epochs", "2", "--output", "\(folder)/run",
        ])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("Kaggle CSV, 300 labelled images"))
        let predict = try runNabla([
            "predict", "\(folder)/run/model.nabla", "\(folder)/test.csv", "--kaggle-submission", "\(folder)/sub.csv",
        ])
        #expect(predict.status == 0, "\(predict.stderr)")
        let submission = try String(contentsOfFile: "\(folder)/sub.csv", encoding: .utf8).split(separator: "\n")
        #expect(submission.first == "ImageId,Label" && submission.count == 201)
        #expect(submission.dropFirst().enumerated().allSatisfy { $0.element.hasPrefix("\($0.offset + 1),") })
        let truth = try String(contentsOfFile: "\(folder)/labelled.csv", encoding: .utf8).split(separator: "\n")
            .dropFirst().map { $0.prefix { $0 != "," } }
        let guesses = submission.dropFirst().map { $0.split(separator: ",")[1] }
        let score = Double(zip(truth, guesses).filter { $0 == $1 }.count) / Double(truth.count)
        let evaluate = try runNabla([
            "evaluate", "\(folder)/run/model.nabla", "--dataset", "\(folder)/labelled.csv", "--format", "json",
        ])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any]
        #expect(abs((report?["accuracy"] as? Double ?? -1) - score) < 1e-12, "submission scores \(score)")
    }

    /// A folder of PNG photos (Fashion-MNIST written out): train, evaluate, predict one file.
    @Test func photoFolderWorkflowEndToEnd() throws {
        let folder = TrainedRun.folder()
        for (split, perClass, sub) in [("train", "20", "train"), ("test", "10", "test")] {
            let result = try runNabla([
                "data", "export", "fashion-mnist", "--split", split, "--per-class", perClass, "--output",
                "\(folder)/photos/\(sub)",
            ])
            #expect(result.status == 0, "\(result.stderr)")
        }
        let train = try runNabla([
            "train", "--dataset", "\(folder)/photos", "--model", "lenet5", "--epochs", "2", "--augment", "flip,shift",
            "--output", "\(folder)/run",
        ])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("200 images in 10 classes, 100 held out") && train.stdout.contains("×1"))
        let metrics =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/run/metrics.json")))
            as? [String: [String: Double]]
        let evaluate = try runNabla([
            "evaluate", "\(folder)/run/model.nabla", "--dataset", "\(folder)/photos", "--format", "json",
        ])
        let report = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any]
        #expect(report?["accuracy"] as? Double == metrics?["test"]?["accuracy"], "\(evaluate.stderr)")
        let bag = try FileManager.default.contentsOfDirectory(atPath: "\(folder)/photos/test/Bag").sorted()[0]
        let predict = try runNabla(["predict", "\(folder)/run/model.nabla", "\(folder)/photos/test/Bag/\(bag)"])
        #expect(predict.status == 0 && predict.stdout.contains("Bag.") == false && predict.stdout.contains("\(bag): "))
        let names = [
            "T-shirt-top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ]
        #expect(names.contains { predict.stdout.contains(": \($0) ") })
    }

    /// Writes an Iris-like table as CSV: 150 rows drawn around Fisher's per-species means and
    /// deviations of 4 measurements.
    static func writeIris(to path: String) throws {
        // Sepal length, sepal width, petal length, petal width: mean and standard deviation per species.
        let species: [(String, [(Double, Double)])] = [
            ("setosa", [(5.01, 0.35), (3.43, 0.38), (1.46, 0.17), (0.25, 0.11)]),
            ("versicolor", [(5.94, 0.52), (2.77, 0.31), (4.26, 0.47), (1.33, 0.20)]),
            ("virginica", [(6.59, 0.64), (2.97, 0.32), (5.55, 0.55), (2.03, 0.27)]),
        ]
        let draws = Tensor.normal([150, 4], generator: RandomGenerator(seed: 4)).toArray()
        var rows = ["sepal_length,sepal_width,petal_length,petal_width,species"]
        for i in 0..<150 {
            let (name, stats) = species[i % 3]
            let values = (0..<4).map { String(format: "%.1f", stats[$0].0 + stats[$0].1 * Double(draws[i * 4 + $0])) }
            rows.append((values + [name]).joined(separator: ","))
        }
        try rows.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func tabularCSVTrainsADenseClassifier() throws {
        let folder = TrainedRun.folder()
        try Self.writeIris(to: "\(folder)/iris.csv")
        let train = try runNabla([
            "train", "--dataset", "\(folder)/iris.csv", "--model", "tabular-mlp", "--epochs", "60", "--batch-size",
            "16",
            "--learning-rate", "0.01", "--validation-split", "0.2", "--output", "\(folder)/run", "--min-accuracy",
            "0.85",
        ])
        #expect(train.status == 0, "\(train.stdout.suffix(400)) \(train.stderr)")
        #expect(train.stdout.contains("classes setosa, versicolor, virginica; 30 of them held out for validation"))
        let summary = try runNabla(["summary", "\(folder)/run/model.nabla"])
        #expect(summary.stdout.contains("normalization (Normalization)") && summary.stdout.contains("Classes (3)"))
    }

    /// Two classes through one sigmoid output (Keras's dogs vs cats): train, evaluate, predict.
    @Test func binaryHeadOnTwoClasses() throws {
        let folder = TrainedRun.folder()
        for (split, perClass, sub) in [("train", "40", "train"), ("test", "20", "test")] {
            let result = try runNabla([
                "data", "export", "fashion-mnist", "--split", split, "--classes", "7,9", "--per-class", perClass,
                "--output", "\(folder)/shoes/\(sub)",
            ])
            #expect(result.status == 0, "\(result.stderr)")
        }
        let train = try runNabla([
            "train", "--dataset", "\(folder)/shoes", "--model", "lenet5", "--binary", "--epochs", "3",
            "--learning-rate", "0.003", "--output", "\(folder)/run",
        ])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("head (Dense)") && train.stdout.contains("[batch, 1]"))
        let metrics =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/run/metrics.json")))
            as? [String: [String: Double]]
        let evaluate = try runNabla([
            "evaluate", "\(folder)/run/model.nabla", "--dataset", "\(folder)/shoes", "--format", "json",
        ])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any]
        #expect(report?["accuracy"] as? Double == metrics?["test"]?["accuracy"])
        #expect(report?["loss"] as? Double == metrics?["test"]?["loss"])
        let predict = try runNabla(["predict", "\(folder)/run/model.nabla", "\(folder)/shoes/test", "--top-k", "2"])
        #expect(predict.status == 0, "\(predict.stderr)")
        let lines = predict.stdout.split(separator: "\n")
        #expect(lines.count == 40 && lines.allSatisfy { $0.contains("Sneaker") && $0.contains("Ankle boot") })
        let wrongCount = try runNabla(["train", "--dataset", "\(folder)/shoes/train/..", "--binary", "--epochs", "1"])
        #expect(wrongCount.status == 0 || wrongCount.stderr.contains("two classes"))
    }

    /// `cifar10` is found by name in `$NABLA_DATA/cifar10` (here: small files in the real binary layout).
    @Test func cifar10IsFoundByName() throws {
        let root = TrainedRun.folder()
        try FileManager.default.createDirectory(atPath: "\(root)/cifar10", withIntermediateDirectories: true)
        for name in (1...5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
            var bytes = Data()
            for record in 0..<8 {
                bytes += Data([UInt8(record % 10)] + (0..<3072).map { UInt8(($0 * 7 + record) % 256) })
            }
            try bytes.write(to: URL(fileURLWithPath: "\(root)/cifar10/\(name)"))
        }
        let train = try runNabla(
            ["train", "--dataset", "cifar10", "--model", "lenet5", "--epochs", "1"], environment: ["NABLA_DATA": root])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("CIFAR-10, 40 training and 8 test images"))
        let missing = try runNabla(
            ["train", "--dataset", "cifar100", "--epochs", "1"], environment: ["NABLA_DATA": root, "HOME": root])
        #expect(missing.status == 1 && missing.stderr.contains("dataset 'cifar100' not found"))
        #expect(missing.stderr.contains("cifar-100-binary.tar.gz"))
    }
}
