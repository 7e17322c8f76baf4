import CNablaMPI
import Foundation
import Nabla
import NablaNN

/// Data-parallel training over MPI, as Horovod does it: every process (rank) holds the same model,
/// trains on its share of every batch, and averages the gradients with an all-reduce before each
/// update, so the weights stay identical on every rank.
///
/// Launch the same program with `mpirun -np N`. ``fromLauncher(environment:)`` finds the rank
/// and the number of processes from the launcher's environment and loads MPI (Open MPI's
/// `libmpi.so.40`, or `NABLA_MPI_LIBRARY`) at run time. Run alone, it returns nil and nothing
/// MPI is loaded.
///
/// ```swift
/// let parallel = try DataParallel.fromLauncher()
/// model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossEntropy())
/// try parallel?.prepare(model)   // same weights everywhere; fit now trains on this rank's share
/// try model.fit(x: images, y: labels, batchSize: 128, epochs: 5, seed: 42)
/// if parallel?.isMain ?? true { try model.save(to: "model.nabla") }
/// try parallel?.finish()
/// ```
///
/// A custom loop calls `shard(_:)` on its batches and ``install(on:)`` on its optimizer: then
/// `optimizer.step(model)` averages the gradients first.
///
/// Gradients go in buckets of about ``bucketBytes`` (25 MB, as PyTorch's DDP) in the order
/// backward finishes them (from the last layer back). During `fit` (or ``backward(_:)`` in a
/// custom loop) each bucket's all-reduce starts as soon as backward has produced its gradients,
/// so communication overlaps the rest of backward. Each rank's gradient is weighted
/// by its number of examples, so the average equals the gradient of the mean loss over the whole
/// global batch, even when the shares differ.
///
/// Batch normalisation uses each rank's statistics by default; `fit` averages the moving
/// statistics over the ranks after each epoch (a custom loop calls
/// `averageMovingStatistics(of:)`). Layers with `BatchNormalization.synchronized` set use the
/// global batch's statistics once the group is the model's `processGroup` (``prepare(_:)`` sets it).
public final class DataParallel: ProcessGroup, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// The most bytes of gradients reduced in one all-reduce.
    public var bucketBytes = 25 << 20
    /// Seconds spent reducing gradients (filling buckets, waiting for the all-reduces, reading
    /// them back) since the start.
    public private(set) var communicationSeconds = 0.0
    /// The number of gradient reductions done.
    public private(set) var steps = 0
    /// Examples in this rank's current batch: its weight in the average.
    private var examples = 1
    /// The gradients of the current step on their way through all-reduce.
    private var exchange: Exchange?
    /// Whether the current gradients came from ``backward(_:)``, weighted by the examples.
    private var backwardScaled = false
    /// The buckets' memory, kept from step to step.
    private let buffers = BucketBuffers()
    private var finished = false

    /// The MPI library in use.
    public var library: String { String(cString: nbl_mpi_library()) }

    /// Whether this is rank 0, the one that prints and writes files.
    public var isMain: Bool { rank == 0 }

    private init(rank: Int, size: Int) { (self.rank, self.size) = (rank, size) }

    /// The group this process was launched into by `mpirun` (Open MPI's `OMPI_COMM_WORLD_SIZE`,
    /// or `PMI_SIZE`), with MPI initialised; nil when it runs alone.
    ///
    /// - Throws: `NablaError` (`.notFound`) when the launcher asks for several processes but
    ///   MPI cannot be loaded or started.
    public static func fromLauncher(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws
        -> DataParallel?
    {
        let declared = environment["OMPI_COMM_WORLD_SIZE"] ?? environment["PMI_SIZE"]
        guard let declared, let size = Int(declared), size > 1 else { return nil }
        let libraries = environment["NABLA_MPI_LIBRARY"] ?? "libmpi.so.40:libmpi.so"
        var error = [CChar](repeating: 0, count: 512)
        guard nbl_mpi_load(libraries, &error, error.count) == 1 else {
            throw NablaError(
                .notFound,
                "launched as one of \(size) processes, but MPI cannot be loaded: \(String(cBuffer: error)) (install Open MPI, e.g. apt install openmpi-bin, or set NABLA_MPI_LIBRARY)"
            )
        }
        var (rank, count): (Int32, Int32) = (0, 0)
        try check(nbl_mpi_init(&rank, &count), "MPI_Init_thread")
        return DataParallel(rank: Int(rank), size: Int(count))
    }

    /// Makes `model` train with the group.
    ///
    /// Rank 0's weights are broadcast to every rank, the model's optimizer averages gradients
    /// across ranks, and `fit` trains on this rank's share of each batch and logs global metrics.
    /// Call it after `compile` (and after loading a checkpoint), and again after compiling anew.
    ///
    /// - Throws: `NablaError` when the model is not compiled or MPI fails.
    public func prepare(_ model: Model) throws {
        guard let optimizer = model.optimizer else {
            throw NablaError(.invalidArgument, "\(model.name): compile the model before DataParallel.prepare")
        }
        try broadcastParameters(of: model)
        install(on: optimizer)
        model.processGroup = self
    }

    /// Adds the gradient averaging to `optimizer`'s hooks (once), for a custom training loop.
    public func install(on optimizer: any Optimizer) {
        guard !optimizer.gradientHooks.contains(where: { ($0 as? AveragingHook)?.group === self }) else { return }
        optimizer.gradientHooks.insert(AveragingHook(group: self), at: 0)
    }

    /// Copies rank 0's parameter values to every rank.
    public func broadcastParameters(of model: Layer) throws {
        let parameters = model.parameters().map(\.parameter)
        var buffer = parameters.flatMap { $0.value.toArray(Float.self) }
        let total = buffer.count
        for start in stride(from: 0, to: total, by: bucketBytes / 4) {
            let count = min(bucketBytes / 4, total - start)
            try buffer.withUnsafeMutableBufferPointer {
                try Self.check(nbl_mpi_bcast_f32($0.baseAddress.map { $0 + start }, count, 0), "MPI_Bcast")
            }
        }
        var offset = 0
        withoutGradients {
            for p in parameters {
                p.value.assign(Tensor(Array(buffer[offset..<offset + p.value.count]), shape: p.value.shape))
                offset += p.value.count
            }
        }
    }

    /// Whether every rank holds exactly the same parameter values (compared through a 64-bit hash
    /// of their bytes, its minimum and maximum over the ranks).
    public func parametersAreIdentical(in model: Layer) throws -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for (_, p) in model.parameters() {
            p.value.withUnsafeBytes { for byte in $0 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 } }
        }
        // Four 16-bit pieces: each is exact in a double.
        let pieces = (0..<4).map { Double((hash >> (16 * UInt64($0))) & 0xffff) }
        var low = pieces, high = pieces
        try reduce(&low, op: NBL_MPI_MIN)
        try reduce(&high, op: NBL_MPI_MAX)
        return low == high
    }

    public func sum(_ values: inout [Double]) throws { try reduce(&values, op: NBL_MPI_SUM) }

    public func willTrain(examples: Int) { self.examples = examples }

    /// Ends MPI on this rank; every rank calls it once training is done.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try Self.check(nbl_mpi_finalize(), "MPI_Finalize")
    }

    /// Prints `error` on standard error and stops every rank of the job.
    public func fail(_ error: any Error) -> Never {
        FileHandle.standardError.write(Data("error (rank \(rank)): \(error)\n".utf8))
        abort()
    }

    /// Stops every rank of the job (after an error on this one), exiting with `code`.
    public func abort(code: Int32 = 1) -> Never {
        nbl_mpi_abort(code)
        exit(code)
    }

    private func reduce(_ values: inout [Double], op: Int) throws {
        try values.withUnsafeMutableBufferPointer {
            try Self.check(nbl_mpi_allreduce($0.baseAddress, $0.count, 1, Int32(op)), "MPI_Allreduce")
        }
    }

    /// Runs `loss.backward()`, starting each bucket's all-reduce as soon as backward has
    /// produced the bucket's gradients, so communication overlaps the rest of backward; the
    /// optimizer's step then waits for them (a custom loop calls this instead of `backward()`).
    public func backward(_ loss: Tensor) throws {
        if let previous = exchange { _ = try? previous.finish() }
        let exchange = Exchange(weight: Float(examples), limit: bucketBytes, prescaled: true, buffers: buffers)
        self.exchange = exchange
        backwardScaled = true
        // Backward of the loss times this rank's examples: the gradients arrive weighted, and
        // the buckets are plain copies.
        let weighted = loss * Float(examples)
        GradientReady.$handler.withValue(GradientReady { exchange.add($0, $1) }) { weighted.backward() }
        // Communication: the copies into the buckets started during backward (their all-reduces
        // overlapped it), then the whole of the last bucket.
        let start = DispatchTime.now().uptimeNanoseconds
        let copies = exchange.copySeconds
        try exchange.launchRest()
        communicationSeconds += copies + Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Averages `gradients` over the ranks, weighted by each rank's examples: the exchange that
    /// ``backward(_:)`` started when it covers exactly these gradients, otherwise a new one.
    fileprivate func average(_ gradients: [Tensor], of parameters: [Parameter]) throws -> [Tensor] {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            communicationSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            steps += 1
        }
        let ids = parameters.map { $0.value.gradientIdentity }
        var exchange = self.exchange
        self.exchange = nil
        if let started = exchange, Set(started.identities) != Set(ids.compactMap { $0 }) || ids.contains(nil) {
            _ = try started.finish()
            exchange = nil
        }
        let ready: Exchange
        if let exchange {
            ready = exchange
        } else {
            ready = Exchange(weight: Float(examples), limit: bucketBytes, prescaled: backwardScaled, buffers: buffers)
            for index in gradients.indices.reversed() {
                ready.add(ids[index] ?? ObjectIdentifier(parameters[index]), gradients[index])
            }
            try ready.launchRest()
        }
        let averaged = try ready.finish()
        backwardScaled = false
        return zip(gradients.indices, ids).map { index, id in
            averaged[id ?? ObjectIdentifier(parameters[index])] ?? gradients[index]
        }
    }

    static func check(_ status: Int32, _ call: String) throws {
        guard status != 0 else { return }
        var text = [CChar](repeating: 0, count: 300)
        nbl_mpi_error_string(status, &text, text.count)
        throw NablaError(.io, "\(call) failed: \(String(cBuffer: text))")
    }
}

