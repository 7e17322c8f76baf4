import Foundation
import Nabla
import NablaNN
import NablaTestSupport
import Testing

/// Data-parallel training under the real Open MPI launcher: `mpirun -np 2 nabla train`.
enum MPIRun {
    static let mpirun = Requirement.onPath("mpirun")

    /// Runs `nabla ARGUMENTS` on `ranks` processes, one thread each.
    static func train(ranks: Int, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProgram(
            mpirun ?? "mpirun",
            ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", "-x", "NABLA_NUM_THREADS=1", nablaBinary()]
                + arguments)
    }

    /// The process IDs whose command line contains `marker` and whose environment says
    /// `OMPI_COMM_WORLD_RANK=rank`.
    static func pids(rank: Int, marker: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ")
            else { return false }
            let words = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return String(decoding: command, as: UTF8.self).contains(marker)
                && words.contains("OMPI_COMM_WORLD_RANK=\(rank)")
        }
    }
}

@Suite(.requires(.mpirun)) struct DistributedTests {
    /// The Iris-like table: small enough for the debug build to train many steps in seconds.
    static func table() throws -> String {
        let path = TrainedRun.folder() + "/iris.csv"
        try OwnDataTests.writeIris(to: path)
        return path
    }

    /// Two ranks that each take half of every batch of 16 end with the same weights, bit for bit,
    /// and with the weights of one process taking the whole batches, up to rounding: the global
    /// gradient is summed in a different order (each half's sum, then the halves), which changes
    /// the last bits of each step's gradient (about 1e-7 relative) and, over 64 SGD steps, the
    /// weights by at most a few 1e-6.
    @Test func twoRanksKeepIdenticalWeightsEqualToOneProcess() throws {
        let table = try Self.table()
        let folder = TrainedRun.folder()
        let arguments = [
            "train", "--dataset", table, "--model", "tabular-mlp", "--epochs", "8", "--batch-size", "16",
            "--optimizer", "sgd", "--learning-rate", "0.05", "--validation-split", "0.2", "--seed", "7",
        ]
        let two = try MPIRun.train(ranks: 2, arguments + ["--output", folder + "/two"])
        try #require(two.status == 0, "\(two.stdout.suffix(600)) \(two.stderr.suffix(1500))")
        #expect(two.stdout.contains("data-parallel training on 2 processes"))
        #expect(two.stdout.contains("parameters bit-identical on every rank: yes"), "\(two.stdout.suffix(600))")
        // Rank 1 printed nothing: one progress display, one summary.
        #expect(two.stdout.components(separatedBy: "Epoch 8/8").count == 2)
        let one = try runNabla(arguments + ["--output", folder + "/one"])
        try #require(one.status == 0, "\(one.stderr)")

        let a = try Model.load(folder + "/one/model.nabla"), b = try Model.load(folder + "/two/model.nabla")
        var largest: Float = 0
        for ((name, p), (_, q)) in zip(a.parameters(), b.parameters()) {
            let x = p.value.toArray(Float.self), y = q.value.toArray(Float.self)
            // Relative 1e-5 with a floor of 1e-5; NaN against a number is a difference.
            expectClose(y, x, rtol: 1e-5, atol: 1e-5, name)
            largest = max(largest, worstMismatch(y, x, rtol: 1e-5, atol: 1e-5)?.excess ?? 0)
        }
        print("two ranks against one process: worst weight difference \(largest) of the allowed")
        // The histories agree too: the logged loss is the global one, summed over the ranks.
        let historyOne = try String(contentsOfFile: folder + "/one/history.csv", encoding: .utf8)
        let historyTwo = try String(contentsOfFile: folder + "/two/history.csv", encoding: .utf8)
        let lossOne = Self.column("loss", historyOne), lossTwo = Self.column("loss", historyTwo)
        #expect(lossOne.count == 8 && lossTwo.count == 8)
        for (u, v) in zip(lossOne, lossTwo) { #expect(abs(u - v) < 1e-4 * max(1, abs(u)), "\(lossOne) \(lossTwo)") }
    }

    /// Killing one rank mid-run stops the other within 30 s with a non-zero exit and a message,
    /// and the checkpoint of the last finished epoch resumes, under MPI again.
    @Test func aKilledRankStopsTheOthersAndTheCheckpointResumes() throws {
        let table = try Self.table()
        let folder = TrainedRun.folder() + "/killed"
        let logs = TrainedRun.folder()
        let process = try ChildProcess(
            MPIRun.mpirun ?? "mpirun",
            [
                "--allow-run-as-root", "--oversubscribe", "-np", "2", try nablaBinary(), "train", "--dataset", table,
                "--model", "tabular-mlp", "--epochs", "100000", "--batch-size", "2", "--validation-split", "0.2",
                "--output", folder,
            ], standardOutput: logs + "/stdout", standardError: logs + "/stderr")
        // Wait for a finished epoch's checkpoint, then kill rank 1.
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: folder + "/checkpoint.nabla") && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
        }
        try #require(FileManager.default.fileExists(atPath: folder + "/checkpoint.nabla"), "no checkpoint")
        Thread.sleep(forTimeInterval: 0.5)
        let victims = MPIRun.pids(rank: 1, marker: folder)
        try #require(victims.count == 1, "rank 1: \(victims)")
        kill(victims[0], SIGKILL)
        let killed = Date()
        let status = process.wait(timeout: 60)
        let seconds = Date().timeIntervalSince(killed)
        print("rank 1 killed: the launcher exited \(status ?? -1) after \(seconds) s")
        let message = [logs + "/stderr", logs + "/stdout"].map {
            (try? String(contentsOfFile: $0, encoding: .utf8)) ?? ""
        }
        .joined()
        #expect(status != nil && status != 0)
        #expect(seconds < 30, "the other rank ran on for \(seconds) s")
        #expect(message.contains("rank 1") || message.contains("signal 9"), "\(message.suffix(1500))")
        #expect(MPIRun.pids(rank: 0, marker: folder).isEmpty, "rank 0 is still running")

        // The checkpoint is whole: the run resumes from it on two ranks, for a few more epochs.
        let config = folder + "/config.json"
        var settings = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any])
        // Each finished epoch wrote the checkpoint, then a line of history.
        let history = try String(contentsOfFile: folder + "/history.csv", encoding: .utf8)
        let done = Self.column("loss", history).count
        try #require(done >= 1)
        settings["epochs"] = done + 3
        try JSONSerialization.data(withJSONObject: settings).write(to: URL(fileURLWithPath: config))
        let resumed = try MPIRun.train(ranks: 2, ["train", "--resume", folder])
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(1500))")
        let resumedAt = resumed.stdout.components(separatedBy: "resuming \(folder) after epoch ").dropFirst().first
        let epoch = resumedAt.flatMap { Int($0.prefix { $0.isNumber }) } ?? -1
        #expect(epoch == done || epoch == done + 1, "\(resumed.stdout.prefix(800))")
        #expect(resumed.stdout.contains("parameters bit-identical on every rank: yes"))
    }

    /// Batch norm under MPI, both ways, keeps the ranks identical.
    ///
    /// On mnist-cnn-bn: per-rank statistics (their moving
    /// averages averaged over the ranks after each epoch) and `--sync-batch-norm` (the global
    /// batch's statistics; the exact arithmetic is checked in NablaNN's SyncBatchNormTests). Either
    /// way every rank ends with the same model, bit for bit, and the two ways train different ones.
    @Test func batchNormPerRankAndSynchronizedKeepRanksIdentical() throws {
        let folder = TrainedRun.folder()
        let export = try runNabla([
            "data", "export", "fashion-mnist", "--split", "train", "--format", "kaggle-csv", "--per-class", "8",
            "--output", folder + "/small.csv",
        ])
        try #require(export.status == 0, "\(export.stderr)")
        let arguments = [
            "train", "--dataset", folder + "/small.csv", "--model", "mnist-cnn-bn", "--validation-split", "0.25",
            "--batch-size", "20", "--epochs", "1", "--seed", "3",
        ]
        var means: [[Float]] = []
        for (name, extra) in [("per-rank", [String]()), ("sync", ["--sync-batch-norm"])] {
            let run = try MPIRun.train(ranks: 2, arguments + extra + ["--output", folder + "/" + name])
            try #require(run.status == 0, "\(name): \(run.stderr.suffix(1500))")
            #expect(run.stdout.contains("parameters bit-identical on every rank: yes"), "\(name)")
            let model = try Model.load(folder + "/\(name)/model.nabla")
            let layers = model.layers(of: BatchNormalization.self)
            #expect(layers.count == 5 && layers.allSatisfy { $0.synchronized == (name == "sync") }, "\(name)")
            means.append(layers.flatMap { $0.movingMean?.value.toArray(Float.self) ?? [] })
        }
        #expect(means[0] != means[1])
        let refused = try runNabla(["train", "--model", "mlp", "--sync-batch-norm", "--epochs", "1", "--limit", "10"])
        #expect(refused.status != 0 && refused.stderr.contains("has no batch normalisation"), "\(refused.stderr)")
    }

    /// The values of a column of a history CSV.
    static func column(_ name: String, _ csv: String) -> [Double] {
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        guard let header = lines.first, let index = header.firstIndex(of: name) else { return [] }
        return lines.dropFirst().compactMap { $0.count > index ? Double($0[index]) : nil }
    }
}
