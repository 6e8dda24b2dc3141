import Foundation
import Logging
import Synchronization
import Testing
import VigilMetrics
@testable import VigilAgent

/// The metrics pipeline with a spool: samples no session takes are spooled, and replayed in order.
@Suite("Metrics pipeline spool")
struct MetricsPipelineSpoolTests {
    struct FixedSampler: MetricsSampler {
        func sample() -> MetricsDocument { MetricsDocument(timestamp: Date()) }
    }

    @Test("samples taken while not registered, or sent and never acknowledged, are spooled and replayed oldest first at the replay rate")
    func spoolAndReplay() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-pipeline-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = SpoolSettings(directory: directory)
        settings.replayRate = 20
        let spool = try SampleSpool(settings: settings)
        let pipeline = MetricsPipeline(sampler: FixedSampler(), interval: .seconds(1), refusalLogInterval: .seconds(60), spool: spool)
        let logger = Logger(label: "test")
        let start = Date()
        let documents = (0..<6).map { MetricsDocument(timestamp: start.addingTimeInterval(Double($0))) }
        // Nobody registered: spooled.
        for document in documents.prefix(4) { await pipeline.deliver(document, logger: logger) }
        // A session ended with two samples unacknowledged.
        await pipeline.sessionEnded(unacknowledged: Array(documents.suffix(2)), logger: logger)
        #expect(spool.pendingCount == 6)
        #expect(pipeline.statistics.spool.spooled == 6)
        #expect(pipeline.statistics.droppedNotRegistered == 0)

        let sent = Mutex<[(UInt64, Date)]>([])
        let began = ContinuousClock.now
        let replay = Task {
            await pipeline.replay({ id, document in
                sent.withLock { $0.append((id, document.timestamp)) }
                return true
            }, logger: logger)
        }
        try await waitUntil { sent.withLock { $0.count } == 6 }
        let elapsed = ContinuousClock.now - began
        replay.cancel()
        await replay.value
        let replayed = sent.withLock { $0 }
        #expect(replayed.map(\.0) == Array(1...6))
        #expect(zip(replayed.map(\.1), documents.map(\.timestamp)).allSatisfy { abs($0.timeIntervalSince($1)) < 0.002 }, "the samples, oldest first")
        #expect(elapsed >= .milliseconds(200), "6 samples at 20/s take at least 5 intervals, got \(elapsed)")
        // Acknowledged: gone from disk.
        for (id, _) in replayed { await pipeline.replayAnswered(id, retry: false) }
        #expect(spool.pendingCount == 0)
        #expect(pipeline.statistics.spool.acknowledged == 6)
    }

    @Test("without a spool, samples no session takes are dropped and counted, as before")
    func noSpool() async throws {
        let pipeline = MetricsPipeline(sampler: FixedSampler(), interval: .seconds(1), refusalLogInterval: .seconds(60))
        await pipeline.deliver(MetricsDocument(timestamp: Date()), logger: Logger(label: "test"))
        #expect(pipeline.statistics.droppedNotRegistered == 1)
        #expect(pipeline.statistics.spool.spooled == 0)
    }

    /// Polls every 10 ms, at most 10 s.
    func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