/// The optimizer hook that averages gradients across the group before each update.
private struct AveragingHook: GradientHook, @unchecked Sendable {
    let group: DataParallel
    func process(_ gradients: [Tensor], of parameters: [Parameter]) throws -> [Tensor] {
        try group.average(gradients, of: parameters)
    }
}

/// One step's gradients on their way through all-reduce, bucket by bucket.
///
/// Each bucket's all-reduce starts as soon as it is full. The last bucket also carries this rank's example
/// count, so that the sum of the counts divides the sum of the weighted gradients.
private final class Exchange: @unchecked Sendable {
    struct Bucket {
        var identities: [ObjectIdentifier]
        var shapes: [[Int]]
        var buffer: UnsafeMutableBufferPointer<Float>
        var request: UnsafeMutableRawPointer?
    }
    let weight: Float, limit: Int
    /// Whether the gradients come already multiplied by `weight` (backward ran on the loss
    /// times the example count).
    let prescaled: Bool
    private var launched: [Bucket] = []
    private var waiting: [(ObjectIdentifier, Tensor)] = []
    private var waitingCount = 0
    private var failure: Error?
    private var finished = false
    /// Seconds spent copying gradients into buckets.
    private(set) var copySeconds = 0.0

    let buffers: BucketBuffers

    init(weight: Float, limit: Int, prescaled: Bool, buffers: BucketBuffers) {
        (self.weight, self.limit, self.prescaled, self.buffers) = (weight, limit, prescaled, buffers)
    }

