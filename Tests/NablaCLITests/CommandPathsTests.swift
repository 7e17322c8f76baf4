import Foundation
import Nabla
import NablaNN
import NablaTestSupport
import Testing

/// Command-line paths the README promises, each run on at most 256 training examples: JSON
/// summaries, `--validation-split` on a named dataset, options that do not apply, the exit status
/// of a missed `--min-accuracy`, transfer learning with fine-tuning, and the augmentations.
@Suite(.requires(.fashionMNIST)) struct CommandPathsTests {
    @Test func summaryPrintsJSON() throws {
        let run = try runNabla(["summary", try TrainedRun.file("model.nabla"), "--format", "json"])
        try #require(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let layers = try #require(json["layers"] as? [[String: Any]])
        #expect(
            layers.map { $0["name"] as? String } == [
                "rescaling", "flatten", "dense", "dropout", "dense_1", "dropout_1", "dense_2",
            ])
        #expect(layers[2]["output_shape"] as? [Int] == [512] && layers[2]["parameters"] as? Int == 401_920)
        let total = layers.reduce(0) { $0 + ($1["parameters"] as? Int ?? 0) }
        #expect(json["trainable_parameters"] as? Int == total && json["non_trainable_parameters"] as? Int == 0)
        #expect((json["class_names"] as? [String])?.count == 10)
        #expect((json["input"] as? [String: Any])?["shape"] as? [Int] == [28, 28, 1])
    }

    /// Keras's `validation_split`: 6,000 of Fashion-MNIST's 60,000 training images are held out
    /// and evaluated; the 10,000 test images are never read.
    @Test func validationSplitHoldsOutTrainingImagesAndLeavesTheTestSet() throws {
        let folder = TrainedRun.folder() + "/split"
        let run = try runNabla([
            "train", "--model", "mlp", "--epochs", "1", "--limit", "256", "--validation-split", "0.1", "--output",
            folder,
        ])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout.contains(
                "fashion-mnist: 60000 training images (the test split is left for nabla evaluate); 6000 of them held out for validation"
            ), "\(run.stdout)")
        #expect(run.stdout.contains("\nvalidation: loss"), "\(run.stdout)")
        let metrics = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: folder + "/metrics.json")))
        #expect((metrics as? [String: Any])?.keys.sorted() == ["validation"])
        let evaluation = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/evaluation.json")))
                as? [String: Any])
        let confusion = try #require(evaluation["confusion"] as? [[Int]], "\(evaluation.keys)")
        #expect(confusion.joined().reduce(0, +) == 6000)
    }

    @Test func optionsThatDoNotApplyExit64() throws {
        for arguments in [
            ["train", "--dataset", "fashion-mnist", "--image-size", "32x32", "--epochs", "1"],
            ["train", "--dataset", "mnist", "--color-mode", "rgb", "--epochs", "1"],
            ["data", "export", "fashion-mnist", "--classes", "12", "--output", TrainedRun.folder() + "/x"],
            ["data", "export", "fashion-mnist", "--classes", "1,1", "--output", TrainedRun.folder() + "/y"],
        ] {
            let run = try runNabla(arguments)
            #expect(run.status == 64, "\(arguments): \(run.status) \(run.stderr)")
            #expect(run.stdout.isEmpty, "\(arguments) wrote \(run.stdout)")
        }
    }

    @Test func aMissedMinimumAccuracyExitsTwo() throws {
        let run = try runNabla(["train", "--model", "mlp", "--epochs", "1", "--limit", "64", "--min-accuracy", "0.99"])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("error: test accuracy") && run.stderr.contains("below the required 0.9900"))
    }

    /// `--from` keeps the trained base with a new head; `--freeze-until` freezes it while the head
    /// trains, then `--fine-tune-from` unfreezes the layers from there on: the layers below stay
    /// exactly the base's, the fine-tuned ones move.
    @Test func transferLearningFreezesThenFineTunes() throws {
        let base = try TrainedRun.file("model.nabla")
        let folder = TrainedRun.folder() + "/transfer"
        let run = try runNabla([
            "train", "--from", base, "--freeze-until", "dropout_1", "--fine-tune-from", "dense_1",
            "--fine-tune-epochs", "1", "--fine-tune-learning-rate", "0.0001", "--epochs", "1", "--limit", "256",
            "--output", folder,
        ])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("layers up to 'dropout_1' frozen, a new head for 10 classes"), "\(run.stdout)")
        #expect(run.stdout.contains("fine-tuning from 'dense_1' at learning rate 0.0001 for 1 epochs"), "\(run.stdout)")
        let before = try Model.load(base), after = try Model.load(folder + "/model.nabla")
        let old = Dictionary(
            uniqueKeysWithValues: before.parameters().map { ($0.name, $0.parameter.value.toArray(Float.self)) })
        let new = Dictionary(
            uniqueKeysWithValues: after.parameters().map { ($0.name, $0.parameter.value.toArray(Float.self)) })
        for name in ["dense.weight", "dense.bias"] {
            #expect(new[name] != nil && new[name] == old[name], "\(name) should be the base's, frozen throughout")
        }
        #expect(
            new["dense_1.weight"] != nil && new["dense_1.weight"] != old["dense_1.weight"], "dense_1 was fine-tuned")
        let history = try String(contentsOfFile: folder + "/history.csv", encoding: .utf8)
        #expect(history.split(separator: "\n").count == 3, "a header and two epochs: \(history)")
    }

    /// The four geometric augmentations run on the loader and change what is trained on: the same
    /// seed without them gives other weights.
    @Test func augmentationsChangeWhatIsTrainedOn() throws {
        let folder = TrainedRun.folder()
        var weights: [[Float]] = []
        for (name, extra) in [("plain", [String]()), ("augmented", ["--augment", "zoom,rotate,crop,shear"])] {
            let run = try runNabla(
                ["train", "--model", "mlp", "--epochs", "1", "--limit", "128", "--output", "\(folder)/\(name)"] + extra)
            try #require(run.status == 0, "\(name): \(run.stderr)")
            let model = try Model.load("\(folder)/\(name)/model.nabla")
            weights.append(
                try #require(model.parameters().first { $0.name == "dense.weight" }).parameter.value.toArray())
        }
        #expect(weights[0] != weights[1])
        #expect(!weights[1].contains { !$0.isFinite })
    }
}
