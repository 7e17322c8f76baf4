// nabla-bench: performance cases, one JSON object per line on standard output.
//
// Usage: nabla-bench [case ...]   (cases: sgemm, conv, elementwise, step, train, train-mlp, loader, infer; default
// all) and zoo, a release check of every zoo model at its default size (not a timing, run alone)
// Build in release: swift run -c release nabla-bench. Timings are medians of repeated runs;
// ratios compare implementations measured in the same process, one after the other.
import Foundation
import Nabla

let requested = Set(CommandLine.arguments.dropFirst())
func wants(_ name: String) -> Bool { requested.isEmpty || requested.contains(name) }
if requested.contains("zoo") { ZooCheck.run() }

#if DEBUG
    FileHandle.standardError.write(
        Data(
            "nabla-bench: this is a debug build; numbers are meaningless. Use: swift run -c release nabla-bench\n".utf8)
    )
#endif

var builtinSGEMM1024: Double?
if wants("sgemm") { builtinSGEMM1024 = GEMMBench.run() }
if wants("conv") { ConvBench.run(sgemmReference: builtinSGEMM1024 ?? GEMMBench.builtinGFLOPS(size: 1024)) }
if wants("elementwise") { ElementwiseBench.run() }
if wants("step") { StepAllocationsBench.run() }
if wants("train") { TrainBench.run() }
if wants("train-mlp") { TrainBench.run(model: "mlp") }
if wants("loader") { LoaderBench.run() }
if wants("infer") { InferBench.run() }