    /// Every gradient added, in order.
    var identities: [ObjectIdentifier] { launched.flatMap(\.identities) + waiting.map(\.0) }

    func add(_ identity: ObjectIdentifier, _ gradient: Tensor) {
        waiting.append((identity, gradient))
        waitingCount += gradient.count
        if waitingCount * 4 >= limit { launch(withCount: false) }
    }

    /// Starts the last bucket, with the example count.
    func launchRest() throws {
        launch(withCount: true)
        if let failure { throw failure }
    }

    /// Waits for every bucket and returns each gradient summed over the ranks and divided by the
    /// summed example count.
    func finish() throws -> [ObjectIdentifier: Tensor] {
        guard !finished else { return [:] }
        finished = true
        if let failure { throw failure }
        for i in launched.indices where launched[i].request != nil {
            try DataParallel.check(nbl_mpi_wait(&launched[i].request), "MPI_Wait")
        }
        guard let last = launched.last, let total = last.buffer.last, total > 0 else {
            throw NablaError(.invalidArgument, "DataParallel: no rank had examples in this batch")
        }
        var out: [ObjectIdentifier: Tensor] = [:]
        for bucket in launched {
            var offset = 0
            for (identity, shape) in zip(bucket.identities, bucket.shapes) {
                let count = shape.reduce(1, *)
                let source = UnsafeBufferPointer(rebasing: bucket.buffer[offset..<offset + count])
                out[identity] = Tensor(unsafeUninitializedShape: shape, dtype: .float32) { raw in
                    let target = raw.bindMemory(to: Float.self)
                    for i in 0..<count { target[i] = source[i] / total }
                }
                offset += count
            }
        }
        return out
    }

