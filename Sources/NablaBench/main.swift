// nabla-bench: performance cases, one JSON object per line on standard output.
//
// Usage: nabla-bench [case ...]   (cases: sgemm, conv, elementwise, step, train, train-mlp, loader, infer; default
// all) and zoo, a release check of every zoo model at its default size (not a timing, run alone)
// Build in release: swift run -c release nabla-bench. Timings are medians of repeated runs;
// ratios compare implementations measured in the same process, one after the other.
import Foundation
import Nabla

let requested = Set(CommandLine.arguments.dropFirst())
let known: Set = ["sgemm", "conv", "elementwise", "step", "train", "train-mlp", "loader", "infer", "zoo"]
if let unknown = requested.subtracting(known).sorted().first {
    FileHandle.standardError.write(
        Data("nabla-bench: no case named '\(unknown)'; the cases: \(known.sorted().joined(separator: ", "))\n".utf8))
    exit(64)
}
func wants(_ name: String) -> Bool { requested.isEmpty || requested.contains(name) }
if requested.contains("zoo") { ZooCheck.run() }

#if DEBUG
    FileHandle.standardError.write(
        Data(
            "nabla-bench: this is a debug build; numbers are meaningless. Use: swift run -c release nabla-bench\n".utf8)
    )
#endif

// A case that throws (missing data, a failed step) ends the run with status 1: an error is never
// printed as a speed.
do {
    var builtinSGEMM1024: Double?
    if wants("sgemm") { builtinSGEMM1024 = try GEMMBench.run() }
    if wants("conv") { try ConvBench.run(sgemmReference: builtinSGEMM1024 ?? GEMMBench.builtinGFLOPS(size: 1024)) }
    if wants("elementwise") { try ElementwiseBench.run() }
    if wants("step") { StepAllocationsBench.run() }
    if wants("train") { try TrainBench.run() }
    if wants("train-mlp") { try TrainBench.run(model: "mlp") }
    if wants("loader") { try LoaderBench.run() }
    if wants("infer") { try InferBench.run() }
} catch {
    FileHandle.standardError.write(Data("nabla-bench: error: \(error)\n".utf8))
    exit(1)
}
