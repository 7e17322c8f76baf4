import Foundation
import Nabla
import NablaTestSupport
import Testing

@testable import NablaNN

/// Ranks of a group played by threads of this process: `sum` waits for every rank and hands each
/// the total (the arithmetic of an all-reduce; the MPI path runs under mpirun in NablaCLITests).
final class ThreadedGroup: ProcessGroup, @unchecked Sendable {
    final class Meeting: @unchecked Sendable {
        let condition = NSCondition()
        var total: [Double] = []
        var result: [Double] = []
        var arrived = 0
        var round = 0
        var calls = 0
    }

    let rank: Int
    let size: Int
    let meeting: Meeting
    init(rank: Int, size: Int, meeting: Meeting) { (self.rank, self.size, self.meeting) = (rank, size, meeting) }

    func sum(_ values: inout [Double]) throws {
        let m = meeting
        m.condition.lock()
        defer { m.condition.unlock() }
        m.calls += 1
        let round = m.round
        m.total = m.arrived == 0 ? values : zip(m.total, values).map { $0 + $1 }
        m.arrived += 1
        if m.arrived == size {
            (m.result, m.arrived, m.round) = (m.total, 0, m.round + 1)
            m.condition.broadcast()
        } else {
            while m.round == round { m.condition.wait() }
        }
        values = m.result
    }
    func willTrain(examples: Int) {}
    func backward(_ loss: Tensor) throws { loss.backward() }
    func fail(_ error: any Error) -> Never { fatalError("\(error)") }
}

@Suite struct SyncBatchNormTests {
    /// Synchronised batch norm on two ranks equals one batch norm over the whole batch.
    ///
    /// One layer per rank, each on half of the batch, gives what one layer gives on all of it: the outputs, the input gradients, the moving statistics, and
    /// (summed over the ranks, as the gradient all-reduce does) the gradients of gamma and beta.
    /// Unsynchronised, each half is normalised by itself, and the outputs differ.
    @Test(arguments: [true, false]) func twoRanksEqualOneBatchNormOverTheWholeBatch(synchronized: Bool) throws {
        let shape = [8, 3, 3, 4]
        // Channels with different means and spreads; the halves differ in their statistics.
        let x = randomTensor(shape, low: -2, high: 3, seed: 11) * Tensor([1, 5, 0.2, 2] as [Float], shape: [4])
        let dy = randomTensor(shape, seed: 12)
        let scale = Tensor([0.5, 2, -1, 1.5] as [Float], shape: [4])
        func layer() -> BatchNormalization {
            let bn = BatchNormalization(momentum: 0.5, synchronized: synchronized)
            bn.ensureBuilt(inputShape: Array(shape.dropFirst()))
            bn.gamma?.value.assign(scale)
            bn.isTraining = true
            return bn
        }
        @Sendable func run(_ bn: BatchNormalization, _ input: Tensor, _ gradient: Tensor) -> (y: [Float], dx: [Float]) {
            var input = input.contiguous()
            input.requiresGradient = true
            let y = bn(input)
            (y * gradient).sum().backward()
            return (y.toArray(), input.gradient?.toArray() ?? [])
        }
        let whole = layer()
        let reference = run(whole, x, dy)

        let meeting = ThreadedGroup.Meeting()
        let ranks = (0..<2).map { rank in
            let bn = layer()
            bn.processGroup = ThreadedGroup(rank: rank, size: 2, meeting: meeting)
            return bn
        }
        nonisolated(unsafe) var results: [(y: [Float], dx: [Float])] = [([], []), ([], [])]
        DispatchQueue.concurrentPerform(iterations: 2) { rank in
            let rows = rank * 4..<rank * 4 + 4
            results[rank] = run(
                ranks[rank], x.slice(axis: 0, start: rows.lowerBound, end: rows.upperBound),
                dy.slice(axis: 0, start: rows.lowerBound, end: rows.upperBound))
        }
        let y = results[0].y + results[1].y, dx = results[0].dx + results[1].dx
        guard synchronized else {
            #expect(meeting.calls == 0)
            #expect(zip(y, reference.y).contains { abs($0 - $1) > 1e-2 })
            return
        }
        #expect(meeting.calls == 4, "one sum forward and one backward per rank")
        expectClose(y, reference.y, rtol: 1e-5, atol: 1e-5)
        expectClose(dx, reference.dx, rtol: 1e-4, atol: 1e-5)
        for (name, keyPath) in [("gamma", \BatchNormalization.gamma), ("beta", \BatchNormalization.beta)] {
            let summed = zip(
                ranks[0][keyPath: keyPath]?.value.gradient?.toArray(Float.self) ?? [],
                ranks[1][keyPath: keyPath]?.value.gradient?.toArray(Float.self) ?? []
            ).map { $0 + $1 }
            let want = whole[keyPath: keyPath]?.value.gradient?.toArray(Float.self) ?? []
            #expect(summed.count == 4, "\(name)")
            expectClose(summed, want, rtol: 1e-4, atol: 1e-5)
        }
        for rank in ranks {
            expectClose(rank.movingMean?.value.toArray() ?? [], whole.movingMean?.value.toArray() ?? [], rtol: 1e-5)
            expectClose(
                rank.movingVariance?.value.toArray() ?? [], whole.movingVariance?.value.toArray() ?? [], rtol: 1e-5)
        }
    }

    /// The flag survives saving: a synchronised layer is written with `synchronized`, and an
    /// older file without the key loads as unsynchronised.
    @Test func synchronizedIsSavedInTheConfig() throws {
        let on = BatchNormalization(synchronized: true)
        #expect(on.config["synchronized"] == .bool(true))
        let back = try BatchNormalization.make(on.config, children: []) as? BatchNormalization
        #expect(back?.synchronized == true)
        let off = try BatchNormalization.make(BatchNormalization().config, children: []) as? BatchNormalization
        #expect(off?.synchronized == false)
    }
}