    private func launch(withCount: Bool) {
        guard failure == nil, !waiting.isEmpty || withCount else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        let count = waitingCount + (withCount ? 1 : 0)
        let buffer = buffers.take(launched.count, count: count)
        var offset = 0
        for (_, gradient) in waiting {
            gradient.withUnsafeBytes { bytes in
                let source = bytes.bindMemory(to: Float.self)
                let target = UnsafeMutableBufferPointer(rebasing: buffer[offset..<offset + source.count])
                if prescaled {
                    _ = target.update(fromContentsOf: source)
                } else {
                    for i in source.indices { target[i] = source[i] * weight }
                }
            }
            offset += gradient.count
        }
        if withCount { buffer[count - 1] = weight }
        var bucket = Bucket(
            identities: waiting.map(\.0), shapes: waiting.map(\.1.shape), buffer: buffer, request: nil)
        copySeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        do {
            // The last bucket is reduced at once (blocking): the step needs it next, and Open MPI's
            // blocking all-reduce is several times faster than its non-blocking one here. Earlier
            // buckets start without blocking, while backward goes on.
            if withCount {
                try DataParallel.check(
                    nbl_mpi_allreduce(buffer.baseAddress, count, 0, Int32(NBL_MPI_SUM)), "MPI_Allreduce")
            } else {
                try DataParallel.check(
                    nbl_mpi_iallreduce_sum_f32(buffer.baseAddress, count, &bucket.request), "MPI_Iallreduce")
            }
        } catch {
            failure = error
        }
        launched.append(bucket)
        (waiting, waitingCount) = ([], 0)
    }
}

/// The buckets' memory, reused by every step (one step's exchange at a time): no allocation and
/// no page faults per step.
private final class BucketBuffers: @unchecked Sendable {
    private var buffers: [UnsafeMutableBufferPointer<Float>] = []

    deinit { for buffer in buffers { buffer.deallocate() } }

    /// Bucket `index`'s buffer, at least `count` floats long.
    func take(_ index: Int, count: Int) -> UnsafeMutableBufferPointer<Float> {
        while buffers.count <= index { buffers.append(.allocate(capacity: 0)) }
        if buffers[index].count < count {
            buffers[index].deallocate()
            buffers[index] = .allocate(capacity: count)
        }
        return UnsafeMutableBufferPointer(rebasing: buffers[index][0..<count])
    }
}
