import ArgumentParser
import Foundation
import Nabla
import NablaData

/// `nabla data`: look into, summarise and pack datasets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Inspect, summarise and pack datasets.",
        subcommands: [Inspect.self, Stats.self, Pack.self, Export.self])

    /// Options shared by the data subcommands.
    struct Source: ParsableArguments {
        @Argument(
            help:
                "mnist, fashion-mnist, an image folder (one sub-folder per class), a CIFAR .bin, a Kaggle .csv, or .nblrec shards (comma-separated)."
        )
        var path: String

        @Option(help: "Height and width image folders are resized to, as HxW.")
        var size = "64x64"

        /// The `--size` option as (height, width).
        var sides: (Int, Int)? {
            let parts = size.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard parts.count == 2, let h = parts[0], let w = parts[1] else { return nil }
            return (h, w)
        }

        func validate() throws {
            guard let (h, w) = sides, h > 0, w > 0 else {
                throw ValidationError("--size must look like 64x64, got \(size)")
            }
            guard h <= 1 << 15, w <= 1 << 15, h * w <= ResourceLimits.maxImagePixels else {
                throw ValidationError(
                    "--size \(size) is too large: at most 32768 on a side and \(ResourceLimits.maxImagePixels) pixels")
            }
        }

        func open() throws -> DatasetSource.Opened {
            let (h, w) = sides ?? (64, 64)
            return try reportingErrors { try DatasetSource.open(path, size: (h, w)) }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what a dataset holds (count, shape, classes, balance) and write a PNG contact sheet.")
        @OptionGroup var source: Source
        @Option(help: "Where to write the contact sheet (PNG).")
        var sheet = "contact-sheet.png"

        func run() throws {
            let opened = try source.open()
            try reportingErrors {
                let first = try opened.dataset.batch(at: [0]).images
                print(
                    "\(opened.description): \(opened.dataset.count) examples of shape \(Array(first.shape.dropFirst())) \(first.dtype)"
                )
                var counts = [Int](repeating: 0, count: opened.classNames.count)
                for label in opened.labels where Int(label) < counts.count { counts[Int(label)] += 1 }
                print("\(opened.classNames.count) classes:")
                // A file may declare millions of classes: the first ones are listed, the rest counted.
                let listed = 100
                for (i, name) in opened.classNames.prefix(listed).enumerated() {
                    let share = Double(counts[i]) / Double(max(opened.dataset.count, 1)) * 100
                    let padded = name.count < 20 ? name + String(repeating: " ", count: 20 - name.count) : name
                    print(String(format: "  %3d ", i) + padded + String(format: " %7d  (%.1f%%)", counts[i], share))
                }
                if opened.classNames.count > listed {
                    let rest = opened.classNames.count - listed
                    print("  … and \(rest) more classes, holding \(counts.dropFirst(listed).reduce(0, +)) examples")
                }
                try AtomicFile.write(DatasetSource.contactSheet(opened), to: sheet)
                print("contact sheet: \(sheet)")
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute per-channel mean and standard deviation and the mean image, and save them.")
        @OptionGroup var source: Source
        @Option(help: "Where to save the statistics (a safetensors file: mean, std, mean_image).")
        var output = "statistics.safetensors"

        func run() throws {
            let opened = try source.open()
            try reportingErrors {
                let stats = try DatasetStatistics(dataset: opened.dataset)
                print("mean per channel:", stats.mean.map { String(format: "%.4f", $0) }.joined(separator: " "))
                print(
                    "std per channel: ",
                    stats.standardDeviation.map { String(format: "%.4f", $0) }.joined(separator: " "))
                try Safetensors.write(
                    [
                        ("mean", Tensor(stats.mean)), ("std", Tensor(stats.standardDeviation)),
                        ("mean_image", stats.meanImage),
                    ],
                    metadata: ["source": source.path], to: output)
                print("saved \(output)")
            }
        }
    }

    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pack a dataset into memory-mapped record shards with an index and a checksum per record.")
        @OptionGroup var source: Source
        @Option(help: "Path prefix of the shards (<prefix>-00000.nblrec, …).")
        var output: String
        @Option(name: .customLong("records-per-shard"), help: "Examples per shard.")
        var recordsPerShard = 10_000

        func validate() throws {
            guard recordsPerShard > 0 else {
                throw ValidationError("--records-per-shard must be positive, got \(recordsPerShard)")
            }
        }

        func run() throws {
            let opened = try source.open()
            try reportingErrors {
                let shards = try RecordFile.pack(
                    opened.dataset, classes: opened.classNames.count, prefix: output, recordsPerShard: recordsPerShard)
                print("packed \(opened.dataset.count) examples into \(shards.count) shard(s):")
                for shard in shards { print("  \(shard)") }
            }
        }
    }

    /// How `nabla data export` writes images.
    enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
        /// One folder per class of PNG files, as `nabla train --dataset FOLDER` reads.
        case png
        /// A Kaggle Digit Recognizer CSV (`label,pixel0,…`; `--no-labels` for a test file).
        case kaggleCSV = "kaggle-csv"
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a named dataset's images as folders of PNG files, one per class, or as a Kaggle CSV.")
        @Argument(help: "The dataset.")
        var dataset: DatasetName
        @Option(help: "The split.")
        var split: SplitName = .train
        @Option(help: "The layout written.")
        var format: ExportFormat = .png
        @Option(help: "Only these classes, comma-separated indices (a Kaggle CSV numbers them 0, 1, … in this order).")
        var classes: String?
        @Option(name: .customLong("per-class"), help: "At most this many images of each class (the first ones).")
        var perClass: Int?
        @Flag(name: .customLong("no-labels"), help: "Leave the label column out of a Kaggle CSV (a test file).")
        var noLabels = false
        @Option(help: "The folder (png) or file (kaggle-csv) to write.")
        var output: String

        func validate() throws {
            if let perClass, perClass <= 0 { throw ValidationError("--per-class must be positive") }
            if let classes, selected(classes) == nil {
                throw ValidationError(
                    "--classes must be distinct class indices of \(dataset.rawValue), 0...\(DatasetName.classCount - 1), such as 5,6,7; got \(classes)"
                )
            }
        }

        /// The class indices `text` lists, or nil unless each is one of the dataset's, once.
        func selected(_ text: String) -> [Int]? {
            let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard !values.isEmpty, values.allSatisfy({ $0.map { (0..<DatasetName.classCount).contains($0) } ?? false })
            else { return nil }
            let indices = values.compactMap { $0 }
            return Set(indices).count == indices.count ? indices : nil
        }

        func run() throws {
            try reportingErrors {
                let data = try MNIST.load(dataset.variant, split: split.split)
                let wanted = classes.flatMap(selected) ?? Array(0..<data.classNames.count)
                var taken = [Int: Int]()
                // Each image with its class in the dataset and the label written (its position among
                // --classes, or the class itself without them).
                var chosen: [(index: Int, original: Int, label: Int)] = []
                for (i, label) in data.labels.toArray(Int64.self).enumerated() {
                    guard let position = wanted.firstIndex(of: Int(label)) else { continue }
                    if let perClass, taken[Int(label), default: 0] >= perClass { continue }
                    taken[Int(label), default: 0] += 1
                    chosen.append((i, Int(label), classes == nil ? Int(label) : position))
                }
                let pixels = data.images.toArray(UInt8.self)
                let size = data.images.shape[1] * data.images.shape[2]
                switch format {
                case .png:
                    for (i, original, _) in chosen {
                        let name = data.classNames[original].replacingOccurrences(of: "/", with: "-")
                        let folder = "\(output)/\(name)"
                        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                        let image = Tensor(Array(pixels[(i * size)..<((i + 1) * size)]), shape: [28, 28, 1])
                        try AtomicFile.write(try ImageCodec.encodePNG(image), to: "\(folder)/\(i).png")
                    }
                case .kaggleCSV:
                    var text = (noLabels ? [] : ["label"]) + (0..<size).map { "pixel\($0)" }
                    var lines = [text.joined(separator: ",")]
                    for (i, _, label) in chosen {
                        text =
                            (noLabels ? [] : [String(label)]) + pixels[(i * size)..<((i + 1) * size)].map { String($0) }
                        lines.append(text.joined(separator: ","))
                    }
                    try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: output)
                }
                print("wrote \(chosen.count) images of \(wanted.count) classes to \(output)")
            }
        }
    }
}
