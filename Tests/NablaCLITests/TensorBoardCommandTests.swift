import Foundation
import Nabla
import NablaData
import NablaTestSupport
import Testing

/// `nabla train --tensorboard`: the run folder holds event files that TensorBoard's reader reads,
/// with the epoch loss the history has.
@Suite(.requires(.fashionMNIST, .tensorBoard)) struct TensorBoardCommandTests {
    @Test func trainWritesEventFilesTensorBoardReads() throws {
        let folder = TrainedRun.folder() + "/tb"
        let run = try runNabla([
            "train", "--model", "mlp", "--epochs", "2", "--limit", "256", "--output", folder, "--tensorboard",
        ])
        try #require(run.status == 0, "\(run.stderr)")
        let script = """
            import csv, sys
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            acc = EventAccumulator(sys.argv[1] + '/train'); acc.Reload()
            val = EventAccumulator(sys.argv[1] + '/validation'); val.Reload()
            rows = list(csv.DictReader(open(sys.argv[1] + '/history.csv')))
            losses = [e.value for e in acc.Scalars('epoch_loss')]
            val_losses = [e.value for e in val.Scalars('epoch_loss')]
            ok = len(losses) == 2 and all(abs(a - float(r['loss'])) < 1e-5 for a, r in zip(losses, rows))
            ok = ok and all(abs(a - float(r['val_loss'])) < 1e-5 for a, r in zip(val_losses, rows)) and len(val_losses) == 2
            ok = ok and 'model_summary' in acc.Tags()['tensors'] and len(acc.Tags()['histograms']) >= 4
            ok = ok and set(acc.Tags()['images']) == {'sample_inputs', 'misclassified'}
            print(ok)
            """
        let result = try PythonCheck.run(script, folder)
        #expect(result == "True\n", "\(result)")
    }

    @Test func tensorboardNeedsARunFolder() throws {
        let run = try runNabla(["train", "--model", "mlp", "--epochs", "1", "--limit", "64", "--tensorboard"])
        #expect(run.status == 1 && run.stderr.contains("--tensorboard writes into the run folder"), "\(run.stderr)")
    }
}

/// `nabla train --learning-rate auto`: the finder runs first, its curve is saved, and the run
/// trains (and records in config.json) the rate it suggests; the end prints text plots.
@Suite struct LearningRateAutoTests {
    @Test func autoTrainsWithTheFindersSuggestion() throws {
        // A small table, so that the debug build's evaluation takes no time.
        let folder = TrainedRun.folder() + "/auto"
        try OwnDataTests.writeIris(to: folder + "-iris.csv")
        let run = try runNabla([
            "train", "--dataset", folder + "-iris.csv", "--model", "tabular-mlp", "--epochs", "2", "--batch-size", "2",
            "--validation-split", "0.2", "--output", folder, "--learning-rate", "auto",
        ])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("learning-rate finder: loss by learning rate"))
        #expect(run.stdout.contains("loss by epoch") && run.stdout.contains("accuracy by epoch"))
        let search = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/lr-find.json")))
                as? [String: Any])
        let suggestion = try #require((search["suggestion"] as? NSNumber)?.floatValue)
        let config = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")))
                as? [String: Any])
        #expect((config["learning_rate"] as? NSNumber)?.floatValue == suggestion, "\(config)")
        #expect(run.stdout.contains("suggested learning rate \(suggestion)"))
        // The curve as a picture, with the suggestion's red mark on it.
        let png = try ImageCodec.decode(
            Data(contentsOf: URL(fileURLWithPath: folder + "/lr-find.png")), path: "lr-find.png")
        #expect(png.shape == [420, 720, 3])
        let pixels = png.toArray(UInt8.self)
        #expect(stride(from: 0, to: pixels.count, by: 3).contains { pixels[$0] == 200 && pixels[$0 + 1] == 40 })
    }

    @Test func lrFindPrintsTheCurveAndTrainsNothing() throws {
        let run = try runNabla(["lr-find", "--model", "mlp", "--limit", "256", "--batch-size", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("suggested learning rate") && !run.stdout.contains("Epoch 1/"))
    }
}
